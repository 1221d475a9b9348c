"""``sprocket filter A B --filter-complex GRAPH`` against plain ``ffmpeg -filter_complex`` on the
same inputs and binary.

The inputs differ in everything pairing depends on: 25 fps and 30 fps, 320x180 and 192x108,
a keyframe every 0.8 s and every 0.3 s, 4 s and 3 s. Both sides encode losslessly (x264 at
quality 0), so every decoded frame must be bit-identical, with the same count and times: the
frames of the two inputs pair by presentation time across every chunk boundary (1 s chunks,
cut on the first input's keyframes) as in one whole-file run.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

import builtin_pipelines
from sprocket_cli.cli import app
from sprocket_cli.events import ChunkStaged
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.launch.execute import execute
from sprocket_cli.launch.prepare import prepare_job
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.conftest import ClipMaker
from tests.media_checks import facts

runner = CliRunner()
PIP = "[0:v]scale=iw/4:-2[p];[1:v][p]overlay=W-w-16:16"


@pytest.fixture(scope="module")
def a25(make_clip: ClipMaker) -> Path:
    """4 s at 25 fps with a tone, a keyframe every 0.8 s."""
    return make_clip(seconds=4, size="320x180", fps=25, keyint=20)


@pytest.fixture(scope="module")
def b30(make_clip: ClipMaker) -> Path:
    """3 s at 30 fps, another size, a keyframe every 0.3 s."""
    return make_clip(seconds=3, size="192x108", fps=30, keyint=9, audio=False)


def stored_frames(path: Path) -> list[tuple[Fraction, str]]:
    """(seconds after the first, md5 of the pixels) of every frame the file stores.

    Edit lists are ignored: plain ffmpeg's MP4 of a graph whose output has no frame rate
    (hstack of 25 and 30 fps) ends on a frame with no duration, which its edit list then hides
    from a decoder although the frame is in the file; sprocket's segments give it a duration.
    """
    with av.open(str(path), options={"ignore_editlist": "1"}) as container:
        decoded = [
            (frame.pts * frame.time_base, hashlib.md5(frame.to_ndarray().tobytes()).hexdigest())
            for frame in container.decode(video=0)
        ]
    return [(pts - decoded[0][0], md5) for pts, md5 in decoded]


def plain_ffmpeg(sources: list[Path], graph: str, dest: Path) -> list[tuple[Fraction, str]]:
    inputs = [arg for source in sources for arg in ("-i", str(source))]
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *inputs, "-filter_complex", graph,
         "-c:v", "libx264", "-qp", "0", "-an", "-y", str(dest)],
        check=True,
    )  # fmt: skip
    return stored_frames(dest)


def assert_plain_ffmpegs_frames(sources: list[Path], graph: str, tmp_path: Path) -> dict[str, object]:
    """A lossless run in at least 3 chunks, with no notice, has plain ffmpeg's frames, times
    and pixels; its ``job_started`` event."""
    want = plain_ffmpeg(sources, graph, tmp_path / "plain.mp4")
    code, output, started = sprocket(sources, graph, tmp_path / "sprocket.mp4")
    assert code == 0, output
    assert started["chunks"] >= 3 and started["notices"] == []
    got = stored_frames(tmp_path / "sprocket.mp4")
    assert len(got) == len(want), f"{len(got)} frames, ffmpeg gives {len(want)}"
    assert [t for t, _ in got] == [t for t, _ in want], "timestamps differ"
    differ = [i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g[1] != w[1]]
    assert not differ, f"frames {differ[:10]} differ from ffmpeg's"
    return started


def assert_refused_in_one_line(sources: list[Path], graph: str, message: str, tmp_path: Path) -> None:
    """Exit 2 with one error line holding ``message``, before any work: no job, no output."""
    dest = tmp_path / "out.mp4"
    code, output, started = sprocket(sources, graph, dest)
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], output
    assert "Traceback" not in output
    assert started == {}
    assert not dest.exists()
    assert not list(tmp_path.glob("jobs/*"))  # no job folder was made


def sprocket(sources: list[Path], graph: str, dest: Path, *extra: str) -> tuple[int, str, dict[str, object]]:
    """Exit code, output and the JobStarted event of a lossless run in 1 s chunks."""
    result = runner.invoke(
        app,
        ["filter", *map(str, sources), "--filter-complex", graph, "-o", str(dest), "--crf", "0",
         "-w", "2", "--chunk-seconds", "1", "--first-chunk-seconds", "1", "--json",
         "--job-dir", str(dest.parent / "jobs"), *extra],
    )  # fmt: skip
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    started = next((e for e in events if e.get("kind") == "job_started"), {})
    return result.exit_code, result.output, started


@pytest.mark.parametrize(
    ("order", "graph"),
    [
        # The inset is the first input; the frames, and the output's clock, are the second's
        # until it ends at 3 s, then the first's (ffmpeg's overlay goes on with its last frame).
        ("ab", PIP),
        ("ab", "[0:v]scale=-2:108[l];[l][1:v]hstack"),  # side by side: a frame at each of both clocks
        ("ab", "[1:v]scale=320:180[b];[0:v]format=gray[m];[0:v][b][m]maskedmerge"),  # a mask: a read twice
        # The main input is the first and the shorter: the work is cut on its keyframes and the
        # last chunk runs on to the end of the second, whose frames then time the output.
        ("ba", "[1:v]scale=iw/4:-2[p];[0:v][p]overlay=W-w-16:16"),
        ("a", "[0:v]split[a][b];[b]hflip[c];[a][c]hstack"),  # a mirror: one input
    ],
)
def test_graphs_give_plain_ffmpegs_frames(
    a25: Path, b30: Path, tmp_path: Path, order: str, graph: str
) -> None:
    assert_plain_ffmpegs_frames([{"a": a25, "b": b30}[name] for name in order], graph, tmp_path)


def test_staged_chunks_give_the_same_frames(a25: Path, b30: Path, tmp_path: Path) -> None:
    """Remote workers read each input's chunk from a staged file, in that file's time base."""
    spec = builtin_pipelines.load("filter_complex", {"filter_complex": {"graph": PIP}, "encode": {"crf": 0}})
    options = JobOptions(
        workers=2,
        chunk_seconds=1.0,
        first_chunk_seconds=1.0,
        job_parent=tmp_path / "jobs",
        stage_local_inputs=True,
    )
    out = tmp_path / "staged.mp4"
    events = list(
        execute(prepare_job(spec, {"input_0": str(a25), "input_1": str(b30)}, {"output_0": out}, options))
    )
    staged = {(e.input, e.chunk) for e in events if isinstance(e, ChunkStaged)}
    assert {name for name, _ in staged} == {"input_0", "input_1"} and len(staged) >= 6
    assert stored_frames(out) == plain_ffmpeg([a25, b30], PIP, tmp_path / "plain.mp4")


def test_the_audio_is_the_first_inputs(a25: Path, b30: Path, tmp_path: Path) -> None:
    code, output, _ = sprocket([b30, a25], PIP, tmp_path / "out.mp4")
    assert code == 0, output
    assert facts(tmp_path / "out.mp4").audio_duration is None  # the first input (b30) has none
    code, output, _ = sprocket([a25, b30], PIP, tmp_path / "with-audio.mp4")
    assert code == 0, output
    audio = facts(tmp_path / "with-audio.mp4").audio_duration
    assert audio is not None and abs(audio - 4) < 0.05


def test_map_takes_the_second_inputs_audio(a25: Path, b30: Path, tmp_path: Path) -> None:
    # b30 (first, no audio) sets the output's clock; a25 has a 4 s tone. --map 1:a carries
    # a25's whole audio, as `ffmpeg ... -map 1:a` does (without --map there is none:
    # test_the_audio_is_the_first_inputs).
    dest = tmp_path / "mapped.mp4"
    code, output, _ = sprocket([b30, a25], PIP, dest, "--map", "1:a")
    assert code == 0, output
    audio = facts(dest).audio_duration
    assert audio is not None and abs(audio - 4) < 0.05, audio
    for sources, spec, says in (
        ([a25], "1:a", "'1:a': there is no input 1"),
        ([a25, b30], "0:v", "takes 0:a or 1:a"),
    ):
        code, output, _ = sprocket(
            sources, "[0:v]null" if len(sources) == 1 else PIP, tmp_path / "no.mp4", "--map", spec
        )
        assert code == 2 and says.replace("'", "") in output.replace("'", ""), output
        assert not (tmp_path / "no.mp4").exists()


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ("[1:v]fps=10[f];[0:v][f]overlay", "'fps=10' is rate"),
        ("[0:v][2:v]hstack", "unknown input label [2:v]: there are 2 inputs ([0:v] and [1:v])"),
        ("[0:v][1:v]hstack", "Input 1 height 108 does not match input 0 height 180"),  # the first frame's try
    ],
)
def test_refusals_in_one_line_before_any_work(
    a25: Path, b30: Path, tmp_path: Path, graph: str, message: str
) -> None:
    assert_refused_in_one_line([a25, b30], graph, message, tmp_path)
