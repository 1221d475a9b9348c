"""``sprocket stabilize`` against ffmpeg's two vid.stab passes over the whole file."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import av
import numpy as np
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.media.ffmpeg import ffmpeg_exe

PHOTO = Path(__file__).parents[1] / "data" / "faces" / "astronaut.jpg"
runner = CliRunner()


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def shaky_clip(dest: Path) -> Path:
    """A still photograph seen through a jittering crop: a hand-held camera on a still scene."""
    jitter = "crop=400:300:'40+25*sin(t*9)+10*sin(t*23)':'40+20*cos(t*7)+8*sin(t*31)'"
    ffmpeg("-loop", "1", "-framerate", "25", "-i", str(PHOTO), "-t", "6",
           "-vf", f"scale=480:-2,{jitter},format=yuv420p",
           "-c:v", "libx264", "-preset", "veryfast", "-g", "30", str(dest))  # fmt: skip
    return dest


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="yuv420p") for f in container.decode(container.streams.video[0])]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def test_stabilize_equals_ffmpegs_two_passes(tmp_path: Path) -> None:
    src = shaky_clip(tmp_path / "shaky.mp4")
    ffmpeg("-i", str(src), "-vf", f"vidstabdetect=result={tmp_path / 'ref.trf'}", "-f", "null", "-")
    ffmpeg("-i", str(src), "-vf",
           f"vidstabtransform=input={tmp_path / 'ref.trf'}:smoothing=15:optalgo=gauss:crop=black",
           "-c:v", "libx264", "-qp", "0", str(tmp_path / "ffmpeg.mp4"))  # fmt: skip
    out = tmp_path / "sprocket.mp4"
    result = runner.invoke(
        app,
        ["stabilize", str(src), "-o", str(out), "--crf", "0", "-w", "2", "--chunk-seconds", "1.5",
         "--first-chunk-seconds", "1.5", "--json", "--job-dir", str(tmp_path / "jobs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    started = [json.loads(line) for line in result.output.splitlines() if '"job_started"' in line]
    assert len(started) == 2 and all(e["chunks"] >= 3 for e in started)  # both passes in parallel
    want, got = decoded(tmp_path / "ffmpeg.mp4"), decoded(out)
    assert len(got) == len(want) == 150
    worst = min(psnr(g, w) for g, w in zip(got, want, strict=True))
    assert worst >= 45, f"a frame is {worst:.1f} dB from ffmpeg's"
    assert psnr(decoded(src)[75], got[75]) < 40  # and the shake was taken out: frames moved


def test_joined_chunk_motions_equal_the_whole_files(tmp_path: Path) -> None:
    """Pass 1's map-reduce alone: the chunks' measurements join into ffmpeg's file, byte for byte."""
    from sprocket_cli.media.vidstab import join_transforms

    src = shaky_clip(tmp_path / "shaky.mp4")
    ffmpeg("-i", str(src), "-vf", f"vidstabdetect=result={tmp_path / 'whole.trf'}", "-f", "null", "-")
    parts = []
    for i, (a, b) in enumerate([(0, 50), (49, 100), (99, 150)]):  # one frame of look-back each
        ffmpeg("-i", str(src), "-vf",
               f"trim=start_frame={a}:end_frame={b},vidstabdetect=result={tmp_path / f'c{i}.trf'}",
               "-f", "null", "-")  # fmt: skip
        parts.append((tmp_path / f"c{i}.trf").read_bytes())
    assert join_transforms(parts).to_bytes() == (tmp_path / "whole.trf").read_bytes()
