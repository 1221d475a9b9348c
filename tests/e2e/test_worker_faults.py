"""Worker faults on the local backend, with real processes: a killed coordinator takes its
workers and their ffmpeg along, a killed worker costs only its own task, ffmpeg dies with the
process that started it, and a runaway ``--workers`` is capped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.executors.local import WORKERS_PER_CORE, LocalExecutor, WorkerDied, usable_cores
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.tasks import Fault
from tests.conftest import ClipMaker
from tests.faultkit import (
    GONE_WITHIN,
    REACH_WITHIN,
    Event,
    Run,
    describe,
    gone,
    is_ffmpeg,
    wait_for_child,
    wait_gone,
)
from tests.media_checks import facts
from tests.tasks import gray_task

pytestmark = pytest.mark.timeout(240)
runner = CliRunner()


def test_a_killed_coordinator_takes_its_workers_and_their_ffmpeg_along(
    make_clip: ClipMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_clip(seconds=8, size="1280x720", keyint=25)  # veryslow chunks: ffmpeg runs a while
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    run = Run(
        ["filter", str(src), "--vf", "hue=s=0", "-o", str(tmp_path / "out.mp4"), "-w", "2",
         "--chunk-seconds", "2", "--preset", "veryslow", "--json", "--job-dir", str(tmp_path / "jobs")],
        env={**os.environ, "TMPDIR": str(scratch)},
    )  # fmt: skip
    coordinator = psutil.Process(run.proc.pid)
    family: list[psutil.Process] = []

    def encoding(_event: Event) -> bool:
        """Whether a worker runs ffmpeg: the job's whole family is up, ffmpeg children and all."""
        nonlocal family
        family = coordinator.children(recursive=True)
        workers = coordinator.children()
        return any(is_ffmpeg(p) and p not in workers for p in family)

    try:
        run.until(encoding)
        run.proc.kill()  # SIGKILL, the coordinator alone
        assert run.proc.wait(timeout=30) == -signal.SIGKILL
        left = wait_gone(family, GONE_WITHIN)
        assert not left, f"alive {GONE_WITHIN:g}s after the coordinator was killed: {describe(left)}"
    finally:
        run.kill(family)

    # The killed workers could not remove their temporary folders; the next executor does, and
    # the task folders were inside them, not loose in the temporary folder.
    leftovers = list(scratch.glob("sprocket-worker-*"))
    assert leftovers
    assert not list(scratch.glob("sprocket-task-*"))
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with LocalExecutor(1):
        pass
    assert [p for p in leftovers if p.exists()] == []


def test_a_killed_worker_fails_only_its_own_task(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=6, keyint=25)
    common = ["filter", str(src), "--vf", "hue=s=0", "-w", "2", "--chunk-seconds", "1", "--json"]
    reference = tmp_path / "reference.mp4"
    uninterrupted = runner.invoke(app, [*common, "-o", str(reference), "--job-dir", str(tmp_path / "ref")])
    assert uninterrupted.exit_code == 0, uninterrupted.output

    # Chunks 0 and 1 start together and both stall at first, so both are running when chunk 1's
    # worker is killed: chunk 1's stall is long (its retry does not stall), chunk 0's ends by
    # itself and the chunk goes on as usual.
    out = tmp_path / "out.mp4"
    run = Run([*common, "-o", str(out), "--job-dir", str(tmp_path / "jobs"),
               "--inject", "0:sleep=8", "--inject", "1:sleep=60"])  # fmt: skip
    running: dict[int, int] = {}  # chunk -> pid of the worker running it

    def both_running(event: Event) -> bool:
        if event["kind"] == "task_progress" and event["chunk"] in (0, 1):
            running[event["chunk"]] = int(event["worker"].rpartition(":")[2])
        return len(running) == 2

    try:
        run.until(both_running)
        assert running[0] != running[1]
        psutil.Process(running[1]).kill()  # SIGKILL
        assert run.finish() == 0, run.events[-3:]
    finally:
        run.kill()

    journal = Path(run.events[0]["job_dir"]) / "journal.jsonl"
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    failed = [e for e in events if e["kind"] == "task_failed"]
    assert [(e["chunk"], e["attempt"], e["will_retry"]) for e in failed] == [(1, 1, True)]
    assert f"worker process {running[1]} terminated abruptly (killed by SIGKILL)" in failed[0]["error"]
    finished = {e["chunk"]: e["attempt"] for e in events if e["kind"] == "task_finished"}
    assert finished == {0: 1, 1: 2, 2: 1, 3: 1, 4: 1, 5: 1}
    assert Counter(e["chunk"] for e in events if e["kind"] == "task_finished") == dict.fromkeys(range(6), 1)
    assert facts(out).frame_hashes == facts(reference).frame_hashes


def test_a_dead_worker_leaves_its_neighbour_running(clip: Path, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    with LocalExecutor(2) as executor:
        # The first task stalls for a minute; the second's worker kills itself as it starts.
        stalled = executor.submit(gray_task(clip, 0, Fault(chunk=0, sleep=60)), storage.spec())
        doomed = executor.submit(gray_task(clip, 1, Fault(chunk=1, kill=1)), storage.spec())
        with pytest.raises(WorkerDied, match=r"terminated abruptly \(killed by SIGKILL\)"):
            doomed.result(timeout=REACH_WITHIN)
        assert stalled.running()  # on its worker, unharmed
        # Its output appearing makes the stalled copy stop, as a copy does when another delivers.
        storage.put_bytes("stream/seg_00000.m4s", b"")
        assert stalled.result(timeout=REACH_WITHIN).superseded
        # The dead worker's slot has a fresh one: the task runs again there, and succeeds.
        again = executor.submit(gray_task(clip, 1), storage.spec()).result(timeout=REACH_WITHIN)
        assert again.frames == 50 and not again.superseded


def test_a_worker_killed_while_idle_is_replaced_without_a_failure(clip: Path, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    with LocalExecutor(1) as executor:
        # The worker announces itself with its first result.
        first = executor.submit(gray_task(clip, 0), storage.spec()).result(timeout=REACH_WITHIN)
        worker = psutil.Process(int(first.worker.rpartition(":")[2]))
        worker.kill()
        assert not wait_gone([worker], GONE_WITHIN)
        result = executor.submit(gray_task(clip, 1), storage.spec()).result(timeout=REACH_WITHIN)
        assert result.worker != first.worker and not result.superseded


@pytest.mark.parametrize("watched", [True, False], ids=["with-stop", "plain"])
def test_ffmpeg_dies_with_the_process_that_started_it(tmp_path: Path, watched: bool) -> None:
    # A child runs a ten-minute ffmpeg (-re: at the input's own pace) through run_ffmpeg, saying
    # so on stdout first. -nostats: writing stats to the dead child's pipe would kill it anyway.
    stop = "stop=lambda: False, " if watched else ""
    code = (
        "from sprocket_cli.media.ffmpeg import run_ffmpeg\n"
        "print('go', flush=True)\n"
        "run_ffmpeg(['-nostats', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=600', "
        f"'-f', 'null', '-'], {stop}what='long')\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    ffmpeg: list[psutil.Process] = []
    try:
        assert child.stdout is not None and child.stdout.readline() == "go\n"
        ffmpeg.append(wait_for_child(psutil.Process(child.pid), within=REACH_WITHIN))
        assert is_ffmpeg(ffmpeg[0])
        child.kill()
        child.wait(timeout=30)
        assert not wait_gone(ffmpeg, GONE_WITHIN), "ffmpeg outlived the process that started it"
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        for p in ffmpeg:
            if not gone(p):
                p.kill()


def test_a_runaway_worker_count_is_capped_with_a_notice(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = runner.invoke(
        app,
        ["filter", str(clip), "--vf", "hue=s=0", "-o", str(out), "-w", "100000", "--chunk-seconds", "1",
         "--json", "--job-dir", str(tmp_path / "jobs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    workers = events[0]["workers"]
    assert 1 <= workers <= WORKERS_PER_CORE * usable_cores()
    notes = [line for line in result.stderr.splitlines() if "--workers" in line]
    assert len(notes) == 1 and notes[0].startswith(f"note: --workers 100000 capped to {workers}: ")
    assert events[-1]["kind"] == "job_finished"
    assert facts(out).frames == facts(clip).frames
