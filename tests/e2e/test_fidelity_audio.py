"""``--af`` against plain ``ffmpeg -af``: the same decoded samples, whole-track filters included."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from sprocket_cli.plan.speed import atempo_chain
from tests.conftest import ClipMaker
from tests.media_checks import facts

runner = CliRunner()


def audio_md5(path: Path) -> tuple[str, int]:
    """MD5 of the decoded samples of the first audio track, and how many audio frames."""
    base = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:a:0"]
    digest = subprocess.run([*base, "-f", "md5", "-"], capture_output=True, text=True, check=True).stdout
    listing = subprocess.run([*base, "-f", "framemd5", "-"], capture_output=True, text=True, check=True)
    return digest.strip(), sum(1 for line in listing.stdout.splitlines() if not line.startswith("#"))


def run(src: Path, dest: Path, *args: str) -> None:
    result = runner.invoke(
        app, ["filter", str(src), "-o", str(dest), "-w", "2", "--chunk-seconds", "1",
              "--job-dir", str(dest.parent / "jobs"), *args],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("af", ["loudnorm", "volume=0.5,highpass=f=300", "atempo=2"])
def test_audio_filters_match_plain_ffmpeg(make_clip: ClipMaker, tmp_path: Path, af: str) -> None:
    src = make_clip(seconds=4)
    plain = tmp_path / "plain.m4a"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(src), "-vn", "-af", af,
         "-c:a", "aac", "-b:a", "192k", "-y", str(plain)],
        check=True,
    )  # fmt: skip
    out = tmp_path / "out.mp4"
    run(src, out, "--vf", "hue=s=0", "--af", af)
    assert audio_md5(out) == audio_md5(plain)
    assert facts(out).frames == facts(src).frames  # the picture keeps its own timing, as in ffmpeg


def test_a_video_retime_leaves_the_audio_alone_as_ffmpeg_does(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=4)
    out = tmp_path / "out.mp4"
    run(src, out, "--vf", "setpts=2*PTS")
    assert audio_md5(out) == audio_md5(src)  # copied, not retimed


def test_a_bad_audio_filter_fails_before_any_work(make_clip: ClipMaker, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["filter", str(make_clip(seconds=4)), "--vf", "null", "--af", "nosuch=1",
                                 "-o", str(out)])  # fmt: skip
    assert result.exit_code == 2
    assert "nosuch" in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("speed", [2.0, 0.5, 0.25])
def test_speed_retimes_picture_and_sound_together(make_clip: ClipMaker, tmp_path: Path, speed: float) -> None:
    src = make_clip(seconds=4)
    out, plain = tmp_path / "out.mp4", tmp_path / "plain.mp4"
    run(src, out, "--speed", str(speed))
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(src),
         "-vf", f"setpts=PTS/{speed!r}", "-af", atempo_chain(speed),
         "-c:a", "aac", "-b:a", "192k", "-y", str(plain)],
        check=True,
    )  # fmt: skip
    before, after, want = facts(src), facts(out), facts(plain)
    assert after.frames == want.frames  # ffmpeg's own rule for the dropped or spaced frames
    assert audio_md5(out) == audio_md5(plain)  # pitch kept by the same atempo chain
    assert before.audio_duration is not None and after.audio_duration is not None
    assert after.duration == pytest.approx(before.duration / speed, rel=0.05)
    assert after.audio_duration == pytest.approx(before.audio_duration / speed, rel=0.01)


def test_nothing_to_do_is_a_usage_error(make_clip: ClipMaker, tmp_path: Path) -> None:
    result = runner.invoke(app, ["filter", str(make_clip(seconds=4)), "-o", str(tmp_path / "o.mp4")])
    assert result.exit_code == 2
    assert "--vf" in result.output and "--speed" in result.output


def first_times(path: Path) -> tuple[float, float]:
    """Seconds of the first decoded video frame and the first audio frame."""
    import av

    firsts = []
    for kind in ("video", "audio"):
        with av.open(str(path)) as container:  # each read from the start: no seek between them
            frame = next(container.decode(**{kind: 0}))
            assert frame.pts is not None and frame.time_base is not None
            firsts.append(float(frame.pts * frame.time_base))
    return firsts[0], firsts[1]


def test_a_filter_that_drops_the_first_frame_keeps_ffmpegs_delay_to_the_audio(
    make_clip: ClipMaker, tmp_path: Path
) -> None:
    src, plain, out = make_clip(seconds=4), tmp_path / "plain.mp4", tmp_path / "out.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(src), "-vf", "tblend",
         "-c:a", "copy", "-y", str(plain)],
        check=True,
    )  # fmt: skip
    run(src, out, "--vf", "tblend")
    assert first_times(out) == pytest.approx(first_times(plain), abs=1e-3)
    assert first_times(out)[0] == pytest.approx(1 / 25, abs=1e-3)  # one frame after the audio


@pytest.mark.parametrize(("late", "af"), [("video", None), ("video", "volume=0.5"), ("audio", "volume=0.5")])
def test_streams_that_start_apart_keep_ffmpegs_offset(
    make_clip: ClipMaker, tmp_path: Path, late: str, af: str | None
) -> None:
    """A source whose video (or audio) starts 0.3 s after the other stream: ffmpeg's output
    keeps that gap, measured from the file's start; so does sprocket's, copied or filtered."""
    clip, src = make_clip(seconds=4), tmp_path / f"{late}-late.mp4"
    shifted = ["-itsoffset", "0.3", "-i", str(clip)]
    inputs = [*shifted, "-i", str(clip)] if late == "video" else ["-i", str(clip), *shifted]
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *inputs, "-map", "0:v:0", "-map", "1:a:0",
         "-c", "copy", "-y", str(src)],
        check=True,
    )  # fmt: skip
    plain, out = tmp_path / "plain.mp4", tmp_path / "out.mp4"
    audio = ["-c:a", "copy"] if af is None else ["-af", af, "-c:a", "aac", "-b:a", "192k"]
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(src), "-vf", "hue=s=0", *audio,
         "-y", str(plain)],
        check=True,
    )  # fmt: skip
    run(src, out, "--vf", "hue=s=0", *(() if af is None else ("--af", af)))
    video, sound = first_times(plain)
    # The gap is ffmpeg's, give or take the AAC encoder's priming (two frames): as meant.
    assert abs((video - sound) - (0.3 if late == "video" else -0.3)) < 2 * 1024 / 48000 + 1e-3
    # Within one AAC frame: ffmpeg itself moves a copied AAC track's priming frame (1024
    # samples before 0) against the video when the video starts late.
    assert first_times(out) == pytest.approx((video, sound), abs=1024 / 48000 + 1e-3)
