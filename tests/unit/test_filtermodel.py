"""The filter model: parsing -vf graphs, classifying filters, and the chunk plan it asks for."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from sprocket_cli.cli.filterscmd import markdown
from sprocket_cli.errors import BadFilterError
from sprocket_cli.plan.cuts import restart_at
from sprocket_cli.plan.filtergraph import parse_graph
from sprocket_cli.plan.filtermodel import analyze
from sprocket_cli.plan.filtertable import FilterClass
from sprocket_cli.plan.framefades import name_options
from sprocket_cli.plan.framenumbers import number_frames

DOCS = Path(__file__).parents[2] / "docs" / "filters.md"


def test_graph_parsing_honours_quotes_escapes_and_labels() -> None:
    uses = parse_graph(
        "[in]select='not(mod(n\\,3))',drawtext=text='a\\: b':fontsize=20[x];[x]split[a][b];[a][b]hstack"
    )
    assert [u.name for u in uses] == ["select", "drawtext", "split", "hstack"]
    assert uses[0].positional == ("not(mod(n\\,3))",)
    assert uses[1].named == (("text", "a\\: b"), ("fontsize", "20"))


@pytest.mark.parametrize("graph", ["", "hue=s=0,,eq", "sc ale=1", "drawtext=text='open"])
def test_malformed_graphs_are_bad_filters(graph: str) -> None:
    with pytest.raises(BadFilterError):
        parse_graph(graph)


@pytest.mark.parametrize(
    ("vf", "kind"),
    [
        ("hue=s=0", FilterClass.FRAME),
        ("drawbox=enable='between(t,4,6)'", FilterClass.FRAME),  # time: whole-file on every worker
        ("fade=t=in:st=0:d=4", FilterClass.FRAME),
        ("format=yuv420p", FilterClass.FRAME),  # 'n' inside a word is no frame number
        ("tmix=frames=9", FilterClass.WINDOW),
        ("yadif", FilterClass.WINDOW),
        ("fps=12", FilterClass.RATE),
        ("framerate=fps=50", FilterClass.RATE),  # its grid counts from its first frame
        ("minterpolate", FilterClass.RATE),
        ("yadif=mode=1", FilterClass.WINDOW),  # a frame per field: times stay inside the frame's
        ("bwdif", FilterClass.WINDOW),
        ("tmedian", FilterClass.WINDOW),  # built from the 2r frames after: post-roll only
        ("noise=alls=20", FilterClass.FRAME),  # a fixed pattern
        ("noise=alls=20:allf=t+u", FilterClass.STATE),
        ("vignette", FilterClass.STATE),  # dither: a random stream
        ("vignette=dither=0", FilterClass.FRAME),
        ("setpts=0.5*PTS", FilterClass.RETIME),  # speeding up: ffmpeg drops frames, by its own rule
        ("setpts=0.2*PTS", FilterClass.TIMING),  # faster than 4x: the drops keep the first frame's phase
        ("setpts=2*PTS", FilterClass.RETIME),
        ("setpts=PTS/0.5", FilterClass.RETIME),
        ("setpts=1.25*PTS", FilterClass.RETIME),  # off the frame-rate grid: ffmpeg rounds
        ("setpts=PTS-STARTPTS", FilterClass.TIMING),
        ("tpad=stop=10", FilterClass.PAD),
        ("tpad=start=5", FilterClass.TIMING),
        ("fade=in:0:30", FilterClass.FRAME_NUMBER),
        ("drawtext=text='%{n}'", FilterClass.FRAME_NUMBER),
        ("hue=h=n*10", FilterClass.FRAME_NUMBER),
        ("geq=lum=random(1)*255", FilterClass.STATE),
        ("reverse", FilterClass.WHOLE),
        ("frobnicate", FilterClass.UNKNOWN),
    ],
)
def test_each_filter_is_classified(vf: str, kind: FilterClass) -> None:
    assert analyze(vf).findings[0].kind is kind


@pytest.mark.parametrize(
    ("vf", "before", "after"),
    [
        ("tmix", 2, 0),  # the default: 3 frames
        ("tmix=9", 8, 0),  # positional: the first option is frames
        ("tmix=frames=5,hue=s=0,tmix=frames=3", 6, 0),  # windows add up
        ("deflicker=s=7", 0, 6),  # an alias of size
        ("atadenoise=s=15", 7, 7),
        ("yadif,tblend", 2, 1),
    ],
)
def test_windows_come_from_the_filters_options(vf: str, before: int, after: int) -> None:
    plan = analyze(vf)
    assert plan.split
    assert (plan.preroll, plan.postroll) == (before, after)


def test_the_first_filter_that_cannot_split_is_named() -> None:
    plan = analyze("hue=s=0,reverse,setpts=0.5*PTS")
    assert not plan.split
    assert plan.reason == "'reverse' is whole-stream: it outputs the frames in reverse order"


@pytest.mark.parametrize(
    ("vf", "before", "after"),
    [
        ("setpts=0.5*PTS", 8, 3),
        ("setpts=PTS/4", 16, 5),  # a slot every 4 frames: 4 slots of history
        ("setpts=0.9*PTS", 40, 3),  # a frame dropped only every 10: as long a history
        ("setpts=1.5*PTS", 4, 2),
    ],
)
def test_a_retime_off_the_grid_decodes_the_frames_ffmpegs_drop_rule_reads(
    vf: str, before: int, after: int
) -> None:
    plan = analyze(vf)
    assert plan.split and plan.resync
    assert (plan.preroll, plan.postroll) == (before, after)


def test_a_retime_off_the_grid_beside_a_window_runs_whole() -> None:
    assert not analyze("tmix=frames=3,setpts=0.5*PTS").split
    assert analyze("hue=s=0,setpts=0.5*PTS,eq=contrast=1.2").split


def test_a_rate_change_after_a_window_runs_whole() -> None:
    assert not analyze("tmix=frames=3,fps=12").split
    assert analyze("fps=12,hue=s=0").split


def test_the_docs_page_is_generated_from_the_table() -> None:
    assert DOCS.read_text() == markdown(), "run: sprocket filters --markdown > docs/filters.md"


@pytest.mark.parametrize(
    ("vf", "split"),
    [
        ("hue=h=n*10", True),  # each chunk counts from its first frame's number
        ("tmix=frames=3,drawtext=text='%{n}'", True),
        ("drawtext=text='n=%{n}':x=n", False),  # n in a position: not shifted by start_number
        ("fade=in:0:30", True),  # with 31 frames of pre-roll, chunks start before or after it
        ("fade=in:0:300", False),  # longer than a pre-roll is worth
        ("fps=12,fade=in:0:30", False),  # counts the new rate's frames
        ("tblend,hue=h=n", False),  # tblend drops the first frame: counts shift
        ("fps=12,hue=h=n", False),  # n counts the new rate's frames
    ],
)
def test_frame_numbers_split_only_where_they_can_be_shifted(vf: str, split: bool) -> None:
    assert analyze(vf).split is split


def test_frame_numbers_are_rewritten_to_count_from_the_chunk() -> None:
    vf = "hue=h=n*10:s=1,drawtext=text='%{n} n':fontsize=9,geq=lum='N+X':cb=128:cr=128"
    assert number_frames(vf, 0) == vf
    assert number_frames(vf, 50) == (
        "hue=h=(n+50)*10:s=1,drawtext=text='%{n} n':fontsize=9:start_number=50,"
        "geq=lum='(N+50)+X':cb=128:cr=128"
    )


@pytest.mark.parametrize(
    ("vf", "rate"),
    [
        ("fps=12", Fraction(12)),
        ("fps=fps=ntsc", Fraction(30000, 1001)),
        ("scale=96:-2,fps=30000/1001", Fraction(30000, 1001)),
        ("fps=25:round=down", None),  # another rounding: not the plain grid
        ("fps=12,fps=6", None),  # two grids: one worker
    ],
)
def test_an_fps_grid_is_read_from_its_options(vf: str, rate: Fraction | None) -> None:
    assert analyze(vf).rate == rate


def test_a_frame_per_field_asks_for_finer_ticks() -> None:
    assert analyze("yadif=mode=send_field").timescale_factor == 2
    assert analyze("yadif").timescale_factor == 1


def test_frame_fades_are_named_at_planning_and_shifted_by_workers() -> None:
    named = name_options("fade=out:70:40:c='red',hue=s=0")
    assert named == "fade=type=out:start_frame=70:nb_frames=40:c='red',hue=s=0"
    assert number_frames(named, 30) == "fade=type=out:start_frame=40:nb_frames=40:c='red',hue=s=0"
    # A chunk that decodes from past the start begins after the fade (the pre-roll sees to it).
    assert number_frames(named, 71) == "fade=type=out:start_frame=0:nb_frames=1:c='red',hue=s=0"
    assert number_frames(name_options("fade=in:0:30"), 5) == "null"
    assert name_options("fade=t=in:st=1:d=2") == "fade=t=in:st=1:d=2"  # by time: as it is


@pytest.mark.parametrize(
    ("vf", "split"),
    [
        ("trim=start=1:end=3,setpts=PTS-STARTPTS", True),
        ("hue=s=0,trim=10:20,hue=h=30,setpts=PTS-STARTPTS,tmix=frames=3", True),
        ("trim=start=1:end=3", False),  # no restart: ffmpeg keeps the source's times
        ("tmix=frames=3,trim=start=1,setpts=PTS-STARTPTS", False),  # a window before the cut
        ("trim=start=1,setpts=PTS-STARTPTS,hue=h=n", False),  # n counts the kept frames
    ],
)
def test_a_cut_splits_only_when_it_opens_the_chain_and_restarts_time(vf: str, split: bool) -> None:
    assert analyze(vf).split is split


def test_a_cut_keeps_the_frames_trim_keeps() -> None:
    pts = tuple(range(0, 3000, 100))  # 30 frames, time base 1/1000: 0.1 s apart
    tb = Fraction(1, 1000)

    def keeps(vf: str) -> tuple[int, int]:
        cut = analyze(f"{vf},setpts=PTS-STARTPTS").cut
        assert cut is not None
        return cut.keeps(pts, tb)

    assert keeps("trim=start=1:end=2") == (10, 20)
    assert keeps("trim=start=0.95:end=2.05") == (10, 21)
    assert keeps("trim=start_frame=5:end_frame=7") == (5, 7)
    assert keeps("trim=start=1.5:duration=0.3") == (15, 18)
    assert keeps("trim=start=1:end_frame=12:end=1.5") == (10, 15)  # either end holds: the later
    assert keeps("trim=start=2500ms") == (25, 30)
    assert restart_at("hue=s=0,setpts=PTS-STARTPTS", 36036) == "hue=s=0,setpts=PTS-36036"
