"""The chunks' cost in bytes in ``sprocket plan``, the job summary and the journal, and the
``--target-vmaf`` line naming chunks its encoder's lowest quality leaves above the target."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.cli.render import quality_line
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.conftest import ClipMaker

runner = CliRunner()
WIDE = {"COLUMNS": "250"}  # one line per row, as a wide terminal shows them
#: A video that is not here, in 2 s chunks on keyframes; timing skipped.
PLAN = ["plan", "--duration", "60s", "--size", "320x240", "--keyframe-seconds", "1"]
PLAN += ["--chunk-seconds", "2", "--fps-per-core", "100", "--backend", "local", "-w", "2"]
X264_2S = "~-0.1 % bytes at equal quality vs one whole-file encode (libx264, 2.0 s chunks)"


def _text(output: str) -> str:
    return " ".join(output.split())


def test_plan_says_what_its_chunks_cost_x264() -> None:
    result = runner.invoke(app, PLAN, env=WIDE)
    assert result.exit_code == 0, result.output
    assert f"chunking: {X264_2S}" in _text(result.output)


@pytest.mark.parametrize(
    ("codec", "said"),
    [
        ("prores", "chunking: 0 % bytes: prores_ks codes every frame on its own, so chunks cost nothing"),
        ("libaom-av1", "chunking: bytes at equal quality vs one whole-file encode not measured (libaom-av1"),
        ("x265", "chunking: ~+1.3 % bytes at equal quality vs one whole-file encode (libx265, 2.0 s chunks;"),
    ],
)
def test_plan_with_another_codec(codec: str, said: str) -> None:
    result = runner.invoke(app, [*PLAN, "--codec", codec], env=WIDE)
    assert result.exit_code == 0, result.output
    assert said in _text(result.output)


def test_plan_refuses_an_unknown_codec_in_one_line() -> None:
    result = runner.invoke(app, [*PLAN, "--codec", "nonsense"])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: --codec 'nonsense' is no video encoder")
    assert len(result.stderr.strip().splitlines()) == 1


def test_summary_and_journal_carry_the_figure(make_clip: ClipMaker, tmp_path: Path) -> None:
    clip = make_clip(seconds=4, keyint=50)  # two 2 s chunks on keyframes
    args = ["filter", str(clip), "--vf", "null", "-o", str(tmp_path / "out.mp4"), "-w", "2"]
    args += ["--chunk-seconds", "2", "--first-chunk-seconds", "2", "--job-dir", str(tmp_path / "jobs")]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    assert f"chunking {X264_2S}" in _text(result.stderr)
    (journal,) = (tmp_path / "jobs").glob("*/journal.jsonl")
    started = json.loads(journal.read_text().splitlines()[0])
    assert started["kind"] == "job_started"
    cost = started["chunk_cost"]
    assert (cost["encoder"], cost["chunks"], cost["seconds"]) == ("libx264", 2, 2.0)
    assert cost["percent"] == pytest.approx(-0.09)


def test_quality_line_names_chunks_above_the_target_at_the_top_crf() -> None:
    quality = {0: (63.0, 93.8), 1: (63.0, 95.1), 2: (41.0, 90.2)}
    line = quality_line(quality, "libsvtav1", 90.0)
    assert line.startswith("crf 41-63, VMAF 90.2-95.1 over 3 chunks")
    assert line.endswith(
        "; 2 chunks stay above the target at crf 63, libsvtav1's lowest quality (VMAF 93.8-95.1)"
    )
    assert "lowest quality" not in quality_line({0: (41.0, 90.2), 1: (50.0, 90.1)}, "libsvtav1", 90.0)
    # x264's scale ends at 51.
    assert "1 chunk stays above the target at crf 51" in quality_line({0: (51.0, 96.0)}, "libx264", 90.0)


def test_a_still_picture_stays_above_the_target_at_svt_av1s_top_crf(tmp_path: Path) -> None:
    bars = tmp_path / "bars.mp4"
    make = ["-f", "lavfi", "-i", "smptehdbars=s=320x180:r=25:d=2", "-c:v", "libx264", "-crf", "12"]
    make += ["-g", "25", "-pix_fmt", "yuv420p", str(bars)]
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *make], check=True)
    args = ["filter", str(bars), "--vf", "null", "--codec", "av1", "--target-vmaf", "90"]
    args += ["-o", str(tmp_path / "out.mp4"), "--chunk-seconds", "1", "--first-chunk-seconds", "1", "-w", "2"]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 0, result.output
    text = _text(result.stderr)
    assert "crf 63-63," in text  # still bars reach VMAF 90 even at the top crf
    assert "2 chunks stay above the target at crf 63, libsvtav1's lowest quality (VMAF" in text
    assert "chunking ~+1.6 % bytes at equal quality vs one whole-file encode (libsvtav1, 1.0 s chunks" in text
