"""A chunk's segment is split file to file: its media part is copied by the kernel where it can
be, and read and written in blocks where it cannot (here: into a pipe), byte for byte alike."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sprocket_cli.media.fmp4 import _copy_range


def test_a_range_is_copied_by_the_kernel_into_a_file(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(data)
    with src.open("rb") as s, dst.open("wb") as d:
        d.write(b"head")
        d.flush()
        _copy_range(s.fileno(), d.fileno(), 1000, 2 << 20)
    assert dst.read_bytes() == b"head" + data[1000 : 1000 + (2 << 20)]


def test_a_range_goes_in_blocks_where_the_kernel_cannot_copy(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    src = tmp_path / "src"
    src.write_bytes(data)
    read_end, write_end = os.pipe()  # copy_file_range refuses a pipe (EINVAL)
    got = bytearray()

    def drain() -> None:
        while chunk := os.read(read_end, 1 << 16):
            got.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    with src.open("rb") as s:
        _copy_range(s.fileno(), write_end, 7, (2 << 20) + 5)
    os.close(write_end)
    reader.join()
    os.close(read_end)
    assert bytes(got) == data[7 : 7 + (2 << 20) + 5]
