"""What the benchmarks share: running ffmpeg, timing a run (wall and CPU), counting frames,
printing a table."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import av

from sprocket_cli.media.ffmpeg import ffmpeg_exe

CACHE_DIR = Path(__file__).resolve().parent / ".cache"

#: ffmpeg's own lines of stderr kept in an error message.
_STDERR_TAIL = 15

T = TypeVar("T")


def cached_clip(seconds: int, size: str) -> Path:
    """A 25 fps testsrc2 clip with a tone and a keyframe every 2 s, made once and kept in
    :data:`CACHE_DIR` for later runs."""
    from sprocket_cli.media.testclip import make_test_clip

    path = CACHE_DIR / f"testsrc2_{size}_25fps_{seconds}s_k50_x264_aac.mp4"
    if not path.exists():
        CACHE_DIR.mkdir(exist_ok=True)
        make_test_clip(path, seconds=seconds, size=size, fps=25, keyint=50)
    return path


def sprocket_command() -> str:
    """The ``sprocket`` script pip installed beside this interpreter, else the one on PATH.

    Beside the interpreter first: a version manager's shim on PATH (pyenv's runs several bash
    scripts, 0.1 s and more) would count its own start-up as sprocket's.
    """
    beside = Path(sysconfig.get_path("scripts")) / "sprocket"
    exe = str(beside) if beside.is_file() else shutil.which("sprocket")
    if exe is None:
        raise SystemExit("the `sprocket` command is not installed (pip install -e .)")
    return exe


def run_checked(cmd: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (no shell), capturing output; exit with ffmpeg's message when it fails."""
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-_STDERR_TAIL:])
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n  {' '.join(cmd)}\n{tail}")
    return proc


def ffmpeg(*args: str) -> list[str]:
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]


def ffmpeg_version() -> str:
    out = run_checked([ffmpeg_exe(), "-version"], what="ffmpeg -version").stdout
    return out.splitlines()[0] if out else "?"


def nproc() -> str:
    exe = shutil.which("nproc")
    if exe:
        return subprocess.run([exe], capture_output=True, text=True, check=True).stdout.strip()
    return str(len(os.sched_getaffinity(0)))


@dataclass(frozen=True)
class Measured(Generic[T]):
    value: T
    wall: float
    """Seconds, end to end."""
    cpu: float
    """CPU-seconds (user + system) of every process the run started and waited for, and of
    theirs: ffmpeg, sprocket's workers and their ffmpeg."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(run: Callable[[], T]) -> Measured[T]:
    """Run ``run`` and time it. Its CPU is its child processes' (this process only waits),
    counted once they are reaped: ``run`` must wait for all of them before returning."""
    cpu, started = _children_cpu(), time.perf_counter()
    value = run()
    wall = time.perf_counter() - started
    return Measured(value, wall, _children_cpu() - cpu)


@dataclass(frozen=True)
class FrameCount:
    decoded: int
    declared: int
    """``stream.frames`` from the container (0 when it does not say)."""
    audio: bool


def count_frames(path: Path) -> FrameCount:
    """Decode the first video stream with PyAV and count the frames it yields."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        declared = stream.frames
        decoded = sum(1 for _ in container.decode(stream))
        has_audio = bool(container.streams.audio)
    return FrameCount(decoded=decoded, declared=declared, audio=has_audio)


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str], left: int = 1) -> None:
    """Fixed-width table; the first ``left`` columns left-aligned (names), the rest right (numbers)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            f"{c:<{w}}" if i < left else f"{c:>{w}}"
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
