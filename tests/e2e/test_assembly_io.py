"""The final assembly reads a local job's segments where they are, and rewrites a master only
once: a ProRes or DNxHR file is gigabytes, and each copy of it costs seconds.

Reading in place: ffmpeg's concat protocol over the segment files, compared here with the
segments copied into one file; one pass: the index stays after the media for a master (what
plain ffmpeg writes), and goes first only where a player streams the file.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from sprocket_cli.output.assemble import _segments_in_place
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.storage.memory import MemoryStorage
from tests.conftest import ClipMaker
from tests.e2e.test_codecs import CHUNKS, decode, sprocket


def top_boxes(path: Path) -> list[str]:
    """The file's top-level box types, in order."""
    kinds, data, off = [], path.read_bytes(), 0
    while off + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, off)
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, off + 8)
        kinds.append(kind.decode())
        off += size or len(data)
    return kinds


@pytest.fixture(scope="module")
def source(make_clip: ClipMaker) -> Path:
    return make_clip(seconds=4, size="320x240", keyint=25)


def test_local_segments_are_read_in_place_and_others_are_copied(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path)
    keys = ["stream/init.mp4", "stream/seg_00000.m4s", "stream/seg_00001.m4s"]
    url = _segments_in_place(local, keys)
    assert url == "concat:" + "|".join(str(tmp_path / k) for k in keys)
    assert _segments_in_place(MemoryStorage(), keys) is None  # no file to read: a copy
    assert _segments_in_place(LocalStorage(tmp_path / "a|b"), keys) is None  # '|' splits the list


@pytest.mark.parametrize(
    ("codec", "suffix", "index_first"),
    [("prores_ks", ".mov", False), ("dnxhr", ".mov", False), ("x264", ".mp4", True), ("x264", ".mov", True)],
)
def test_a_master_is_written_in_one_pass_and_a_stream_with_its_index_first(
    source: Path, tmp_path: Path, codec: str, suffix: str, index_first: bool
) -> None:
    dest = tmp_path / f"out{suffix}"
    code, output, _ = sprocket(
        "filter", str(source), "--vf", "hue=s=0", "-o", str(dest), "--codec", codec, *CHUNKS
    )
    assert code == 0, output
    boxes = top_boxes(dest)
    assert (boxes.index("moov") < boxes.index("mdat")) is index_first, boxes
    assert len(decode(dest).pts) == 100  # every frame of every segment, read in place
