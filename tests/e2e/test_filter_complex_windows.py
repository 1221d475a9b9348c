"""Windowed filters inside a ``--filter-complex`` graph against plain ``ffmpeg -filter_complex``.

The first input is at 30000/1001 fps with a keyframe every 2.5 s, so that the 1 s chunks are
cut on ordinary frames (each decodes from the keyframe before) and each decodes the frames
its windowed filters read on either side; the second input is at 25 fps, another size, with
keyframes every 0.8 s, and a second longer. Both sides encode losslessly (x264 at quality 0)
on the same ffmpeg: same frame count, same times, every frame bit-identical.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ClipMaker
from tests.e2e.test_filter_complex import assert_plain_ffmpegs_frames, assert_refused_in_one_line


@pytest.fixture(scope="module")
def ntsc(make_clip: ClipMaker) -> Path:
    """5 s at 30000/1001 fps with a tone, a keyframe every 75 frames (2.5 s)."""
    return make_clip(seconds=5, size="320x180", fps="30000/1001", keyint=75)


@pytest.fixture(scope="module")
def pal(make_clip: ClipMaker) -> Path:
    """6 s at 25 fps, another size, a keyframe every 0.8 s: it outlasts the first input, so
    that where it is the main input the output's clock is its own to the end."""
    return make_clip(seconds=6, size="192x108", fps=25, keyint=20, audio=False)


@pytest.mark.parametrize(
    ("order", "graph"),
    [
        # tmix reads the two frames before each: every chunk decodes them and drops them. The
        # hue turns with the second input's time (t counts from its first frame, as in ffmpeg).
        ("ab", "[0:v]tmix=frames=3[t];[1:v]hue=H=t*90,scale=iw/2:-2[p];[t][p]overlay=8:8"),
        # tmedian looks ahead (a frame from itself and the two after): a post-roll.
        ("ab", "[1:v]scale=-2:180[b];[0:v]tmedian=radius=1[m];[m][b]hstack"),
        # Windows in a row (back and ahead) on one branch of a split, joined, then the second input.
        (
            "ab",
            "[0:v]split[x][y];[y]tmix=frames=4,deflicker=size=3,scale=iw/2:-2[s];[x][s]overlay=W-w:0[o];"
            "[o][1:v]overlay=0:H-h",
        ),
        # The main input (the output's clock) is the second; the windowed inset is the first's.
        ("ab", "[0:v]scale=iw/3:-2,tmix=frames=3[p];[1:v][p]overlay=W-w-8:8"),
        # Windows on the second input's frames, and after a join.
        ("ab", "[1:v]tmix=frames=3[t];[0:v][t]overlay=8:8"),
        ("ab", "[1:v]tmedian=radius=1,scale=-2:180[b];[0:v][b]hstack"),
        ("ab", "[1:v]scale=160:90[b];[0:v][b]overlay=8:8,tmix=frames=3"),
        # One input: the graph runs as a -vf graph over it.
        ("a", "[0:v]split[a][b];[b]tmix=frames=3,hflip[c];[a][c]hstack"),
    ],
)
def test_windowed_branches_give_plain_ffmpegs_frames(
    ntsc: Path, pal: Path, tmp_path: Path, order: str, graph: str
) -> None:
    started = assert_plain_ffmpegs_frames([{"a": ntsc, "b": pal}[name] for name in order], graph, tmp_path)
    assert isinstance(started["preroll"], float) and started["preroll"] > 0  # frames before their own


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ("[0:v]tblend[t];[t][1:v]overlay", "'tblend' gives no frame for its input's first frame"),
        ("[0:v]setpts=2*PTS[s];[s][1:v]overlay", "'setpts=2*PTS' is retime"),
        ("[1:v][0:v]overlay=x=n:y=0", "'overlay=x=n:y=0' is frame-number"),  # on the second input's frames
    ],
)
def test_what_does_not_split_is_refused_in_one_line(
    ntsc: Path, pal: Path, tmp_path: Path, graph: str, message: str
) -> None:
    assert_refused_in_one_line([ntsc, pal], graph, message, tmp_path)
