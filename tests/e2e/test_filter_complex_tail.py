"""An overlay whose main input ends first, against plain ``ffmpeg -filter_complex``.

The overlay takes its main (first) input's frame rate, so ffmpeg's encoder puts the output on
that 1/rate grid. Past the main's end the output goes on at the other input's frame times; where
those come faster than the grid (30000/1001 fps onto 1/25 s), the encoder drops or moves each
frame by the ones it kept before it, and a chunk's own encoder, starting afresh, kept one frame
more at a chunk's edge (127 frames where ffmpeg gives 126). Such a graph is refused in one line
before any work. With the faster, longer input as the main one it gives ffmpeg's frames (a
slower input going on past the main's end does too: tests/e2e/test_filter_complex.py's PIP).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ClipMaker
from tests.e2e.test_filter_complex import assert_plain_ffmpegs_frames, assert_refused_in_one_line
from tests.e2e.test_filter_complex_windows import ntsc

__all__ = ["ntsc"]  # the 5 s 30000/1001 fps clip, a fixture of this module too

INSET = "[0:v]scale=iw/3:-2[p];[1:v][p]overlay"


@pytest.fixture(scope="module")
def pal4(make_clip: ClipMaker) -> Path:
    """4 s at 25 fps: it ends a second before the first input."""
    return make_clip(seconds=4, size="192x108", fps=25, keyint=20, audio=False)


def test_a_faster_input_past_the_main_inputs_end_is_refused_in_one_line(
    ntsc: Path, pal4: Path, tmp_path: Path
) -> None:
    said = "'overlay': another input outlasts its main input at a higher frame rate"
    assert_refused_in_one_line([ntsc, pal4], INSET, said, tmp_path)


@pytest.mark.parametrize(
    ("order", "graph"),
    [
        # The faster input is the main one and the longer: its own grid to the end.
        ("ab", "[1:v]scale=iw/2:-2[p];[0:v][p]overlay"),
        # The same with the 25 fps input first (its keyframes cut the work) as the inset.
        ("ba", "[0:v]scale=iw/2:-2[p];[1:v][p]overlay"),
    ],
)
def test_the_same_inputs_with_the_main_one_outlasting_give_plain_ffmpegs_frames(
    ntsc: Path, pal4: Path, tmp_path: Path, order: str, graph: str
) -> None:
    assert_plain_ffmpegs_frames([{"a": ntsc, "b": pal4}[name] for name in order], graph, tmp_path)
