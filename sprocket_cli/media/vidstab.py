"""vid.stab's transforms files (``vidstabdetect``'s result): join chunks' files, cut slices.

The binary format (vid.stab's serialize.c): ``TRF1``, the detection settings (three int32
and a double), then per frame an int32 frame number (from 1) and an int32 count of local
motions of 26 bytes each (five int16, two doubles). Motion is measured against the frame
before, so a chunk's detection decodes one frame before its own; that frame's record (no
motions: it has nothing before it) is dropped when the chunks are joined, and the joined file
equals the whole-file detection's byte for byte.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from sprocket_cli.media.ffmpeg import ffmpeg_exe

_HEADER = 4 + 3 * 4 + 8
_MOTION = 26
_ZOOM = re.compile(r"Final zoom: (-?[\d.]+)")


class TransformsError(ValueError):
    """A transforms file that is not vid.stab's binary format."""


@dataclass(frozen=True)
class Transforms:
    header: bytes
    frames: tuple[bytes, ...]
    """Each frame's local motions, as stored (count + records), in frame order."""

    def to_bytes(self) -> bytes:
        body = b"".join(struct.pack("<i", n) + motions for n, motions in enumerate(self.frames, start=1))
        return self.header + body

    def slice(self, start: int, stop: int) -> Transforms:
        """Frames ``start`` to ``stop`` (0-based, stop excluded), renumbered from 1."""
        return Transforms(self.header, self.frames[start:stop])


def read_transforms(data: bytes) -> Transforms:
    if data[:4] != b"TRF1" or len(data) < _HEADER:
        raise TransformsError("not a vid.stab transforms file (binary, version 1)")
    frames, off = [], _HEADER
    while off < len(data):
        if off + 8 > len(data):
            raise TransformsError("a vid.stab transforms file ends inside a frame")
        (count,) = struct.unpack_from("<i", data, off + 4)
        end = off + 8 + count * _MOTION
        frames.append(data[off + 4 : end])
        off = end
    return Transforms(data[:_HEADER], tuple(frames))


def join_transforms(parts: list[bytes]) -> Transforms:
    """The chunks' files as one: every chunk after the first loses its look-back frame."""
    read = [read_transforms(p) for p in parts]
    frames = [f for i, t in enumerate(read) for f in (t.frames if i == 0 else t.frames[1:])]
    return Transforms(read[0].header, tuple(frames))


def static_zoom(source: str, transforms_path: str, smoothing: int) -> float:
    """The zoom (percent) vidstabtransform's optzoom=1 picks from the whole file's transforms.

    vid.stab computes it from every frame's correction at start-up and logs it; one frame of
    the source is enough to make it do so.
    """
    import subprocess

    vf = f"vidstabtransform=input={transforms_path}:smoothing={smoothing}:optalgo=gauss:crop=black"
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "verbose", "-i", source, "-vf", vf,
         "-frames:v", "1", "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    found = _ZOOM.search(proc.stderr)
    return float(found[1]) if found else 0.0
