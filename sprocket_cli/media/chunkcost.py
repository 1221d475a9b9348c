"""What cutting a video into chunks costs in bytes, against one whole-file encode.

Every chunk starts with a keyframe where one encode of the whole file would have predicted
from the frames before: short chunks (the many workers' friend) cost bytes at equal quality.
The figures are measured, per encoder and chunk length (:data:`MEASURED`); a job's estimate
reads them at each of its chunks' lengths and weighs them by the chunks' frames, since its
chunks differ (a short first one, a tail balanced over the workers).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Size of sprocket's video bytes against the whole-file encode's at the same PSNR, per cent,
#: for chunks of each length (seconds) throughout: bench/codecs.py's chunk-length table, each
#: encoder at its default crf and sprocket's default speed (veryfast), on the bench's 10 s
#: 1280x720 25 fps testsrc2 clip (motion, a source keyframe every second), ffmpeg n9.0.2, 2
#: workers. x264, x265: ``python bench/codecs.py --short`` (issue 17's figures, 2026-12-07).
#: SVT-AV1, VP9: ``python bench/codecs.py --short --codecs av1,vp9 --no-codecs --no-target``
#: (2026-12-07, load average 2.4-3.0 on 2 cores: a shared machine). One run each on one
#: synthetic clip: differences under ~0.5 % are noise (x264's negative figures: chunks save
#: nothing), and SVT-AV1's 4 s figure is out of line (0.1 dB lower PSNR there, which the
#: equal-PSNR reading magnifies).
MEASURED: dict[str, tuple[tuple[float, float], ...]] = {
    "libx264": ((1, -0.42), (2, -0.09), (4, 0.29), (6, 0.14)),
    "libx265": ((1, 2.44), (2, 1.28), (4, 0.66), (6, 0.22)),
    "libsvtav1": ((1, 1.60), (2, 1.17), (4, 4.02), (6, -0.68)),
    "libvpx-vp9": ((1, 3.68), (2, 2.23), (4, 0.99), (6, 0.50)),
}
#: Codecs (ffmpeg's names) that code every frame on its own: a chunk's first frame is no
#: costlier than any other, so chunks cost nothing by construction.
INTRA = frozenset({"prores", "dnxhd", "mjpeg"})
#: Below this estimate (per cent) the line does not point at ``--chunk-seconds``: the
#: figures' noise is about that large. Above it, it does where the figures say chunks twice
#: as long cost less.
WORTH_SAYING = 0.5


@dataclass(frozen=True)
class ChunkCost:
    """The estimate for one job's encoder and chunks."""

    encoder: str
    """ffmpeg's encoder name (``libx265``)."""
    seconds: float
    """The chunks' mean length, seconds."""
    chunks: int
    percent: float | None
    """Extra video bytes at equal quality against one whole-file encode, per cent; None: not
    measured for this encoder."""
    intra: bool = False
    """The encoder codes every frame on its own (the figure is 0 by construction)."""
    extrapolated: bool = False
    """Some chunks are shorter than the shortest length measured."""

    def line(self) -> str:
        """One line for ``sprocket plan`` and the job's summary."""
        if self.intra:
            return f"0 % bytes: {self.encoder} codes every frame on its own, so chunks cost nothing"
        if self.chunks == 1:
            return f"0 % bytes: one chunk is one whole-file encode ({self.encoder})"
        what = f"{self.encoder}, {self.seconds:.1f} s chunks"
        if self.percent is None:
            return f"bytes at equal quality vs one whole-file encode not measured ({what})"
        if self.extrapolated:
            shortest = MEASURED[self.encoder][0][0]
            what += f", extrapolated below the {shortest:g} s measured"
        if (
            self.percent >= WORTH_SAYING
            and at_length(MEASURED[self.encoder], 2 * self.seconds) < self.percent
        ):
            what += "; longer chunks cost less: --chunk-seconds"
        return f"~{self.percent:+.1f} % bytes at equal quality vs one whole-file encode ({what})"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> ChunkCost:
        return cls(**fields)


def estimate(encoder: str, codec: str, spans: Sequence[tuple[float, int]]) -> ChunkCost:
    """The cost of encoding with ``encoder`` (of ``codec``) in chunks of ``spans``: each chunk's
    (seconds, frames)."""
    seconds = sum(s for s, _ in spans) / len(spans)
    cost = ChunkCost(encoder, seconds, len(spans), None)
    if codec in INTRA or len(spans) == 1:
        return dataclasses.replace(cost, percent=0.0, intra=codec in INTRA)
    points = MEASURED.get(encoder)
    if points is None:
        return cost
    # By frames: a chunk's bytes go with its frames (seconds where no frame count is known).
    weights = [n for _, n in spans] if any(n for _, n in spans) else [s for s, _ in spans]
    percent = sum(w * at_length(points, s) for w, (s, _) in zip(weights, spans, strict=True)) / sum(weights)
    shortest = points[0][0]
    return dataclasses.replace(cost, percent=percent, extrapolated=any(s < shortest for s, _ in spans))


def at_length(points: Sequence[tuple[float, float]], seconds: float) -> float:
    """The measured cost (per cent) for chunks of ``seconds``: straight lines between the
    measured lengths on a scale of keyframes per second (1 / seconds), which is what the cost
    comes from; past either end, the end's figure scaled by its keyframes per second (but a
    figure below 0, which is noise, is not made a larger saving for shorter chunks)."""
    lengths = [s for s, _ in points]
    if seconds >= lengths[-1]:
        return points[-1][1] * lengths[-1] / seconds
    if seconds <= lengths[0]:
        percent = points[0][1]
        return percent * lengths[0] / max(seconds, 1e-3) if percent > 0 else percent
    i = bisect.bisect_left(lengths, seconds)
    (s0, p0), (s1, p1) = points[i - 1], points[i]
    share = (1 / seconds - 1 / s0) / (1 / s1 - 1 / s0)
    return p0 + share * (p1 - p0)
