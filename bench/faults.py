"""Fault -> outcome (issue 15, "Must measure"): each fault injected into a real ``sprocket``
run on the local backend, and what it left: frames lost against an uninterrupted run of the
same command (the baseline, made first), processes of the job still alive, files outside the
job folder (its scratch TMPDIR and -o's folder, beyond the output and what was there before),
signed-URL text (``X-Amz-``) in the job folder and the output, the exit code and the first line
of what the command said on stderr.

Each scenario runs with its own TMPDIR, so that the processes of its job (workers, ffmpeg)
are found by their environment, wherever they were reparented.

    python -m bench.faults
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import psutil

from bench.benchkit import cached_clip, count_frames, print_table
from tests.interrupt import kill_after_chunk

#: Seconds the job's processes get to exit after its command has.
GONE_WITHIN = 20.0
CHUNKS = 8


@dataclass
class Scene:
    """One scenario's folders: the job folder's parent, -o's folder, the scratch TMPDIR."""

    root: Path

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

    def args(self, src: Path, *extra: str, vf: str = "hue=s=0") -> list[str]:
        return ["filter", str(src), "--vf", vf, "-o", str(self.out), "-w", "2", "--chunk-seconds", "1",
                "--json", "--job-dir", str(self.jobs), *extra]  # fmt: skip

    def sprocket(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sprocket_cli", *args], capture_output=True, text=True, env=self.env()
        )


@dataclass(frozen=True)
class Outcome:
    code: int
    said: str
    """All the command wrote (stdout and stderr), for the message and the secrets."""
    stderr: str


def _new_scene(base: Path, name: str) -> Scene:
    scene = Scene(base / name)
    for folder in (scene.jobs, scene.outdir, scene.scratch):
        folder.mkdir(parents=True)
    return scene


def _left_alive(scene: Scene) -> int:
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


def _files_left(scene: Scene, expected: set[Path]) -> int:
    found = {p for folder in (scene.scratch, scene.outdir) for p in folder.rglob("*") if p.is_file()}
    return len(found - expected)


def _secrets(scene: Scene, outcome: Outcome) -> int:
    files = [p for p in scene.jobs.rglob("*") if p.is_file() and b"X-Amz-" in p.read_bytes()]
    return len(files) + outcome.said.count("X-Amz-")


def _first_line(outcome: Outcome) -> str:
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    return lines[0][:90] if lines else "-"


def _frames_lost(scene: Scene, reference: int) -> str:
    if not scene.out.exists():
        return "no output"
    try:
        return str(reference - count_frames(scene.out).decoded)
    except av.error.FFmpegError:
        return "-o not a video"  # what was at -o before (a user's file) is still there


def _done(result: subprocess.CompletedProcess[str]) -> Outcome:
    return Outcome(result.returncode, result.stdout + result.stderr, result.stderr)


def kill_coordinator(after_chunk: int) -> Callable[[Scene, Path], Outcome]:
    """kill -9 of the coordinator's process group after ``after_chunk`` (a later chunk stalls
    so the kill lands first), then ``sprocket resume``."""

    def scenario(scene: Scene, src: Path) -> Outcome:
        stall = ["--inject", f"{after_chunk + 2}:sleep=60"] if after_chunk + 2 < CHUNKS else []
        job = kill_after_chunk(scene.args(src, *stall), after_chunk, env=scene.env())
        return _done(scene.sprocket("resume", job, "--json", "--job-dir", str(scene.jobs)))

    return scenario


def sigint(scene: Scene, src: Path) -> Outcome:
    """Ctrl-C once the first chunk is done (a later one stalls), then ``sprocket resume``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sprocket_cli", *scene.args(src, "--inject", "3:sleep=60")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=scene.env(),
    )  # fmt: skip
    assert proc.stdout is not None
    job = ""
    for line in proc.stdout:
        event = json.loads(line)
        job = job or event.get("job_id", "")
        if event["kind"] == "task_finished":
            proc.send_signal(signal.SIGINT)
            break
    proc.communicate(timeout=120)
    return _done(scene.sprocket("resume", job, "--json", "--job-dir", str(scene.jobs)))


def zero_frames(scene: Scene, src: Path) -> Outcome:
    return _done(scene.sprocket(*scene.args(src, vf="select=0")))


def runaway_workers(scene: Scene, src: Path) -> Outcome:
    args = scene.args(src)
    args[args.index("-w") + 1] = "100000"
    return _done(scene.sprocket(*args))


def two_jobs_one_output(scene: Scene, src: Path) -> Outcome:
    """A second job on the same -o while the first still holds it (stalled)."""
    first = subprocess.Popen(
        [sys.executable, "-m", "sprocket_cli", *scene.args(src, "--inject", "2:sleep=30")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=scene.env(),
    )  # fmt: skip
    assert first.stdout is not None
    for line in first.stdout:
        if '"task_finished"' in line:
            break
    second = scene.sprocket(*scene.args(src))
    first.communicate(timeout=180)
    return _done(second)


def resume_over_users_file(scene: Scene, src: Path) -> Outcome:
    """kill -9 mid-job; the user writes a file at -o; ``sprocket resume`` (no --overwrite)."""
    job = kill_after_chunk(scene.args(src, "--inject", "4:sleep=60"), 2, env=scene.env())
    scene.out.write_bytes(b"the user's own file")
    return _done(scene.sprocket("resume", job, "--json", "--job-dir", str(scene.jobs)))


SCENARIOS: list[tuple[str, Callable[[Scene, Path], Outcome]]] = [
    ("kill -9 coordinator after chunk 0, resume", kill_coordinator(0)),
    ("kill -9 coordinator after chunk 3, resume", kill_coordinator(3)),
    (f"kill -9 coordinator after chunk {CHUNKS - 1} (assembly), resume", kill_coordinator(CHUNKS - 1)),
    ("SIGINT after the first chunk, resume", sigint),
    ("zero-frame filter (select=0)", zero_frames),
    ("--workers 100000", runaway_workers),
    ("two jobs on one -o (the second)", two_jobs_one_output),
    ("resume over a user's file at -o", resume_over_users_file),
]


def main() -> None:
    src = cached_clip(CHUNKS, "320x240")
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        base = Path(tmp)
        baseline = _new_scene(base, "baseline")
        done = baseline.sprocket(*baseline.args(src))
        if done.returncode != 0:
            raise SystemExit(f"the uninterrupted run failed: {done.stderr.strip()}")
        reference = count_frames(baseline.out).decoded
        rows = []
        for i, (name, scenario) in enumerate(SCENARIOS):
            scene = _new_scene(base, f"s{i}")
            before = {p for p in scene.outdir.rglob("*") if p.is_file()}
            outcome = scenario(scene, src)
            kept = {scene.out} if scene.out.exists() else set()
            rows.append([
                name, _frames_lost(scene, reference), str(_left_alive(scene)),
                str(_files_left(scene, before | kept)), str(_secrets(scene, outcome)),
                str(outcome.code), _first_line(outcome),
            ])  # fmt: skip
    print(f"source: {src.name}, {reference} frames; baseline: the same command uninterrupted")
    print(f"load average at the end: {os.getloadavg()}")
    header = ["fault", "frames lost", "procs left", "files left", "secrets", "exit", "message (first line)"]
    print_table(rows, header)


if __name__ == "__main__":
    main()
