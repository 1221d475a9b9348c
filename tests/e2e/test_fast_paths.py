"""What makes a job fast, checked as behaviour (bench/filter_vs_ffmpeg.py measures the speed):
workers are started once and reused across tasks, and the job says where its time went (the
tail plan is checked in tests/unit/test_chunking.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.events import Breakdown
from tests.conftest import ClipMaker

runner = CliRunner()

SLOT_FIELDS = [name for name in Breakdown.PARTS if name not in Breakdown.WALL_PARTS]


def gray(clip: Path, tmp_path: Path, *extra: str) -> str:
    result = runner.invoke(
        app,
        [
            "filter", str(clip), "--vf", "hue=s=0", "-o", str(tmp_path / "gray.mp4"), "-w", "2",
            "--job-dir", str(tmp_path / "jobs"), *extra,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def events(make_clip: ClipMaker, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """One job of four 2 s chunks on two workers, as its --json lines."""
    clip, tmp = make_clip(seconds=8), tmp_path_factory.mktemp("fast")
    with pytest.MonkeyPatch.context() as patch:  # as conftest's isolation, for the module
        patch.setenv("XDG_DATA_HOME", str(tmp / "xdg-data"))
        output = gray(clip, tmp, "--chunk-seconds", "2", "--json")
    return [json.loads(line) for line in output.splitlines()]


def test_a_worker_process_runs_several_tasks(events: list[dict[str, Any]]) -> None:
    workers = [e["worker"] for e in events if e["kind"] == "task_finished"]
    assert len(workers) == 4
    assert len(set(workers)) == 2  # two processes started, each reused: a pid seen twice
    assert all(int(w.rpartition(":")[2]) != os.getpid() for w in workers)


def test_the_job_says_where_its_time_went(events: list[dict[str, Any]]) -> None:
    finished = events[-1]
    b = finished["breakdown"]
    assert b["slots"] == 2 and b["cores"] == len(os.sched_getaffinity(0))
    assert sum(b[name] for name in SLOT_FIELDS) == pytest.approx(b["slots"] * b["work"], rel=1e-6)
    assert b["work"] + b["assembly"] == pytest.approx(finished["wall"])
    reported = sum(e["compute"] for e in events if e["kind"] == "task_finished")
    assert b["compute"] >= reported > 0
    assert b["cpu"] > 0 and 0 < b["utilisation"] <= 1.01  # rusage counts in clock ticks


def test_the_summary_names_utilisation_and_the_largest_loss(clip: Path, tmp_path: Path) -> None:
    output = gray(clip, tmp_path)
    assert "cores busy; largest loss:" in " ".join(output.split())
