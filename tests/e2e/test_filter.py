"""``sprocket filter`` end to end on the local backend, asserting decoded properties."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.conftest import ClipMaker
from tests.media_checks import facts

runner = CliRunner()
FRAME = 1 / 25


def sprocket(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def run_filter(src: Path, vf: str, out: Path, *extra: str) -> None:
    code, output = sprocket(
        "filter", str(src), "--vf", vf, "-o", str(out), "-w", "2",
        "--job-dir", str(out.parent / "jobs"), *extra,
    )  # fmt: skip
    assert code == 0, output


def test_gray_keeps_frames_duration_and_audio(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "gray.mp4"
    run_filter(clip, "hue=s=0", out)
    src, got = facts(clip), facts(out)
    assert abs(got.frames - src.frames) <= 1
    assert got.duration == pytest.approx(src.duration, abs=FRAME)
    assert src.max_saturation > 50  # the test pattern is colourful...
    assert got.max_saturation <= 2  # ...and every output frame is gray
    assert src.audio_duration is not None and got.audio_duration is not None
    assert got.audio_duration == pytest.approx(src.audio_duration, abs=0.05)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not mkstemp's 0600


@pytest.mark.parametrize(
    ("vf", "size", "fps"),
    [
        ("scale=160:-2", (160, 120), 25),
        ("fps=10", (320, 240), 10),
        ("scale=200:150,hue=s=0,fps=15", (200, 150), 15),
    ],
)
def test_filters_that_change_size_and_rate(
    clip: Path, tmp_path: Path, vf: str, size: tuple[int, int], fps: int
) -> None:
    out = tmp_path / "out.mp4"
    run_filter(clip, vf, out)
    got = facts(out)
    assert (got.width, got.height) == size
    assert abs(got.frames - 4 * fps) <= 1
    assert got.duration == pytest.approx(4.0, abs=1 / fps)


def test_bad_filter_fails_fast_with_exit_2(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    code, output = sprocket("filter", str(clip), "--vf", "hue=s=0,nosuchfilter", "-o", str(out))
    assert code == 2
    assert "nosuchfilter" in output
    assert "Traceback" not in output
    assert not out.exists()
    assert not list((tmp_path / "xdg-data").glob("**/journal.jsonl"))  # no job was started


@pytest.mark.parametrize("keyint", [250, None], ids=["keyframe-every-10s", "only-one-keyframe"])
def test_sparse_keyframes_still_correct(make_clip: ClipMaker, tmp_path: Path, keyint: int | None) -> None:
    src_path = make_clip(seconds=6, keyint=keyint)
    out = tmp_path / "out.mp4"
    code, output = sprocket(
        "filter", str(src_path), "--vf", "hue=s=0", "-o", str(out), "-w", "2",
        "--chunk-seconds", "1.5", "--json", "--job-dir", str(tmp_path / "jobs"),
    )  # fmt: skip
    assert code == 0, output
    started = json.loads(output.splitlines()[0])
    assert started["chunks"] >= 3  # parallelism despite the missing keyframes
    assert started["preroll"] > 0  # and the plan says what it costs
    src, got = facts(src_path), facts(out)
    assert got.frames == src.frames
    assert got.max_saturation <= 2


def test_json_prints_the_event_stream(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    code, output = sprocket(
        "filter", str(clip), "--vf", "hue=s=0", "-o", str(out), "--json",
        "--job-dir", str(tmp_path / "jobs"),
    )  # fmt: skip
    assert code == 0, output
    events = [json.loads(line) for line in output.splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "job_started" and kinds[-1] == "job_finished"
    assert kinds.count("task_finished") == events[0]["chunks"]
    assert kinds.count("segment_ready") == events[0]["chunks"]
    journal = Path(events[0]["job_dir"]) / "journal.jsonl"
    assert [json.loads(line)["kind"] for line in journal.read_text().splitlines()] == kinds


def test_existing_output_is_not_overwritten(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    code, output = sprocket("filter", str(clip), "--vf", "hue=s=0", "-o", str(out))
    assert code != 0 and "--overwrite" in output
    assert out.read_bytes() == b"precious"
    run_filter(clip, "hue=s=0", out, "--overwrite")
    assert facts(out).frames == facts(clip).frames


def test_output_equal_to_input_is_refused(clip: Path, tmp_path: Path) -> None:
    copy = tmp_path / "in.mp4"
    copy.write_bytes(clip.read_bytes())
    code, output = sprocket("filter", str(copy), "--vf", "hue=s=0", "-o", str(copy), "--overwrite")
    assert code != 0 and "is the input" in output
    assert copy.read_bytes() == clip.read_bytes()


def test_missing_input_is_one_line(tmp_path: Path) -> None:
    code, output = sprocket("filter", str(tmp_path / "nope.mp4"), "--vf", "hue=s=0")
    assert code == 4
    assert "no such file" in output and "Traceback" not in output
