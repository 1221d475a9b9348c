"""Clips whose every frame shows its own index as a binary code, and a reader for that code.

A test that must know *which* source frame ended up in an output frame (blending, chunking,
seeking) draws each frame's index as a row of large black/white blocks in a region of the frame,
encodes the clip with x264, runs the code under test, then reads the blocks back from every
decoded output frame. Blocks are tens of pixels wide so they survive x264 at crf 18, scaling to
another size and a trip through RGB; the reader samples only each block's centre.

Layout of a code (``bits`` = 10 by default, so indices up to 1023), cells left to right, top row
first, inside the region:

    [marker: always white] [bit 0] [bit 1] ... [bit bits-1] [parity of the bits]

An all-black region means "no code here" (``None``): clips are black outside their code, so two
clips with codes in different regions can be blended with ``lighten``/``addition``/``screen``
and both codes stay readable, and a region where the second clip is absent reads as ``None``.
A half-bright cell, a missing marker next to white cells, or a parity mismatch raises
:class:`UnreadableCode` instead of returning a wrong index.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy.typing as npt

from sprocket_cli.media.ffmpeg import run_ffmpeg

DEFAULT_BITS = 10
ROWS = 2
"""Rows of cells in a code; the columns follow from the number of cells."""


@dataclass(frozen=True)
class Region:
    """A rectangle as fractions of the frame (0..1), so it survives scaling to another size."""

    x0: float
    y0: float
    x1: float
    y1: float

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """``(x, y, w, h)`` in pixels of a ``width`` x ``height`` frame."""
        x, y = round(self.x0 * width), round(self.y0 * height)
        return x, y, round(self.x1 * width) - x, round(self.y1 * height) - y


TOP = Region(0.0, 0.0, 1.0, 0.5)
BOTTOM = Region(0.0, 0.5, 1.0, 1.0)
WHOLE = Region(0.0, 0.0, 1.0, 1.0)


class UnreadableCode(AssertionError):
    """A region that holds neither a clean code nor plain black."""


def _cells(region: Region, width: int, height: int, bits: int) -> list[tuple[int, int, int, int]]:
    """Pixel rectangles ``(x, y, w, h)`` of the code's cells, in code order."""
    count = bits + 2
    cols = math.ceil(count / ROWS)
    x, y, w, h = region.pixels(width, height)
    cells = []
    for i in range(count):
        row, col = divmod(i, cols)
        cx0, cx1 = x + w * col // cols, x + w * (col + 1) // cols
        cy0, cy1 = y + h * row // ROWS, y + h * (row + 1) // ROWS
        cells.append((cx0, cy0, cx1 - cx0, cy1 - cy0))
    return cells


def _bit_expr(k: int) -> str:
    """Timeline expression: bit ``k`` of the frame number ``n``."""
    return f"mod(floor(n/{2**k}),2)"


def make_framecode_clip(
    dest: Path,
    *,
    seconds: float,
    fps: int | Fraction = 25,
    keyint: int = 25,
    size: tuple[int, int] = (160, 120),
    region: Region = TOP,
    bits: int = DEFAULT_BITS,
    green: Region | None = None,
    start: float = 0.0,
    crf: int = 18,
) -> Path:
    """Encode a black clip whose frame ``n`` shows ``n`` as a code in ``region``; return ``dest``.

    ``keyint``: frames between keyframes (x264 with B-frames, so decode order differs from
    display order, as in real files). ``green``: a pure green (0x00FF00) rectangle drawn over
    everything, for chroma keying. ``start``: seconds of the first frame's timestamp (the
    container keeps it: an edit list in MP4). The container follows ``dest``'s suffix.
    """
    frames = round(Fraction(seconds) * Fraction(fps))
    if frames > 2**bits:
        raise ValueError(f"{frames} frames do not fit in a {bits}-bit code")
    width, height = size
    rate = f"{Fraction(fps).numerator}/{Fraction(fps).denominator}"
    chain = []
    cells = _cells(region, width, height, bits)
    parity = "mod(" + "+".join(_bit_expr(k) for k in range(bits)) + ",2)"
    # One filled box per cell, switched on per frame by a timeline expression over ``n``:
    # much cheaper than a per-pixel geq, and exact at any frame rate.
    enables = ["1", *(_bit_expr(k) for k in range(bits)), parity]
    for (x, y, w, h), enable in zip(cells, enables, strict=True):
        chain.append(f"drawbox=x={x}:y={y}:w={w}:h={h}:color=white:t=fill:enable='{enable}'")
    if green is not None:
        x, y, w, h = green.pixels(width, height)
        chain.append(f"drawbox=x={x}:y={y}:w={w}:h={h}:color=0x00FF00:t=fill")
    args = [
        "-f", "lavfi", "-i", f"color=c=black:s={width}x{height}:r={rate}",
        "-vf", ",".join(chain), "-frames:v", str(frames),
        "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-g", str(keyint), "-keyint_min", str(keyint), "-sc_threshold", "0",
    ]  # fmt: skip
    if start:
        args += ["-output_ts_offset", repr(start)]
    run_ffmpeg([*args, "-y", str(dest)], what=f"making frame-code clip {dest}")
    return dest


