"""Fused (one ffmpeg per chunk) and unfused (one task per stage, through storage) agree."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import builtin_pipelines
from sprocket_cli.cli import app
from tests.media_checks import facts

runner = CliRunner()


def test_fused_and_unfused_give_identical_frames(clip: Path, tmp_path: Path) -> None:
    spec = json.loads(builtin_pipelines.path("filter").read_text())
    for node in spec["nodes"]:
        node["fuse"] = False
    unfused_spec = tmp_path / "unfused.json"
    unfused_spec.write_text(json.dumps(spec))

    outs = {}
    for name, spec_arg in (("fused", "filter"), ("unfused", str(unfused_spec))):
        outs[name] = tmp_path / f"{name}.mp4"
        result = runner.invoke(
            app,
            [
                "run", spec_arg, "--input", f"input_0={clip}", "-o", str(outs[name]),
                "--set", "filter.vf=hue=s=0", "--json", "--job-dir", str(tmp_path / "jobs"),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        started = json.loads(result.output.splitlines()[0])
        expected_groups = ["decode+filter+encode"] if name == "fused" else ["decode", "filter", "encode"]
        assert started["groups"] == expected_groups

    fused, unfused = facts(outs["fused"]), facts(outs["unfused"])
    assert fused.frames == facts(clip).frames
    assert fused.frame_hashes == unfused.frame_hashes
