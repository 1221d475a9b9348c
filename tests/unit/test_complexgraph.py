"""The -filter_complex reader: labels, the open output, the graph each chunk runs, and the
one-line refusals of what does not split (yet), and where a chunk of its output starts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sprocket_cli.errors import BadFilterError
from sprocket_cli.media.command import JOINED, ChunkCommand
from sprocket_cli.plan.complexgraph import GraphRefused, parse_complex

PIP = "[0:v]scale=iw/4:-2[p];[1:v][p]overlay=W-w-16:16"


def test_a_graph_reads_its_inputs_and_runs_on_the_lanes() -> None:
    graph = parse_complex(PIP)
    assert graph.reads == (0, 1)
    assert graph.render({0: "lane0", 1: "lane1"}, "select=1", "joined") == (
        "[lane0]null[fcin0_0];[lane1]null[fcin1_0];"
        "[fcin0_0]scale=iw/4:-2[g_p];[fcin1_0][g_p]overlay=W-w-16:16[fcout];[fcout]select=1[joined]"
    )


def test_an_input_read_twice_is_split_and_a_labelled_output_is_kept() -> None:
    graph = parse_complex("[1:v]scale=320:180[b];[0]format=gray[m];[0:v:0][b][m]maskedmerge[o]")
    assert graph.reads == (0, 1)
    assert graph.render({0: "0:v:0", 1: "1:v:0"}, "crop=2:2", "out") == (
        "[0:v:0]split=2[fcin0_0][fcin0_1];[1:v:0]null[fcin1_0];"
        "[fcin1_0]scale=320:180[g_b];[fcin0_0]format=gray[g_m];[fcin0_1][g_b][g_m]maskedmerge[g_o];"
        "[g_o]crop=2:2[out]"
    )


def test_a_one_input_graph_becomes_a_vf_graph() -> None:
    graph = parse_complex("[0:v]split[a][b];[b]hflip[c];[a][c]hstack")
    # One unlabelled input first and one unlabelled output last: chain filters join on with ','.
    assert (
        graph.render({0: None})
        == "null[fcin0_0];[fcin0_0]split[g_a][g_b];[g_b]hflip[g_c];[g_a][g_c]hstack[fcout];[fcout]null"
    )


def test_quoted_brackets_are_options_not_labels() -> None:
    graph = parse_complex("[0:v]drawtext=text='[x]':fontsize=9[t];[t][1:v]hstack")
    assert graph.chains[0][0].body == "drawtext=text='[x]':fontsize=9"
    assert graph.chains[0][0].outputs == ("t",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[0:a]anull", "[0:a]: the graph reads each input's video as [N:v]"),
        ("[x]hflip", "label [x] is read but no filter outputs it"),
        ("[0:v]split[a][b]", "exactly one output open for the video; it leaves [a], [b]"),
        ("[0:v]hflip;[1:v]vflip", "it leaves an unlabelled output, an unlabelled output"),
        ("[0:v]hflip[a];[1:v]vflip[a];[a]null", "label [a] is the output of more than one filter"),
        ("[0:v]hflip[a] x", "unexpected text after the labels"),
    ],
)
def test_malformed_graphs_are_named(text: str, message: str) -> None:
    with pytest.raises(BadFilterError, match=re.escape(message)):
        parse_complex(text)


def test_inputs_the_job_lacks_are_refused() -> None:
    with pytest.raises(GraphRefused, match=r"unknown input label \[2:v\]: there are 2 inputs"):
        parse_complex("[0:v][2:v]hstack").check_inputs(2)
    with pytest.raises(GraphRefused, match=r"must read the first input"):
        parse_complex("[1:v]hflip").check_inputs(2)
    parse_complex(PIP).check_inputs(2)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[0:v]tmix=frames=3[t];[1:v][t]overlay", "'tmix=frames=3' is windowed"),
        ("[0:v]reverse[r];[r][1:v]hstack", "'reverse' is whole-stream"),
        ("[0:v]hue=h=n*3[h];[h][1:v]hstack", "'hue=h=n*3' is frame-number"),
        ("[0:v][1:v]overlay=shortest=1", "shortest=1 changes the output where an input ends"),
        ("[0:v][1:v]overlay=eof_action=pass", "eof_action=pass changes the output"),
        ("[0:v][1:v]hstack=shortest=true", "shortest=true changes the output"),
    ],
)
def test_graphs_that_do_not_split_are_refused_naming_the_filter(text: str, named: str) -> None:
    with pytest.raises(GraphRefused, match=re.escape(named)):
        parse_complex(text).check_split()


def test_per_frame_graphs_with_default_ends_split() -> None:
    for text in (
        PIP,
        "[0:v][1:v]overlay=eof_action=repeat:shortest=0",
        "[0:v]scale=-2:108[l];[l][1:v]hstack",
    ):
        parse_complex(text).check_split()


def test_a_plain_clock_segment_starts_at_the_first_frame_the_encoder_was_given(tmp_path: Path) -> None:
    command = ChunkCommand(["a.mp4", "b.mp4"])
    command.join(parse_complex(PIP).render({0: "lane0", 1: "lane1"}, "null", JOINED))
    command.encoder = {"c:v": "libx264"}
    command.timescale = 76800
    command.plain_clock = True
    out = str(tmp_path / "out")
    args = command.args(out)
    assert "-enc_time_base:v" not in args  # ffmpeg's own choice, as in a plain run
    assert args[args.index("-stats_enc_pre:v") + 1] == f"{out}.frames"
    assert command.start_ticks is None  # nothing encoded yet: the chunk's own start
    Path(f"{out}.frames").write_text("24 1/30\n25 1/30\n", encoding="ascii")
    assert command.start_ticks == 61440  # 0.8 s
