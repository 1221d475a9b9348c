"""A failure that would repeat, on Lambda: the built bundle reports it as such (no frames, a
filter's or the encoder's error), and the job fails once, in the line a local run gives,
with no chunk invoked twice. The bundle runs behind the local Invoke endpoint."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.lambda_endpoint import LocalLambda

runner = CliRunner()


def _fail(clip: Path, vf: str, out: Path, *backend: str) -> tuple[int, list[str], list[dict[str, object]]]:
    """Exit code, ``error:`` lines and ``task_failed`` events of a ``sprocket filter`` run."""
    result = runner.invoke(
        app,
        ["filter", str(clip), "--vf", vf, "-o", str(out), "--chunk-seconds", "1", "-w", "2", *backend,
         "--json", "--job-dir", str(out.parent / "jobs")],
    )  # fmt: skip
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    failed = [json.loads(line) for line in lines if '"task_failed"' in line]
    return result.exit_code, [line for line in lines if line.startswith("error:")], failed


def test_no_frames_on_lambda_fails_once_as_it_does_locally(
    deployed: LocalLambda, clip: Path, tmp_path: Path
) -> None:
    (tmp_path / "local").mkdir()
    (tmp_path / "lambda").mkdir()
    local = _fail(clip, "select=0", tmp_path / "local" / "out.mp4")
    remote = _fail(clip, "select=0", tmp_path / "lambda" / "out.mp4", "--backend", "lambda")
    assert local[0] == remote[0] == 8, remote
    assert len(remote[1]) == 1 and remote[1] == local[1]
    assert "left no frame to encode" in remote[1][0]
    assert [e["will_retry"] for e in remote[2]] == [False] * len(remote[2]) and remote[2]
    tasks = [i.event["task"] for i in deployed.runs if i.event and "task" in i.event]
    per_chunk = Counter(task["chunk"]["index"] for task in tasks)
    assert per_chunk and set(per_chunk.values()) == {1}, per_chunk
    assert not (tmp_path / "lambda" / "out.mp4").exists()
