"""Which ffmpeg to run, and running it without a shell."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence

from sprocket_cli.errors import FfmpegError

#: How many of ffmpeg's last stderr lines an error message keeps.
_ERROR_LINES = 3


#: Held while the binary is looked for, so that a caller waits for :func:`find_ffmpeg_soon`'s
#: look instead of running a second one.
_finding = threading.Lock()


def ffmpeg_exe() -> str:
    """The ffmpeg binary: ``$SPROCKET_FFMPEG`` if set, else imageio-ffmpeg's static build."""
    with _finding:
        return _ffmpeg_exe()


@functools.cache
def _ffmpeg_exe() -> str:
    chosen = os.environ.get("SPROCKET_FFMPEG")
    if chosen:
        return chosen
    import imageio_ffmpeg  # lazy: only needed when ffmpeg actually runs

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def find_ffmpeg_soon() -> None:
    """Find the binary on a side thread, beside this process's imports: imageio-ffmpeg checks
    the one it finds by running ``ffmpeg -version`` (0.04 s), which then costs no wall time."""
    threading.Thread(target=_find_quietly, name="find-ffmpeg", daemon=True).start()


def _find_quietly() -> None:
    with contextlib.suppress(Exception):  # a missing ffmpeg is said where it is first run
        ffmpeg_exe()


def filter_path(path: str) -> str:
    """A path as a filter option value (``:`` and ``\\`` are special there)."""
    return path.replace("\\", "\\\\").replace(":", "\\:")


#: prctl(2) option: the signal the kernel sends a process when the thread that started it ends.
_PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)

_Prctl = Callable[[int, int], int]


@functools.cache
def _prctl() -> _Prctl | None:
    """libc's prctl on Linux, looked up in the parent: a forked child must not load libraries."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: _Prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _die_with(parent: int, prctl: _Prctl) -> None:
    prctl(_PR_SET_PDEATHSIG, _SIGKILL)
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the request took hold: nobody wants our work


@functools.cache
def _pdeathsig_prefix() -> tuple[str, ...]:
    """``setpriv --pdeathsig KILL --`` where util-linux's setpriv is installed: it asks for
    the death signal, then execs ffmpeg in its place (same pid), with no Python between fork
    and exec. A ``preexec_fn`` runs Python in the forked child, which first tears down the
    other threads' states: a thread-local there that owns threads of its own deadlocks in its
    destructor (PyAV 16+ keeps a threaded swscale context per thread that converted a frame:
    find-face's ``--person`` image, read on the main thread, hung the first-frame check)."""
    exe = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return (exe, "--pdeathsig", "KILL", "--") if exe else ()


def _spawn(cmd: list[str]) -> tuple[list[str], Callable[[], None] | None]:
    """The argv and ``preexec_fn`` that start ``cmd`` so that it dies with this process."""
    prefix = _pdeathsig_prefix()
    return ([*prefix, *cmd], None) if prefix else (cmd, _dies_with_us())


def _dies_with_us() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes a child die with this process, or None where it cannot.

    It runs between fork and exec, where only what was prepared before the fork is safe to
    use: the pid and the prctl function are bound here, in the parent.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()
    return lambda: _die_with(parent, prctl)


#: Seconds between checks of a ``stop`` condition while ffmpeg runs.
STOP_POLL = 0.1


class Stopped(Exception):
    """ffmpeg was killed because its ``stop`` condition became true (its work is not needed)."""


def run_ffmpeg(
    args: Sequence[str],
    *,
    what: str,
    stop: Callable[[], bool] | None = None,
    on_frames: Callable[[int], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with ``args`` (no binary name); raise :class:`FfmpegError` naming ``what``.

    With ``stop``, ffmpeg is killed as soon as ``stop()`` is true, raising :class:`Stopped`:
    a duplicate of a task stops when another copy has delivered the result. ``on_frames`` is
    told the frames written so far, about every :data:`PROGRESS_PERIOD` seconds.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    if stop is None and on_frames is None:
        # ffmpeg dies with its caller: a killed worker or coordinator leaves no ffmpeg writing.
        argv, preexec = _spawn(cmd)
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, preexec_fn=preexec)
    else:
        proc = _run_watched(cmd, stop or (lambda: False), on_frames)
    if proc.returncode != 0:
        error = FfmpegError(f"{what}: {last_error_lines(proc.stderr)}")
        error.stderr = proc.stderr
        raise error
    return proc


#: Seconds between ffmpeg's progress reports.
PROGRESS_PERIOD = 0.5
_FRAME = re.compile(rb"^frame=(\d+)$", re.MULTILINE)


def _run_watched(
    cmd: list[str], stop: Callable[[], bool], on_frames: Callable[[int], None] | None
) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="sprocket-ffmpeg-") as tmp:
        progress = os.path.join(tmp, "progress")
        if on_frames is not None:
            # -progress writes key=value blocks to a file we read as it grows, instead of
            # parsing stderr, which must stay free for error messages.
            cmd = [cmd[0], "-progress", progress, "-stats_period", str(PROGRESS_PERIOD), *cmd[1:]]
        read = 0
        argv, preexec = _spawn(cmd)
        with subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec
        ) as proc:
            while True:
                try:
                    out, err = proc.communicate(timeout=STOP_POLL)
                    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
                except subprocess.TimeoutExpired:
                    if stop():
                        proc.kill()
                        proc.communicate()
                        raise Stopped from None
                    if on_frames is not None and os.path.exists(progress):
                        with open(progress, "rb") as f:
                            f.seek(read)
                            text = f.read()
                        whole = text[: text.rfind(b"\n") + 1]  # a line being written waits
                        read += len(whole)
                        frames = _FRAME.findall(whole)
                        if frames:
                            on_frames(int(frames[-1]))


#: A presigned URL's query (an s3:// input read in place): a credential, never to be shown or
#: journaled, though ffmpeg names the URL in its errors.
_SIGNED_QUERY = re.compile(r"\?[^\s'\"]*X-Amz-[^\s'\"]*")


def last_error_lines(stderr: str) -> str:
    """ffmpeg's last few meaningful stderr lines joined on one line, signed URLs unsigned."""
    unsigned = _SIGNED_QUERY.sub("?(signature removed)", stderr)
    lines = [ln.strip() for ln in unsigned.splitlines() if ln.strip()]
    return " | ".join(lines[-_ERROR_LINES:]) or "ffmpeg failed without a message"
