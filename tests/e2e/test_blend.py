"""``sprocket blend`` end to end: frame-exact pairing by presentation time across chunks of
clips with different frame rates, keyframes, sizes and an offset; green screen; fused and
unfused runs giving the same frames; ``--duration``; clear errors."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

import builtin_pipelines
from sprocket_cli.cli import app
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.framecode import (
    BOTTOM,
    TOP,
    assert_every_frame,
    expected_frames,
    frame_times,
    make_framecode_clip,
    read_codes,
)
from tests.media_checks import facts

runner = CliRunner()
OFFSET = 0.52  # b's frames land exactly on every fifth of a's: ties are tested too


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("blend-e2e")


@pytest.fixture(scope="module")
def a25(clips: Path) -> Path:
    """4 s at 25 fps, a keyframe every 0.8 s, its frame index coded in the top half."""
    return make_framecode_clip(clips / "a25.mp4", seconds=4, fps=25, keyint=20, region=TOP)


@pytest.fixture(scope="module")
def b30(clips: Path) -> Path:
    """2.5 s at 30 fps, 192x144 (another size), a keyframe every 0.3 s, code in the bottom half."""
    return make_framecode_clip(
        clips / "b30.mp4", seconds=2.5, fps=30, keyint=9, size=(192, 144), region=BOTTOM
    )


def blend(a: Path, b: Path, out: Path, *extra: str) -> None:
    result = runner.invoke(
        app,
        ["blend", str(a), str(b), "-o", str(out), "-w", "2", "--chunk-seconds", "0.8",
         "--first-chunk-seconds", "0.8", "--job-dir", str(out.parent / "jobs"), "--json", *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_every_frame_pairs_by_presentation_time(a25: Path, b30: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    blend(a25, b30, out, "--mode", "lighten", "--opacity", "1", "--offset", str(OFFSET))
    expected = expected_frames(a25, b30, OFFSET)
    assert {b for _, (_, b) in expected} >= {None, 0, 74}  # before b, b's first and last frames
    assert_every_frame(read_codes(out, (TOP, BOTTOM)), expected)


def test_fused_and_unfused_give_the_same_frames(a25: Path, b30: Path, tmp_path: Path) -> None:
    fused = tmp_path / "fused.mp4"
    blend(a25, b30, fused, "--mode", "lighten", "--opacity", "1", "--offset", str(OFFSET))
    raw = json.loads(builtin_pipelines.path("blend").read_text(encoding="utf-8"))
    for node in raw["nodes"]:
        node["fuse"] = False  # the paper's mode: every node its own task, frames via storage
        if node["name"] == "blend":
            node["config"] = {"mode": "lighten", "opacity": 1, "offset": OFFSET}
    spec = tmp_path / "unfused.json"
    spec.write_text(json.dumps(raw), encoding="utf-8")
    unfused = tmp_path / "unfused.mp4"
    result = runner.invoke(
        app,
        ["run", str(spec), "--input", f"input_0={a25}", "--input", f"input_1={b30}", "-o", str(unfused),
         "-w", "2", "--chunk-seconds", "0.8", "--first-chunk-seconds", "0.8",
         "--job-dir", str(tmp_path / "jobs"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    groups = {json.loads(line)["group"] for line in result.output.splitlines() if '"task_finished"' in line}
    assert groups == {"decode_0", "decode_1", "blend", "encode"}
    assert facts(unfused).frame_hashes == facts(fused).frame_hashes


def test_green_screen_shows_the_other_clip_in_the_key_colour(a25: Path, clips: Path, tmp_path: Path) -> None:
    """b's top half is pure green over its code: keyed out, a's code (top half) shows there."""
    b = make_framecode_clip(
        clips / "b-green.mp4", seconds=2.5, fps=30, keyint=17, size=(192, 144), region=BOTTOM, green=TOP
    )
    out = tmp_path / "keyed.mp4"
    blend(a25, b, out, "--mode", "chroma", "--key-color", "0x00FF00", "--similarity", "0.3",
          "--opacity", "1", "--offset", str(OFFSET))  # fmt: skip
    assert_every_frame(read_codes(out, (TOP, BOTTOM)), expected_frames(a25, b, OFFSET))


@pytest.mark.parametrize("rule", ["shortest", "longest"])
def test_duration_rules_set_the_length(a25: Path, b30: Path, tmp_path: Path, rule: str) -> None:
    out = tmp_path / f"{rule}.mp4"
    offset = -1.0 if rule == "shortest" else 2.0  # b ends at 1.5 s of a, or at 4.5 s (after a)
    blend(a25, b30, out, "--mode", "lighten", "--opacity", "1", "--offset", str(offset), "--duration", rule)
    a_times = frame_times(a25)[0]
    b_end = frame_times(b30)[1] - frame_times(b30)[0][0] + Fraction(repr(offset))
    if rule == "shortest":
        expected = [f for f in expected_frames(a25, b30, offset) if f[0] - a_times[0] < b_end]
    else:
        expected = expected_frames(a25, b30, offset, end=a_times[0] + b_end)
    assert_every_frame(read_codes(out, (TOP, BOTTOM)), expected)
    assert len(expected) == (38 if rule == "shortest" else 113)  # 1.5 s and 4.5 s at 25 fps


def test_clear_errors(a25: Path, clips: Path, tmp_path: Path) -> None:
    audio_only = clips / "tone.m4a"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=d=1", "-y", str(audio_only)], check=True
    )
    cases = [
        ([str(a25), str(tmp_path / "missing.mp4")], 4, "missing.mp4: no such file"),
        ([str(a25), str(audio_only)], 4, "no video stream"),
        ([str(a25), str(a25), "--mode", "sparkle"], 2, "unknown blend mode 'sparkle'; valid modes:"),
        ([str(a25), str(a25), "--audio", "both"], 2, "--audio"),
    ]
    for args, code, message in cases:
        result = runner.invoke(app, ["blend", *args, "-o", str(tmp_path / "x.mp4")])
        assert result.exit_code == code, result.output
        assert message in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "x.mp4").exists()