def decode_code(
    luma: npt.NDArray[Any], region: Region, bits: int = DEFAULT_BITS, *, threshold: int = 128
) -> int | None:
    """The index coded in ``region`` of a luma plane; None for an all-black region.

    Cells are read at their centre half (block edges blur under compression and scaling); a
    cell whose level is within 48 of ``threshold`` is neither black nor white and raises.
    """
    height, width = luma.shape
    values = []
    for x, y, w, h in _cells(region, width, height, bits):
        centre = luma[y + h // 4 : y + h - h // 4, x + w // 4 : x + w - w // 4]
        level = float(centre.mean())
        if abs(level - threshold) < 48:
            raise UnreadableCode(f"cell at ({x},{y}) has level {level:.0f}, neither black nor white")
        values.append(level > threshold)
    marker, code_bits, parity = values[0], values[1:-1], values[-1]
    if not marker:
        if any(values):
            raise UnreadableCode(f"white cells without the marker: {values}")
        return None
    if sum(code_bits) % 2 != parity:
        raise UnreadableCode(f"parity mismatch: {values}")
    return sum(1 << k for k, on in enumerate(code_bits) if on)


@dataclass(frozen=True)
class CodedFrame:
    """One decoded frame: its time and the code read in each requested region."""

    pts: Fraction
    """Seconds (exact: pts x time base)."""
    codes: tuple[int | None, ...]


def read_codes(path: str | Path, regions: tuple[Region, ...], bits: int = DEFAULT_BITS) -> list[CodedFrame]:
    """Decode every frame of ``path`` (PyAV) and read the code in each of ``regions``."""
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            luma = frame.to_ndarray(format="yuv420p")[: frame.height]
            assert frame.pts is not None and frame.time_base is not None
            codes = tuple(decode_code(luma, r, bits) for r in regions)
            frames.append(CodedFrame(pts=frame.pts * Fraction(frame.time_base), codes=codes))
    return frames


def frame_times(path: str | Path) -> tuple[list[Fraction], Fraction]:
    """Every frame's time and the end of the last frame, in seconds (by demuxing, no decode)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = Fraction(stream.time_base)  # type: ignore[arg-type]
        pts, end = [], None
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            pts.append(packet.pts)
            tail = packet.pts + (packet.duration or 0)
            end = tail if end is None else max(end, tail)
    pts.sort()
    assert end is not None
    return [p * tb for p in pts], end * tb


Expected = list[tuple[Fraction, tuple[int | None, int | None]]]
"""Per output frame: its time (seconds) and its codes (a index, b index or None)."""


def expected_frames(a: Path, b: Path, offset: float, end: Fraction | None = None) -> Expected:
    """Every frame of a blend of ``a`` and ``b`` (b ``offset`` s late): time and codes, from the
    clips' own timestamps. Past a's end (up to ``end``, for ``longest``) a's last frame is held,
    one per a frame interval."""
    a_times, a_end = frame_times(a)
    b_times, b_end = frame_times(b)
    exact = Fraction(repr(offset))
    times = list(a_times)
    if end is not None:
        step = a_times[1] - a_times[0]
        while (t := a_end + (len(times) - len(a_times)) * step) < end:
            times.append(t)
    out: Expected = []
    for k, t in enumerate(times):
        b_clock = b_times[0] + (t - a_times[0]) - exact  # the time on b's clock shown at t
        j = bisect.bisect_right(b_times, b_clock) - 1
        b_index = j if j >= 0 and b_clock < b_end else None
        out.append((t, (min(k, len(a_times) - 1), b_index)))
    return out


def assert_every_frame(frames: list[CodedFrame], expected: Expected) -> None:
    """Same count, same codes and a's exact timestamps on every frame."""
    got = [(f.pts, f.codes) for f in frames]
    assert len(got) == len(expected), f"{len(got)} frames, expected {len(expected)}"
    wrong = [(k, g, e) for k, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    assert not wrong, f"{len(wrong)} frames wrong (index, (pts, codes) got, expected): {wrong[:6]}"
