"""The original Sprocket's two-stream pipespecs, as its repository has them, run here and give
plain ``ffmpeg -filter_complex``'s frames: picture_in_picture.pipe (its ``overlay``, which the
original never shipped, reads as the second video, made a quarter-size inset by ``resize``,
over the first's top right corner; the inputs differ in frame rate and keyframes) and
mirror_effect.pipe (both frame streams of its ``merge_filter`` come from one input).
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


#: The original's pipespec/mirror_effect.pipe, node for node.
MIRROR_EFFECT = {
    "nodes": [
        {"name": "decode", "stage": "decode"},
        {"name": "crop", "stage": "duplicate_filter", "config": {"video_filter": "crop=iw/2:ih:0:0"}},
        {"name": "hflip", "stage": "video_filter", "config": {"video_filter": "hflip"}},
        {"name": "hstack", "stage": "merge_filter", "delivery_function": "pair_delivery_func",
         "config": {"filter_complex": "[1:v][0:v]hstack"}},
        {"name": "encode", "stage": "encode_to_dash"},
    ],
    "streams": [
        {"src": "input_0:chunks", "dst": "decode:chunks"},
        {"src": "decode:frames", "dst": "crop:frames"},
        {"src": "crop:frames_0", "dst": "hflip:frames"},
        {"src": "hflip:frames", "dst": "hstack:frames_0"},
        {"src": "crop:frames_1", "dst": "hstack:frames_1"},
        {"src": "hstack:frames", "dst": "encode:frames"},
        {"src": "encode:chunks", "dst": "output_0:chunks"},
    ],
}  # fmt: skip


def run(spec: dict[str, object], inputs: list[Path], tmp_path: Path, min_chunks: int = 3) -> Path:
    """The spec run losslessly in 2 s chunks (at least ``min_chunks`` of them); the output."""
    path, out = tmp_path / "original.pipe", tmp_path / "sprocket.mp4"
    path.write_text(json.dumps(spec, indent=2))
    bound = [a for i, src in enumerate(inputs) for a in ("-i", f"input_{i}={src}")]
    result = CliRunner().invoke(
        app,
        ["run", str(path), *bound, "-o", str(out), "--set", "encode.crf=0", "--chunk-seconds", "2",
         "--first-chunk-seconds", "2", "--json", "--job-dir", str(tmp_path / "jobs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    started = next(json.loads(line) for line in result.output.splitlines() if '"job_started"' in line)
    assert started["chunks"] >= min_chunks
    return out


def plain(inputs: list[Path], graph: str, dest: Path) -> Path:
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *(a for src in inputs for a in ("-i", str(src))),
         "-filter_complex", graph, "-c:v", "libx264", "-qp", "0", "-y", str(dest)],
        check=True,
    )  # fmt: skip
    return dest


def test_picture_in_picture_pipe_gives_plain_ffmpegs_frames(make_clip: ClipMaker, tmp_path: Path) -> None:
    main = make_clip(seconds=7, size="320x180", fps="25", keyint=50, audio=False)
    inset = make_clip(seconds=7, size="320x180", fps="30", keyint=45, audio=False)
    got = frames(run(PICTURE_IN_PICTURE, [main, inset], tmp_path))
    want = frames(
        plain([main, inset], "[1:v]scale=iw/4:-2[p];[0:v][p]overlay=W-w-16:16", tmp_path / "plain.mp4")
    )
    assert len(got) == len(want)
    assert got == want  # times and pixels


def test_mirror_effect_pipe_gives_plain_ffmpegs_frames(make_clip: ClipMaker, tmp_path: Path) -> None:
    src = make_clip(seconds=7, size="320x180", fps="30000/1001", keyint=40, audio=False)
    got = frames(run(MIRROR_EFFECT, [src], tmp_path))
    graph = "[0:v]crop=iw/2:ih:0:0,split[a][b];[a]hflip[h];[b][h]hstack"
    want = frames(plain([src], graph, tmp_path / "plain.mp4"))
    assert len(got) == len(want)
    assert got == want
