"""Chunked equals whole for retimes off the frame-rate grid: ``setpts=0.5*PTS`` (ffmpeg drops
the frames whose slot on the 1/frame-rate grid is taken) and ``setpts=1.5*PTS`` (ffmpeg rounds
each time to the grid), and for rate filters whose grid counts from the first frame they see
(``framerate``, ``minterpolate``), against plain ``ffmpeg -vf`` on the same binary, losslessly.

Which frame ffmpeg drops depends on the frames before it, so every chunk boundary is a place
where a chunked run could keep a different frame: the clips have several boundaries, motion
in every frame, NTSC and PAL rates and keyframes far apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ClipMaker
from tests.e2e.test_fidelity import assert_same_as_ffmpeg


@pytest.fixture(scope="module")
def ntsc(make_clip: ClipMaker) -> Path:
    return make_clip(seconds=9, size="192x108", fps="30000/1001", keyint=40, audio=False)


@pytest.mark.parametrize(
    "vf",
    [
        "setpts=0.5*PTS",
        "setpts=PTS/4",  # the fastest that splits
        "setpts=0.75*PTS",  # a frame dropped every 4th
        "setpts=PTS/1.1",  # one dropped every 11th: the longest history
        "setpts=1.5*PTS",  # slower: times rounded to the grid, none dropped
        "hue=s=0,setpts=PTS/3,eq=contrast=1.2",  # per-frame filters either side
    ],
)
def test_retimes_off_the_grid_split_exactly(ntsc: Path, tmp_path: Path, vf: str) -> None:
    started = assert_same_as_ffmpeg(ntsc, vf, tmp_path)
    assert started["chunks"] >= 4
    assert started["notices"] == []


@pytest.mark.parametrize("vf", ["setpts=0.6*PTS", "setpts=2.5*PTS"])
def test_retimes_across_sparse_keyframes_at_25_fps(make_clip: ClipMaker, tmp_path: Path, vf: str) -> None:
    """Keyframes every 5 s, chunks of 2 s: the pre-roll starts between keyframes."""
    src = make_clip(seconds=9, size="192x108", fps="25", keyint=125, audio=False)
    started = assert_same_as_ffmpeg(src, vf, tmp_path)
    assert started["chunks"] >= 3
    assert started["notices"] == []


@pytest.mark.parametrize(
    "vf",
    [
        "framerate=fps=50",  # blends the frames around each slot of a grid from the first frame
        "framerate=fps=24",
        "hue=s=0,framerate=fps=60000/1001",
        "minterpolate=fps=50",  # motion-compensated: its search reads several frames back
    ],
)
def test_rates_whose_grid_counts_from_the_first_frame_split_exactly(
    ntsc: Path, tmp_path: Path, vf: str
) -> None:
    started = assert_same_as_ffmpeg(ntsc, vf, tmp_path)
    assert started["chunks"] >= 4
    assert started["notices"] == []
