"""A scene's frames for find_faces, with their pts: decoded by PyAV where it is installed, else
by the ffmpeg binary over a pipe (:mod:`sprocket_cli.faces.framepipe`).

Two decoders because neither serves both places. The Lambda faces bundle has no PyAV (95 MB
unzipped on aarch64, when the bundle has 29 MB to spare), but it has ffmpeg. On this machine
PyAV is faster: it converts to RGB only the sampled frames (every 5th by default) while the
pipe must convert every frame it sends, and it skips the pipe's copy of every picture; at 1080p
the pipe took about twice PyAV's time (bench/faces_decode.py). Both give the same frames, pts
and pictures bit for bit (tests/unit/test_faces_frames.py), so a scene's detections and tracks
are the same wherever it runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sprocket_cli.faces.images import rgb_frame

if TYPE_CHECKING:
    import av

    from sprocket_cli.faces.base import Frame
    from sprocket_cli.faces.tracking import Gray
    from sprocket_cli.tasks import ChunkRef


class Picture(Protocol):
    """One decoded frame, as the detector and the tracker take it."""

    @property
    def pts(self) -> int | None:
        """In the chunk's time base; None where the file gives the frame no timestamp."""
        ...

    def rgb(self) -> Frame:
        """The values of an rgb24 conversion, C-contiguous (dlib needs it)."""
        ...

    def gray(self) -> Gray:
        """The values of a gray conversion, C-contiguous and writable (dlib needs both)."""
        ...


#: (path, chunk) -> the frames from the keyframe at or before ``chunk.seek_pts`` to the end.
Decoder = Callable[[str, "ChunkRef"], Generator[Picture]]


def scene_frames(
    path: str, chunk: ChunkRef, decoder: Decoder | None = None
) -> Generator[tuple[int, Picture]]:
    """Every frame of ``chunk``, decoded by ``decoder`` (by default :func:`default_decoder`'s),
    with its pts; close the iterator to stop decoding early."""
    decoded = (decoder or default_decoder())(path, chunk)
    with contextlib.closing(decoded) as frames:  # ffmpeg, or the file, closed with the chunk
        for frame in frames:
            if frame.pts is None or frame.pts < chunk.start_pts:
                continue  # pre-roll from the keyframe
            if not chunk.is_last and frame.pts >= chunk.end_pts:
                return
            yield frame.pts, frame


def default_decoder() -> Decoder:
    """PyAV's where it is installed (a local or Ray worker), else the ffmpeg binary's (Lambda)."""
    if importlib.util.find_spec("av") is not None:
        return pyav_frames
    from sprocket_cli.faces.framepipe import piped_frames

    return piped_frames


@dataclass(frozen=True)
class AvPicture:
    """A frame PyAV decoded, converted only when asked (most frames are never converted to RGB)."""

    pts: int | None
    frame: av.VideoFrame

    def rgb(self) -> Frame:
        return rgb_frame(self.frame.to_ndarray(format="rgb24"))

    def gray(self) -> Gray:
        import numpy as np

        # Copied: PyAV pads rows for some widths, and dlib crashes on padded arrays (see rgb_frame).
        return np.ascontiguousarray(self.frame.to_ndarray(format="gray"))


def pyav_frames(path: str, chunk: ChunkRef) -> Generator[Picture]:
    import av  # lazy: only this stage decodes frames in Python

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        container.seek(chunk.seek_pts, stream=stream, backward=True)  # the keyframe at or before
        for frame in container.decode(stream):
            yield AvPicture(frame.pts, frame)
