"""One fault scenario's stage for ``bench.faults``: its own folders and TMPDIR, the ``sprocket``
commands run in it, and what it left behind once the commands are done."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import psutil

from bench.benchkit import count_frames
from tests.faultkit import GONE_WITHIN, mount_tmpfs, umount

CHUNKS = 8
"""Seconds of source, one chunk each."""


@dataclass(frozen=True)
class Baseline:
    """The source and the uninterrupted run every scenario is compared with."""

    src: Path
    jobs: Path
    """The uninterrupted run's job folders' parent."""
    frames: int


@dataclass
class Scene:
    """One scenario's folders: the job folder's parent, -o's folder, the scratch TMPDIR."""

    root: Path
    mounts: list[Path] = field(default_factory=list)

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def outdir(self) -> Path:
        return self.root / "out"

    @property
    def scratch(self) -> Path:
        return self.root / "tmp"

    @property
    def out(self) -> Path:
        return self.outdir / "out.mp4"

    def env(self) -> dict[str, str]:
        return {**os.environ, "TMPDIR": str(self.scratch)}

    def args(self, src: Path | str, *extra: str, vf: str = "hue=s=0") -> list[str]:
        return ["filter", str(src), "--vf", vf, "-o", str(self.out), "-w", "2", "--chunk-seconds", "1",
                "--json", "--job-dir", str(self.jobs), *extra]  # fmt: skip

    def sprocket(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sprocket_cli", *args],
            capture_output=True,
            text=True,
            env=env or self.env(),
        )

    def fill(self, folder: Path, kib: int) -> None:
        """Put ``folder`` on a tmpfs of ``kib`` KiB, unmounted by :meth:`unmount`."""
        refused = mount_tmpfs(folder, f"size={kib}k")
        if refused is not None:
            raise SystemExit(f"cannot mount a tmpfs on {folder} (root is needed): {refused}")
        self.mounts.append(folder)

    def unmount(self) -> None:
        for folder in self.mounts:
            umount(folder)


@dataclass(frozen=True)
class Outcome:
    code: int
    said: str
    """All the command wrote (stdout and stderr), for the message and the secrets."""
    stderr: str


Scenario = Callable[[Scene, Baseline], Outcome]


def new_scene(base: Path, name: str) -> Scene:
    scene = Scene(base / name)
    for folder in (scene.jobs, scene.outdir, scene.scratch):
        folder.mkdir(parents=True)
    return scene


def done(result: subprocess.CompletedProcess[str]) -> Outcome:
    return Outcome(result.returncode, result.stdout + result.stderr, result.stderr)


def left_alive(scene: Scene) -> int:
    """Processes still running with this scenario's TMPDIR, after waiting for them a while."""
    deadline = time.monotonic() + GONE_WITHIN
    while True:
        alive = []
        for p in psutil.process_iter():
            try:
                if p.environ().get("TMPDIR") == str(scene.scratch) and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.Error:
                continue
        if not alive or time.monotonic() > deadline:
            for p in alive:  # leave the machine as it was for the next scenario
                p.kill()
            return len(alive)
        psutil.wait_procs(alive, timeout=0.5)


def files_left(scene: Scene, expected: set[Path]) -> int:
    found = {p for folder in (scene.scratch, scene.outdir) for p in folder.rglob("*") if p.is_file()}
    return len(found - expected)


def secrets(scene: Scene, outcome: Outcome) -> int:
    files = [p for p in scene.jobs.rglob("*") if p.is_file() and b"X-Amz-" in p.read_bytes()]
    return len(files) + outcome.said.count("X-Amz-")


def first_line(scene: Scene, outcome: Outcome) -> str:
    """The first error line on stderr, else its first line (a notice); the scenario's folder
    shown as ``…`` so that what the message says about it fits."""
    lines = [line.replace(str(scene.root), "…") for line in outcome.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["-"])[0][:100]


def frames_lost(scene: Scene, reference: int) -> str:
    if not scene.out.exists():
        return "no output"
    try:
        return str(reference - count_frames(scene.out).decoded)
    except av.error.FFmpegError:
        return "-o not a video"  # what was at -o before (a user's file) is still there
