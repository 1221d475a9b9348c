"""Generated clips (ffmpeg lavfi): for the demo, the tests and the benchmarks."""

from __future__ import annotations

from pathlib import Path

from sprocket_cli.media.ffmpeg import run_ffmpeg


def make_test_clip(
    dest: Path,
    *,
    seconds: float,
    size: str = "320x240",
    fps: int | str = 25,
    keyint: int | None = 50,
    audio: bool = True,
    preset: str = "veryfast",
) -> Path:
    """A testsrc2 clip with a sine tone; ``keyint`` frames between keyframes (None: only one);
    ``fps`` as ffmpeg takes it (25, "30000/1001")."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    gop = keyint if keyint is not None else 100_000
    args += [
        "-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
    ]  # fmt: skip
    if audio:
        args += ["-c:a", "aac", "-b:a", "96k"]
    run_ffmpeg([*args, "-y", str(dest)], what=f"making test clip {dest}")
    return dest
