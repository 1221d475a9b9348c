"""Bad and unusual inputs: a one-line error and a distinct exit code, or a correct output."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.media.ffmpeg import run_ffmpeg
from tests.conftest import ClipMaker
from tests.media_checks import facts

runner = CliRunner()


def gray(src: Path, tmp_path: Path) -> tuple[int, str, Path]:
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["filter", str(src), "--vf", "hue=s=0", "-o", str(out), "-w", "2"])
    return result.exit_code, result.output, out


def lavfi(tmp_path: Path, name: str, *args: str) -> Path:
    dest = tmp_path / name
    run_ffmpeg([*args, "-y", str(dest)], what=f"making {name}")
    return dest


def assert_one_line_error(code: int, output: str, expected_code: int, words: str) -> None:
    assert code == expected_code, output
    assert words in output
    assert "Traceback" not in output
    assert len(output.strip().splitlines()) == 1, output


def test_empty_file(tmp_path: Path) -> None:
    src = tmp_path / "empty.mp4"
    src.touch()
    code, output, out = gray(src, tmp_path)
    assert_one_line_error(code, output, 4, "empty")
    assert not out.exists()


def test_text_file_named_mp4(tmp_path: Path) -> None:
    src = tmp_path / "notes.mp4"
    src.write_text("these are my notes, not a video\n" * 50)
    code, output, _ = gray(src, tmp_path)
    assert_one_line_error(code, output, 4, "not a readable video")


def test_moov_missing(clip: Path, tmp_path: Path) -> None:
    # Without faststart the index (moov) is at the end: cutting the tail loses it.
    src = tmp_path / "cut.mp4"
    src.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    code, output, _ = gray(src, tmp_path)
    assert_one_line_error(code, output, 4, "cut.mp4")
    assert src.stat().st_size == clip.stat().st_size // 2  # the input is never modified


def test_audio_only(tmp_path: Path) -> None:
    src = lavfi(tmp_path, "tone.m4a", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac")
    code, output, _ = gray(src, tmp_path)
    assert_one_line_error(code, output, 4, "no video stream")


def test_output_folder_missing(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "nowhere" / "out.mp4"
    result = runner.invoke(app, ["filter", str(clip), "--vf", "hue=s=0", "-o", str(out)])
    assert_one_line_error(result.exit_code, result.output, 6, "does not exist")


@pytest.mark.parametrize(
    ("name", "args", "size"),
    [
        ("odd.mp4", ["-vf", "scale=175:143", "-pix_fmt", "yuv444p"], (174, 142)),
        ("ten-bit.mp4", ["-pix_fmt", "yuv420p10le"], (320, 240)),
    ],
    ids=["odd-size", "10-bit"],
)
def test_unusual_formats_give_correct_output(
    tmp_path: Path, name: str, args: list[str], size: tuple[int, int]
) -> None:
    src = lavfi(
        tmp_path, name, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3",
        *args, "-c:v", "libx264", "-g", "25",
    )  # fmt: skip
    code, output, out = gray(src, tmp_path)
    assert code == 0, output
    got = facts(out)
    assert (got.width, got.height) == size
    assert got.frames == 75
    assert got.max_saturation <= 2


def test_rotated_phone_video_is_turned_upright(clip: Path, tmp_path: Path) -> None:
    src = tmp_path / "phone.mp4"
    run_ffmpeg(["-display_rotation", "90", "-i", str(clip), "-c", "copy", "-y", str(src)], what="rotate")
    code, output, out = gray(src, tmp_path)
    assert code == 0, output
    got = facts(out)
    assert (got.width, got.height) == (240, 320)  # rotation applied to the pixels
    assert got.frames == facts(clip).frames


def test_variable_frame_rate(tmp_path: Path) -> None:
    # Drop every third frame: timestamps with gaps, as phones write when light is low.
    src = lavfi(
        tmp_path, "vfr.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=4",
        "-vf", "select='not(eq(mod(n,3),2))'", "-fps_mode", "vfr", "-c:v", "libx264", "-g", "30",
    )  # fmt: skip
    code, output, out = gray(src, tmp_path)
    assert code == 0, output
    src_facts, got = facts(src), facts(out)
    assert got.frames == src_facts.frames == 80
    assert got.duration == pytest.approx(src_facts.duration, abs=0.05)


def test_mpegts_starting_late_with_no_index(clip: Path, tmp_path: Path) -> None:
    # MPEG-TS has no sample index and its clock starts at 1.4 s, not 0.
    src = tmp_path / "camera.ts"
    run_ffmpeg(["-i", str(clip), "-c", "copy", "-f", "mpegts", "-y", str(src)], what="remux")
    code, output, out = gray(src, tmp_path)
    assert code == 0, output
    got, ref = facts(out), facts(clip)
    assert got.frames == ref.frames
    assert got.audio_duration == pytest.approx(ref.audio_duration, abs=0.05)


def test_raw_stream_without_timestamps(clip: Path, tmp_path: Path) -> None:
    src = tmp_path / "raw.h264"
    run_ffmpeg(["-i", str(clip), "-an", "-c:v", "copy", "-f", "h264", "-y", str(src)], what="raw")
    code, output, _ = gray(src, tmp_path)
    assert_one_line_error(code, output, 4, "no timestamps")


def test_data_cut_mid_stream(tmp_path: Path, make_clip: ClipMaker) -> None:
    # With the index first (faststart), a cut file still lists frames whose data is gone.
    whole = tmp_path / "whole.mp4"
    args = ["-i", str(make_clip(seconds=4)), "-c", "copy", "-movflags", "+faststart", "-y", str(whole)]
    run_ffmpeg(args, what="faststart")
    src = tmp_path / "cut.mp4"
    src.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])
    code, output, out = gray(src, tmp_path)
    if code == 0:  # what survives is processed, and no more
        got = facts(out)
        assert 0 < got.frames < 100
    else:
        assert_one_line_error(code, output, code, "cut.mp4")
        assert not out.exists()


def test_output_in_a_read_only_folder(clip: Path, tmpfs: Callable[[str], Path]) -> None:
    # A read-only mount refuses even root, unlike a chmod'ed folder.
    read_only_dir = tmpfs("ro,size=64k")
    result = runner.invoke(app, ["filter", str(clip), "--vf", "hue=s=0", "-o", str(read_only_dir / "o.mp4")])
    assert_one_line_error(result.exit_code, result.output, 6, "not writable")
