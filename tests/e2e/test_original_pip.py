"""The original Sprocket's picture_in_picture.pipe, as its repository has it, runs here and gives
plain ``ffmpeg -filter_complex``'s frames: its ``overlay`` (which the original never shipped)
reads as the second video, made a quarter-size inset by ``resize``, over the first's top right
corner. The inputs differ in frame rate (25, 30) and keyframes, over several chunks.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.conftest import ClipMaker
from tests.e2e.test_fidelity import frames

#: The original's pipespec/picture_in_picture.pipe (excamera/pipeline), node for node.
PICTURE_IN_PICTURE = {
    "nodes": [
        {"name": "decode_0", "stage": "decode_from_url"},
        {"name": "decode_1", "stage": "decode_from_url"},
        {"name": "resize", "stage": "resize"},
        {"name": "overlay", "stage": "overlay", "delivery_function": "pair_delivery_func"},
        {"name": "encode", "stage": "encode_to_dash"},
    ],
    "streams": [
        {"src": "input_0:video_url", "dst": "decode_0:video_url"},
        {"src": "input_1:video_url", "dst": "decode_1:video_url"},
        {"src": "decode_0:frames", "dst": "overlay:frames_0"},
        {"src": "decode_1:frames", "dst": "resize:frames"},
        {"src": "resize:frames", "dst": "overlay:frames_1"},
        {"src": "overlay:frames", "dst": "encode:frames"},
        {"src": "encode:chunks", "dst": "output_0:chunks"},
    ],
}


def test_picture_in_picture_pipe_gives_plain_ffmpegs_frames(make_clip: ClipMaker, tmp_path: Path) -> None:
    main = make_clip(seconds=7, size="320x180", fps="25", keyint=50, audio=False)
    inset = make_clip(seconds=7, size="320x180", fps="30", keyint=45, audio=False)
    spec = tmp_path / "picture_in_picture.pipe"
    spec.write_text(json.dumps(PICTURE_IN_PICTURE, indent=2))
    out, plain = tmp_path / "pip.mp4", tmp_path / "plain.mp4"
    result = CliRunner().invoke(
        app,
        ["run", str(spec), "-i", f"input_0={main}", "-i", f"input_1={inset}", "-o", str(out),
         "--set", "encode.crf=0", "--chunk-seconds", "2", "--first-chunk-seconds", "2", "--json",
         "--job-dir", str(tmp_path / "jobs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    started = next(json.loads(line) for line in result.output.splitlines() if '"job_started"' in line)
    assert started["chunks"] >= 3
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(main), "-i", str(inset),
         "-filter_complex", "[1:v]scale=iw/4:-2[p];[0:v][p]overlay=W-w-16:16",
         "-c:v", "libx264", "-qp", "0", "-y", str(plain)],
        check=True,
    )  # fmt: skip
    got, want = frames(out), frames(plain)
    assert len(got) == len(want)
    assert got == want  # times and pixels
