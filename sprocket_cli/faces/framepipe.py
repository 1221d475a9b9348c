"""A chunk's frames decoded by the ffmpeg binary and read over a pipe, with their pts: how
find_faces decodes where PyAV is not installed (the Lambda faces bundle; see faces/frames.py).

ffmpeg writes each frame as raw ``gbrap``: its G, B and R planes (the values PyAV's
``to_ndarray(format="rgb24")`` gives, bit for bit) and, as the fourth plane, its luma (PyAV's
``format="gray"``): one stream holds both pictures, so one pipe carries them in step and
cannot deadlock the way two outputs read in turn can. Its pts come from ``showinfo`` on stderr:
the filter logs a frame before passing it on, so the line is there before the frame's bytes.
"""

from __future__ import annotations

import queue
import re
import subprocess
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import IO, TYPE_CHECKING

from sprocket_cli.errors import FfmpegError
from sprocket_cli.faces.images import rgb_frame
from sprocket_cli.media.ffmpeg import ffmpeg_exe, last_error_lines

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from sprocket_cli.faces.base import Frame
    from sprocket_cli.faces.tracking import Gray
    from sprocket_cli.tasks import ChunkRef

#: The decoded picture twice over: as RGB planes (the values of an rgb24 conversion, tested
#: bit for bit against PyAV's; a conversion to rgb24 and then gbrp costs 25% more) and luma.
_GRAPH = (
    "[0:v:0]showinfo=checksum=0,split[rgb][luma];[rgb]format=gbrp[c];"
    "[luma]format=gray[g];"
    "[c][g]mergeplanes=map0s=0:map0p=0:map1s=0:map1p=1:map2s=0:map2p=2:map3s=1:map3p=0:format=gbrap"
)
_FRAME_LINE = re.compile(r"\[Parsed_showinfo_\d+ @ \w+\] n:\s*\d+ pts:\s*(-?\d+|NOPTS) .* s:(\d+)x(\d+) ")
_TIME_BASE_LINE = re.compile(r"\[Parsed_showinfo_\d+ @ \w+\] config in time_base: (\d+)/(\d+)")


@dataclass(frozen=True)
class PipedFrame:
    """One decoded frame: its pts (in the chunk's time base) and its four planes."""

    pts: int | None
    """None where the file gives the frame no timestamp."""
    planes: NDArray[np.uint8]
    """(4, height, width): G, B, R, luma."""

    def rgb(self) -> Frame:
        import numpy as np

        return rgb_frame(np.dstack((self.planes[2], self.planes[0], self.planes[1])))

    def gray(self) -> Gray:
        luma: Gray = self.planes[3]  # a C-contiguous plane already, as dlib needs
        return luma


def piped_frames(path: str, chunk: ChunkRef) -> Generator[PipedFrame]:
    """The frames of ``path`` from the keyframe at or before ``chunk.seek_pts`` to its end."""
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
        # As the chunk commands seek: to the keyframe at or before, timestamps as in the file.
        "-copyts", "-seek_timestamp", "1", "-ss", repr(chunk.seek_seconds), "-noaccurate_seek",
        "-noautorotate",  # PyAV does not rotate either; the detector sees the stored picture
        "-i", path, "-filter_complex", _GRAPH,
        "-fps_mode", "passthrough", "-an", "-sn", "-dn", "-f", "rawvideo", "-pix_fmt", "gbrap", "pipe:1",
    ]  # fmt: skip
    # No die-with-parent here: a worker that dies closes the pipe, and ffmpeg dies writing to it.
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None  # both asked for above
    log = _Log(proc.stderr)
    try:
        yield from _frames(proc.stdout, log, chunk.time_base)
        if proc.wait() != 0:
            raise _error(log)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        log.close()


def _frames(out: IO[bytes], log: _Log, time_base: Fraction) -> Iterator[PipedFrame]:
    import numpy as np

    while (line := log.next_frame()) is not None:
        pts_text, width, height = line
        # Writable, as PyAV's arrays are: dlib refuses read-only ones.
        data = bytearray(4 * width * height)
        if not _read_into(out, memoryview(data)):
            return  # ffmpeg stopped mid-frame: its exit status tells why
        scale = log.time_base / time_base
        pts = None if pts_text == "NOPTS" else round(int(pts_text) * scale)
        yield PipedFrame(pts, np.frombuffer(data, np.uint8).reshape(4, height, width))


def _read_into(out: IO[bytes], view: memoryview) -> bool:
    """Fill ``view`` from ``out``; False if it ends first."""
    while view:
        n = out.readinto(view)  # type: ignore[attr-defined]  # a pipe's BufferedReader has it
        if not n:
            return False
        view = view[n:]
    return True


def _error(log: _Log) -> FfmpegError:
    # ffmpeg's own lines name the input; last_error_lines unsigns a presigned URL there, which
    # ``path`` may be, so it is not repeated here.
    error = FfmpegError(f"decoding frames for find_faces: {last_error_lines(log.other_text())}")
    error.stderr = log.other_text()
    return error


class _Log:
    """ffmpeg's stderr, read by a thread: showinfo's frame lines in a queue, the rest kept."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._frames: queue.SimpleQueue[tuple[str, int, int] | None] = queue.SimpleQueue()
        self._other: list[str] = []
        #: The time base of showinfo's pts (the decoded stream's), set before its first frame.
        self.time_base = Fraction(1)
        self._thread = threading.Thread(target=self._read, name="ffmpeg-stderr", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self._stream:
                line = raw.decode(errors="replace")
                if frame := _FRAME_LINE.match(line):
                    self._frames.put((frame[1], int(frame[2]), int(frame[3])))
                elif base := _TIME_BASE_LINE.match(line):
                    self.time_base = Fraction(int(base[1]), int(base[2]))
                elif "Parsed_showinfo" not in line:
                    self._other.append(line)
        finally:
            self._frames.put(None)  # ffmpeg has ended: no more frames

    def next_frame(self) -> tuple[str, int, int] | None:
        """The next frame's (pts, width, height), waiting for ffmpeg; None once it has ended."""
        return self._frames.get()

    def other_text(self) -> str:
        self._thread.join()
        return "".join(self._other)

    def close(self) -> None:
        self._thread.join()
        self._stream.close()
