"""Straggler strategies: a chunk made slow still gives correct output, each chunk's segment
is delivered exactly once, and the strategy's extra copies show in the events."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.conftest import ClipMaker
from tests.media_checks import facts

runner = CliRunner()
SLOW = 2  # the chunk whose first copy stalls


def run(src: Path, out: Path, strategy: str) -> list[dict[str, object]]:
    result = runner.invoke(
        app,
        ["filter", str(src), "--vf", "hue=s=0", "-o", str(out), "-w", "2", "--chunk-seconds", "1",
         "--stragglers", strategy, "--speculate-after", "1.5", "--inject", f"{SLOW}:sleep=60",
         "--json", "--job-dir", str(out.parent / "jobs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("strategy", ["clone", "speculative", "gop-pair"])
def test_strategy_beats_a_straggler_with_correct_output(
    make_clip: ClipMaker, tmp_path: Path, strategy: str
) -> None:
    src = make_clip(seconds=6, keyint=25)
    out = tmp_path / "out.mp4"
    events = run(src, out, strategy)  # the straggler sleeps 60 s: finishing at all proves it

    delivered = Counter(e["chunk"] for e in events if e["kind"] == "task_finished")
    assert delivered == dict.fromkeys(range(6), 1)  # every chunk's segment exactly once
    assert [e["index"] for e in events if e["kind"] == "segment_ready"] == list(range(6))
    lost = [e for e in events if e["kind"] == "task_superseded"]
    assert any(e["chunk"] == SLOW and e["copy"] == 0 for e in lost)  # the straggler gave way

    started = [e for e in events if e["kind"] == "task_started"]
    if strategy == "clone":  # two copies of every chunk queued; a copy whose twin delivered before
        # it reached a worker is dropped unstarted, so only the straggler's twin must have started
        queued = Counter(e["chunk"] for e in events if e["kind"] == "task_queued")
        assert queued == dict.fromkeys(range(6), 2)
        assert {e["copy"] for e in started if e["chunk"] == SLOW} == {0, 1}
    elif strategy == "speculative":
        assert [e["chunk"] for e in started if e["copy"] == 1] == [SLOW]
    else:
        assert len(started) == 6  # no extra tasks: the partner finished the slow half

    src_facts, got = facts(src), facts(out)
    assert got.frames == src_facts.frames
    assert got.max_saturation <= 2
    assert got.audio_duration == pytest.approx(src_facts.audio_duration, abs=0.05)
