"""Decoded properties of a video, for asserts that never compare encoded bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np


@dataclass(frozen=True)
class VideoFacts:
    frames: int
    duration: float
    """Seconds from the first frame's pts to the end of the last frame."""
    width: int
    height: int
    max_saturation: int
    """Largest |U-128| or |V-128| over every pixel of every frame (0 = gray)."""
    audio_duration: float | None
    """Seconds of the first audio stream, None without audio."""
    frame_hashes: tuple[str, ...]


def facts(path: str | Path) -> VideoFacts:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        hashes = []
        sat = 0
        pts = []
        for frame in container.decode(stream):
            planes = frame.to_ndarray(format="yuv420p")
            h = frame.height
            chroma = planes[h:].astype(np.int16) - 128
            sat = max(sat, int(np.abs(chroma).max()))
            hashes.append(hashlib.sha1(planes.tobytes()).hexdigest())
            pts.append(float(frame.pts * frame.time_base))
            width, height = frame.width, frame.height
        step = (pts[-1] - pts[0]) / (len(pts) - 1) if len(pts) > 1 else 0.0
        has_audio = bool(container.streams.audio)
    audio = _audio_duration(path) if has_audio else None
    return VideoFacts(
        frames=len(pts),
        duration=pts[-1] - pts[0] + step,
        width=width,
        height=height,
        max_saturation=sat,
        audio_duration=audio,
        frame_hashes=tuple(hashes),
    )


def _audio_duration(path: str | Path) -> float:
    """Seconds of decoded audio samples (not the container's claim)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate
