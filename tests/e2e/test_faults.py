"""Injected faults: failed attempts and killed workers are retried; exhausted retries fail
the job with the chunk, the stage and the last error, and leave no output behind."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.conftest import ClipMaker
from tests.media_checks import facts

runner = CliRunner()


def run(src: Path, out: Path, *extra: str) -> tuple[int, list[dict[str, object]], str]:
    result = runner.invoke(
        app,
        ["filter", str(src), "--vf", "hue=s=0", "-o", str(out), "-w", "2", "--chunk-seconds", "1",
         "--json", "--job-dir", str(out.parent / "jobs"), *extra],
    )  # fmt: skip
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return result.exit_code, events, result.output


def test_failed_attempts_are_retried(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=4, keyint=25)
    code, events, output = run(src, tmp_path / "out.mp4", "--inject", "1:fail=2")
    assert code == 0, output
    failures = [e for e in events if e["kind"] == "task_failed"]
    assert [(e["chunk"], e["attempt"], e["will_retry"]) for e in failures] == [(1, 1, True), (1, 2, True)]
    assert "injected failure" in str(failures[0]["error"])
    assert [e["attempt"] for e in events if e["kind"] == "task_finished" and e["chunk"] == 1] == [3]
    assert facts(tmp_path / "out.mp4").frames == facts(src).frames


def test_a_killed_worker_is_replaced_and_its_task_retried(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=4, keyint=25)
    code, events, output = run(src, tmp_path / "out.mp4", "--inject", "2:kill=1")
    assert code == 0, output
    failed = [e for e in events if e["kind"] == "task_failed"]
    assert any(e["chunk"] == 2 and "terminated abruptly" in str(e["error"]) for e in failed)
    finished = [e["chunk"] for e in events if e["kind"] == "task_finished"]
    assert sorted(finished) == [0, 1, 2, 3]  # each chunk exactly once
    got = facts(tmp_path / "out.mp4")
    assert got.frames == facts(src).frames and got.max_saturation <= 2


def test_exhausted_retries_fail_the_job_clearly(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=4, keyint=25)
    out = tmp_path / "out.mp4"
    code, events, _ = run(src, out, "--inject", "3:fail=9", "--retries", "2")
    assert code == 8
    last = events[-1]
    assert last["kind"] == "job_failed"
    assert "chunk 3" in str(last["error"]) and "decode+filter+encode" in str(last["error"])
    assert "injected failure" in str(last["error"])
    assert not out.exists()
    assert not list(tmp_path.glob(".out.mp4.*"))  # no temporary left either
    journal = Path(str(events[0]["job_dir"])) / "journal.jsonl"
    assert json.loads(journal.read_text().splitlines()[-1])["kind"] == "job_failed"


def test_bad_inject_spec_is_a_usage_error(clip: Path, tmp_path: Path) -> None:
    code, _, output = run(clip, tmp_path / "out.mp4", "--inject", "one:explode=yes")
    assert code == 2 and "--inject" in output


def test_a_hung_task_times_out_and_is_retried(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=4, keyint=25)
    # Chunk 1's first copy hangs for a minute; the retry's result makes it stop.
    code, events, output = run(src, tmp_path / "out.mp4", "--inject", "1:sleep=60", "--task-timeout", "3")
    assert code == 0, output
    failed = [e for e in events if e["kind"] == "task_failed"]
    assert [(e["chunk"], e["will_retry"]) for e in failed] == [(1, True)]
    assert "no result after 3s" in str(failed[0]["error"])
    assert Counter(e["chunk"] for e in events if e["kind"] == "task_finished") == dict.fromkeys(range(4), 1)
    assert facts(tmp_path / "out.mp4").frames == facts(src).frames
