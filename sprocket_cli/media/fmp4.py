"""Just enough ISO-BMFF to turn one chunk's fragmented MP4 (or MOV) into a streaming segment.

Every chunk is encoded on its own, so ffmpeg starts its fragments' decode times at zero. A
segment must carry the chunk's real start time (``tfdt``) so that segments laid end to end
play as one timeline; the init part (``ftyp`` + ``moov``) is shared by all chunks encoded with
the same settings, which the coordinator checks by hash.
"""

from __future__ import annotations

import errno
import hashlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

_CONTAINERS = {b"moof", b"traf", b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"}
#: What the box readers take: a file's bytes, or the moof boxes patched in place.
Buffer = bytes | bytearray
#: What a fallback copy reads at once, where the kernel cannot copy between the files.
_COPY_BLOCK = 1 << 20
#: copy_file_range's refusals that a plain read and write get around.
_NO_KERNEL_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF}


class EmptySegment(ValueError):
    """The encoder wrote no frame (its filters dropped every one)."""


@dataclass(frozen=True)
class Segment:
    init: bytes
    """``ftyp`` + ``moov``."""
    media_path: str
    """A file of the ``moof`` + ``mdat`` pairs, with decode times shifted to the chunk's place."""
    media_bytes: int
    timescale: int
    """Ticks per second of the video track."""
    duration: int
    """Sum of the samples' durations, in ``timescale`` ticks."""
    codec: str
    """RFC 6381 codec string, e.g. ``avc1.64001f``."""
    frames: int
    """Samples (frames) in the media part."""
    width: int
    """Pixels, from the sample entry."""
    height: int

    @property
    def init_hash(self) -> str:
        return hashlib.sha256(self.init).hexdigest()[:16]


