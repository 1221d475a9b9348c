"""A user's own stage, loaded by ``module:Class`` from a folder on PYTHONPATH, runs end to end;
one that keeps state from frame to frame declares ``SERIALIZED`` (the original Sprocket's
serialized_frame_delivery_func) and gives the frames of one run over the whole video.

The stage draws a running frame counter: ffmpeg's ``geq`` with ``N``, the frames that filter
has seen, as the picture's brightness. Cut into chunks, every chunk's counter starts again
at 0; in playback order on one worker it counts the whole video, as plain ffmpeg does.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.stages.base import SERIALIZED_NOTICE
from tests.conftest import ClipMaker
from tests.e2e.test_fidelity import frames, plain_ffmpeg

COUNTER = "geq=lum=N:cb=128:cr=128"

USER_STAGES = f'''
from typing import ClassVar

from sprocket_cli.stages.base import Stage, StageConfig


class RunningCount(Stage[StageConfig]):
    """Each frame's brightness is the number of frames before it: state across frames."""

    NAME: ClassVar[str] = "running_count"
    DESCRIPTION: ClassVar[str] = "a running frame counter"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    SERIALIZED: ClassVar[bool] = True

    def contribute(self, config, command, chunk):
        command.add_filter("{COUNTER}")


class ChunkedCount(RunningCount):
    """The same counter, not declared serialized: each chunk counts from 0."""

    NAME: ClassVar[str] = "chunked_count"
    SERIALIZED: ClassVar[bool] = False
'''


@pytest.fixture
def user_stages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The module name of the user's stages, in a folder of its own on PYTHONPATH (the worker
    processes import it too)."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "counting_stages.py").write_text(textwrap.dedent(USER_STAGES), encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", str(folder))
    return "counting_stages"


def spec(stage: str, delivery: str | None = None) -> dict[str, Any]:
    counter: dict[str, Any] = {"name": "counter", "stage": stage}
    if delivery is not None:
        counter["delivery_function"] = delivery
    return {
        "nodes": [{"name": "decode", "stage": "decode"}, counter, {"name": "encode", "stage": "encode"}],
        "streams": [
            {"src": "input_0:chunks", "dst": "decode:chunks"},
            {"src": "decode:frames", "dst": "counter:frames"},
            {"src": "counter:frames", "dst": "encode:frames"},
            {"src": "encode:chunks", "dst": "output_0:chunks"},
        ],
    }


def run(pipespec: dict[str, Any], src: Path, tmp_path: Path, name: str) -> tuple[dict[str, Any], Path]:
    """The JobStarted event and the output of a lossless run in 1 s chunks."""
    path, out = tmp_path / f"{name}.json", tmp_path / f"{name}.mp4"
    path.write_text(json.dumps(pipespec), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["run", str(path), "-i", f"input_0={src}", "-o", str(out), "--set", "encode.crf=0",
         "--chunk-seconds", "1", "--first-chunk-seconds", "1", "--json", "--job-dir", str(tmp_path / "jobs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    started = next(json.loads(line) for line in result.output.splitlines() if '"job_started"' in line)
    return started, out


def test_a_serialized_user_stage_gives_the_frames_of_one_run_over_the_whole_video(
    user_stages: str, make_clip: ClipMaker, tmp_path: Path
) -> None:
    src = make_clip(seconds=5, size="160x90", fps="25", keyint=25, audio=False)
    want = plain_ffmpeg(src, COUNTER, tmp_path / "plain.mp4")

    chunked, chunked_out = run(spec(f"{user_stages}:ChunkedCount"), src, tmp_path, "chunked")
    assert chunked["chunks"] >= 4 and chunked["notices"] == [] and chunked["serialized"] == []
    got = frames(chunked_out)
    assert len(got) == len(want) and got != want  # the counter starts again in every chunk

    ordered, ordered_out = run(spec(f"{user_stages}:RunningCount"), src, tmp_path, "ordered")
    assert ordered["chunks"] == 1  # one task over the whole video, in playback order
    assert ordered["notices"] == [f"counter: {SERIALIZED_NOTICE}"]
    assert len(ordered["serialized"]) == 1 and "counter" in ordered["serialized"][0].split("+")
    assert frames(ordered_out) == want


def test_the_original_s_serialized_delivery_on_a_stage_that_keeps_no_state_is_refused(
    user_stages: str, tmp_path: Path
) -> None:
    path = tmp_path / "stream.pipe"
    path.write_text(json.dumps(spec(f"{user_stages}:ChunkedCount", "serialized_frame_delivery_func")))
    refused = CliRunner().invoke(app, ["validate", str(path)])
    assert refused.exit_code == 3
    assert "node 'counter'" in refused.output and "SERIALIZED = True" in refused.output
    path.write_text(json.dumps(spec(f"{user_stages}:RunningCount", "serialized_frame_delivery_func")))
    accepted = CliRunner().invoke(app, ["validate", str(path)], env={"COLUMNS": "200"})
    assert accepted.exit_code == 0, accepted.output


def test_sprocket_plan_plans_a_serialized_stage_as_one_task(user_stages: str, tmp_path: Path) -> None:
    said: dict[str, bool] = {}

    def local_wall(stage: str) -> float:
        path = tmp_path / f"{stage}.json"
        path.write_text(json.dumps(spec(f"{user_stages}:{stage}")))
        result = CliRunner().invoke(
            app,
            ["plan", "--pipeline", str(path), "--duration", "2m", "--size", "320x240",
             "--fps-per-core", "100", "--backend", "local", "-w", "4"],
            env={"COLUMNS": "200"},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        said[stage] = f"note: counter: {SERIALIZED_NOTICE}" in result.output
        return float(result.output.split("local (4 workers)")[1].split()[1].rstrip("s"))

    # Four workers share chunks of a stage that keeps no state; a serialized one is one task,
    # and the plan says why.
    assert local_wall("RunningCount") > 3 * local_wall("ChunkedCount")
    assert said == {"RunningCount": True, "ChunkedCount": False}
