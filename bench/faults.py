"""Fault -> outcome (issue 15, "Must measure"): each fault injected into a real ``sprocket``
run on the local backend, and what it left: frames lost against an uninterrupted run of the
same command (the baseline, made first), processes of the job still alive, files outside the
job folder (its scratch TMPDIR and -o's folder, beyond the output and what was there before),
signed-URL text (``X-Amz-``) in the job folder and the output, the exit code and the first line
of what the command said on stderr.

Each scenario runs with its own TMPDIR, so that the processes of its job (workers, ffmpeg)
are found by their environment, wherever they were reparented. The scenarios here need only a
command line and a kill; those that need more (a worker or its ffmpeg killed, a full disk, an
``s3://`` input) are in :mod:`bench.faultcases`, and the stream server's rows (malformed
requests, foreign Host names) in :mod:`bench.faultserver`. Root is needed: the full disks are
tmpfs mounts.

    python -m bench.faults
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.benchkit import cached_clip, count_frames, print_table
from bench.faultcases import MORE_SCENARIOS
from bench.faultscene import (
    CHUNKS,
    Baseline,
    Outcome,
    Scenario,
    Scene,
    done,
    files_left,
    first_line,
    frames_lost,
    left_alive,
    new_scene,
    secrets,
)
from bench.faultserver import server_rows
from tests.interrupt import kill_after_chunk


def kill_coordinator(after_chunk: int) -> Scenario:
    """kill -9 of the coordinator's process group after ``after_chunk`` (a later chunk stalls
    so the kill lands first), then ``sprocket resume``."""

    def scenario(scene: Scene, base: Baseline) -> Outcome:
        stall = ["--inject", f"{after_chunk + 2}:sleep=60"] if after_chunk + 2 < CHUNKS else []
        job = kill_after_chunk(scene.args(base.src, *stall), after_chunk, env=scene.env())
        return done(scene.sprocket("resume", job, "--json", "--job-dir", str(scene.jobs)))

    return scenario


def sigint(scene: Scene, base: Baseline) -> Outcome:
    """Ctrl-C once the first chunk is done (a later one stalls), then ``sprocket resume``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sprocket_cli", *scene.args(base.src, "--inject", "3:sleep=60")],
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
    return done(scene.sprocket("resume", job, "--json", "--job-dir", str(scene.jobs)))


def zero_frames(scene: Scene, base: Baseline) -> Outcome:
    return done(scene.sprocket(*scene.args(base.src, vf="select=0")))


def runaway_workers(scene: Scene, base: Baseline) -> Outcome:
    args = scene.args(base.src)
    args[args.index("-w") + 1] = "100000"
    return done(scene.sprocket(*args))


def two_jobs_one_output(scene: Scene, base: Baseline) -> Outcome:
    """A second job on the same -o while the first still holds it (stalled)."""
    first = subprocess.Popen(
        [sys.executable, "-m", "sprocket_cli", *scene.args(base.src, "--inject", "2:sleep=30")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=scene.env(),
    )  # fmt: skip
    assert first.stdout is not None
    for line in first.stdout:
        if '"task_finished"' in line:
            break
    second = scene.sprocket(*scene.args(base.src))
    first.communicate(timeout=180)
    return done(second)


def resume_over_users_file(scene: Scene, base: Baseline) -> Outcome:
    """kill -9 mid-job; the user writes a file at -o; ``sprocket resume`` (no --overwrite)."""
    job = kill_after_chunk(scene.args(base.src, "--inject", "4:sleep=60"), 2, env=scene.env())
    scene.out.write_bytes(b"the user's own file")
    return done(scene.sprocket("resume", job, "--json", "--job-dir", str(scene.jobs)))


SCENARIOS: list[tuple[str, Scenario]] = [
    ("kill -9 coordinator after chunk 0, resume", kill_coordinator(0)),
    ("kill -9 coordinator after chunk 3, resume", kill_coordinator(3)),
    (f"kill -9 coordinator after chunk {CHUNKS - 1} (assembly), resume", kill_coordinator(CHUNKS - 1)),
    ("SIGINT after the first chunk, resume", sigint),
    ("zero-frame filter (select=0)", zero_frames),
    ("--workers 100000", runaway_workers),
    ("two jobs on one -o (the second)", two_jobs_one_output),
    ("resume over a user's file at -o", resume_over_users_file),
]


def _row(name: str, scenario: Scenario, scene: Scene, base: Baseline) -> list[str]:
    """Run one scenario in ``scene`` and measure what it left, its mounts unmounted after."""
    try:
        before = {p for p in scene.outdir.rglob("*") if p.is_file()}
        outcome = scenario(scene, base)
        kept = {scene.out} if scene.out.exists() else set()
        return [
            name, frames_lost(scene, base.frames), str(left_alive(scene)),
            str(files_left(scene, before | kept)), str(secrets(scene, outcome)),
            str(outcome.code), first_line(scene, outcome),
        ]  # fmt: skip
    finally:
        scene.unmount()


def main() -> None:
    src = cached_clip(CHUNKS, "320x240")
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        root = Path(tmp)
        baseline = new_scene(root, "baseline")
        ran = baseline.sprocket(*baseline.args(src))
        if ran.returncode != 0:
            raise SystemExit(f"the uninterrupted run failed: {ran.stderr.strip()}")
        base = Baseline(src, baseline.jobs, count_frames(baseline.out).decoded)
        rows = [
            _row(name, scenario, new_scene(root, f"s{i}"), base)
            for i, (name, scenario) in enumerate(SCENARIOS + MORE_SCENARIOS)
        ]
        (job_dir,) = baseline.jobs.iterdir()
        rows += server_rows(job_dir)
    print(f"source: {src.name}, {base.frames} frames; baseline: the same command uninterrupted")
    print(f"load average at the end: {os.getloadavg()}")
    header = ["fault", "frames lost", "procs left", "files left", "secrets", "exit", "message (first line)"]
    print_table(rows, header)


if __name__ == "__main__":
    main()