def _boxes(data: Buffer, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of each box between ``start`` and ``end``."""
    end = len(data) if end is None else end
    off = start
    while off + 8 <= end:
        kind, size = _header(data, off, end - off)
        yield kind, off, size
        off += size


def _header(data: Buffer, off: int, left: int) -> tuple[bytes, int]:
    """(type, size) of the box at ``off``, ``left`` bytes before the end of its parent."""
    size, kind = struct.unpack_from(">I4s", data, off)
    header = 8
    if size == 1:
        (size,) = struct.unpack_from(">Q", data, off + 8)
        header = 16
    elif size == 0:
        size = left
    if size < header:
        raise ValueError(f"corrupt MP4 box {kind!r}")
    return kind, size


def _find(data: Buffer, path: list[bytes], start: int = 0, end: int | None = None) -> Iterator[int]:
    """Offsets of every box reached by ``path`` (box types, outermost first)."""
    for kind, off, size in _boxes(data, start, end):
        if kind != path[0]:
            continue
        if len(path) == 1:
            yield off
        else:
            body = off + 8 + (8 if kind == b"stsd" else 0)  # stsd has version, flags, count
            yield from _find(data, path[1:], body, off + size)


def make_segment(path: str, start_ticks: int) -> Segment:
    """Split the fragmented MP4 (or MOV) ffmpeg wrote at ``path`` into its init part and a file
    of its media part beside it, the decode times shifted so the first is at ``start_ticks``.

    The pictures are never read into this process: a ProRes or DNxHR chunk is 100 MB and more,
    and its copies in memory took 0.39 s of a task (6 s of 1080p DNxHR HQ, measured). Only the
    small boxes are read; each ``mdat`` is copied file to file by the kernel."""
    with open(path, "rb") as src:
        fd = src.fileno()
        tops = list(_file_boxes(fd, os.fstat(fd).st_size))
        init = b"".join(os.pread(fd, size, off) for kind, off, size in tops if kind in (b"ftyp", b"moov"))
        moofs = bytearray(b"".join(os.pread(fd, size, off) for kind, off, size in tops if kind == b"moof"))
        duration, frames = _shift_decode_times(moofs, start_ticks)
        media_path = f"{path}.media"
        written = 0
        with open(media_path, "wb") as dst:
            for kind, off, size in tops:
                if kind == b"moof":
                    dst.write(moofs[written : written + size])
                    written += size
                elif kind == b"mdat":
                    dst.flush()  # the kernel's copy goes after what is written so far
                    _copy_range(fd, dst.fileno(), off, size)
    media_bytes = sum(size for kind, _, size in tops if kind in (b"moof", b"mdat"))
    codec, width, height = _sample_entry(init)
    return Segment(init, media_path, media_bytes, _timescale(init), duration, codec, frames, width, height)


def _file_boxes(fd: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of each top-level box of the file open at ``fd``, ``end`` bytes long."""
    off = 0
    while off + 8 <= end:
        kind, size = _header(os.pread(fd, 16, off), 0, end - off)
        yield kind, off, size
        off += size


def _copy_range(src: int, dst: int, offset: int, count: int) -> None:
    """Append ``count`` bytes of ``src`` from ``offset`` to ``dst``, in the kernel where it can."""
    try:
        while count > 0:
            done = os.copy_file_range(src, dst, count, offset)
            if done == 0:
                raise ValueError("the chunk's file ended inside a box")
            offset, count = offset + done, count - done
    except OSError as exc:
        if exc.errno not in _NO_KERNEL_COPY:
            raise
        while count > 0:
            block = os.pread(src, min(count, _COPY_BLOCK), offset)
            if not block:
                raise ValueError("the chunk's file ended inside a box") from None
            os.write(dst, block)
            offset, count = offset + len(block), count - len(block)


def _timescale(init: bytes) -> int:
    for off in _find(init, [b"moov", b"trak", b"mdia", b"mdhd"]):
        version = init[off + 8]
        pos = off + 12 + (16 if version == 1 else 8)
        return int(struct.unpack_from(">I", init, pos)[0])
    raise ValueError("init segment has no mdhd box")


def _sample_entry(init: bytes) -> tuple[str, int, int]:
    """(RFC 6381 codec string, width, height) from the video sample entry, whatever its codec."""
    for stsd in _find(init, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"]):
        for kind, off, size in _boxes(init, stsd + 16, stsd + struct.unpack_from(">I", init, stsd)[0]):
            width, height = struct.unpack_from(">HH", init, off + 32)
            # A visual sample entry: 8 header + 78 bytes of fields, then its child boxes.
            children = {k: init[c + 8 : c + s] for k, c, s in _boxes(init, off + 86, off + size)}
            return codec_string(kind.decode("latin-1"), children), width, height
    raise ValueError("init segment has no sample entry")


def codec_string(kind: str, children: dict[bytes, bytes]) -> str:
    """The RFC 6381 string (the one HLS ``CODECS`` and MSE want) from the entry's config box;
    the sample entry's type alone for codecs without one (``apch`` for ProRes HQ)."""
    if kind in ("avc1", "avc3") and b"avcC" in children:
        return f"{kind}.{children[b'avcC'][1:4].hex()}"
    if kind in ("hvc1", "hev1") and b"hvcC" in children:
        return _hevc_string(kind, children[b"hvcC"])
    if kind == "av01" and b"av1C" in children:
        box = children[b"av1C"]
        profile, level, flags = box[1] >> 5, box[1] & 0x1F, box[2]
        depth = 12 if flags & 0x20 else 10 if flags & 0x40 else 8
        return f"av01.{profile}.{level:02d}{'H' if flags & 0x80 else 'M'}.{depth:02d}"
    if kind == "vp09" and b"vpcC" in children:
        box = children[b"vpcC"]  # a full box: version and flags first
        return f"vp09.{box[4]:02d}.{box[5]:02d}.{box[6] >> 4:02d}"
    return kind


def _hevc_string(kind: str, box: bytes) -> str:
    """ISO/IEC 14496-15 annex E: profile space and number, compatibility flags bit-reversed,
    tier and level, then the constraint bytes without trailing zeros."""
    space = "" if box[1] >> 6 == 0 else "ABC"[(box[1] >> 6) - 1]
    tier = "H" if box[1] & 0x20 else "L"
    compat = int(f"{int.from_bytes(box[2:6], 'big'):032b}"[::-1], 2)
    constraints = box[6:12].rstrip(b"\0")
    parts = [
        kind,
        f"{space}{box[1] & 0x1F}",
        f"{compat:X}",
        f"{tier}{box[12]}",
        *(f"{b:02X}" for b in constraints),
    ]
    return ".".join(parts)


def _shift_decode_times(media: bytearray, start_ticks: int) -> tuple[int, int]:
    """Rebase every ``tfdt`` so the first is ``start_ticks``; return the total sample duration
    and the samples."""
    tfdts = list(_find(media, [b"moof", b"traf", b"tfdt"]))
    if not tfdts:
        raise EmptySegment("fragmented MP4 has no tfdt box: no frame was encoded")
    delta: int | None = None
    last_end = 0
    for off in tfdts:
        version = media[off + 8]
        fmt = ">Q" if version == 1 else ">I"
        (old,) = struct.unpack_from(fmt, media, off + 12)
        if delta is None:
            delta = start_ticks - old
        new = old + delta
        if version == 1:
            struct.pack_into(">Q", media, off + 12, new)
        elif new < 2**32:
            struct.pack_into(">I", media, off + 12, new)
        else:
            raise ValueError("decode time too large for a version-0 tfdt box")
        last_end = new
    runs = _fragment_runs(media)
    frames = sum(count for _, count in runs)
    return (last_end - start_ticks + runs[-1][0] if runs else 0), frames


def _fragment_runs(media: Buffer) -> list[tuple[int, int]]:
    """(duration in ticks, sample count) of each fragment, from trun or the tfhd default."""
    durations = []
    for traf in _find(media, [b"moof", b"traf"]):
        traf_end = traf + struct.unpack_from(">I", media, traf)[0]
        default = 0
        total = 0
        samples = 0
        for kind, off, _size in _boxes(media, traf + 8, traf_end):
            if kind == b"tfhd":
                flags = int.from_bytes(media[off + 9 : off + 12], "big")
                pos = off + 16 + (8 if flags & 0x1 else 0) + (4 if flags & 0x2 else 0)
                if flags & 0x8:
                    (default,) = struct.unpack_from(">I", media, pos)
            elif kind == b"trun":
                flags = int.from_bytes(media[off + 9 : off + 12], "big")
                (count,) = struct.unpack_from(">I", media, off + 12)
                samples += count
                pos = off + 16 + (4 if flags & 0x1 else 0) + (4 if flags & 0x4 else 0)
                fields = [bit for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit]
                for _ in range(count):
                    if flags & 0x100:
                        total += struct.unpack_from(">I", media, pos)[0]
                    else:
                        total += default
                    pos += 4 * len(fields)
        durations.append((total, samples))
    return durations
