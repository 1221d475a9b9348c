"""Chunked equals whole for frames picked by number and packed:
``select='not(mod(n,3))',setpts=N/FRAME_RATE/TB`` (drop frames, close the gaps), against plain
``ffmpeg -vf`` on the same binary, losslessly.

Every chunk must know how many frames were picked before its first, so that its packed frames
continue the whole file's numbering; windows after the packing read picked frames across the
chunk boundary. The clips have motion, several boundaries and keyframes far apart.
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
        "select='not(mod(n,3))',setpts=N/FRAME_RATE/TB",
        "select='not(mod(n,3))',setpts=N/FRAME_RATE/TB,tmix=frames=5",  # a window over the picks
        "hue=s=0,select=e='lt(mod(n,100),30)',setpts=N/(FRAME_RATE*TB)",  # whole chunks picked away
        "select='between(n,70,75)+gte(n,200)',setpts=N/FRAME_RATE/TB,deflicker=size=3",
    ],
)
def test_frames_picked_by_number_and_packed_split_exactly(ntsc: Path, tmp_path: Path, vf: str) -> None:
    started = assert_same_as_ffmpeg(ntsc, vf, tmp_path)
    assert started["chunks"] >= 4
    assert started["notices"] == []


def test_picks_across_sparse_keyframes_at_25_fps(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=9, size="192x108", fps="25", keyint=125, audio=False)
    started = assert_same_as_ffmpeg(
        src, "select='not(mod(n,4))',setpts=N/FRAME_RATE/TB,tmix=frames=3", tmp_path
    )
    assert started["chunks"] >= 3
    assert started["notices"] == []


def test_a_select_that_reads_more_than_the_frame_number_runs_on_one_worker(
    ntsc: Path, tmp_path: Path
) -> None:
    started = assert_same_as_ffmpeg(ntsc, "select='lt(mod(t,2),1)',setpts=N/FRAME_RATE/TB", tmp_path)
    assert started["chunks"] == 1
    notices = started["notices"]
    assert isinstance(notices, list) and len(notices) == 1 and "select=" in notices[0]
