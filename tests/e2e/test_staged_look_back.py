"""Chunks staged for remote workers carry the frames a stage reads before its chunk: scene_change
compares a chunk's first frame with the ones before it, so a cut on a chunk's first frame is
found from a chunk file as from the source (locally staged, and on the Lambda stand-in)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.media.probe import probe
from sprocket_cli.run.staging import StagedChunk, Stager, reach_back
from sprocket_cli.stages.base import Span
from sprocket_cli.stages.scenes import SceneChange, SceneChangeConfig
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.tasks import ChunkRef
from tests.conftest import ClipMaker
from tests.lambda_endpoint import LocalLambda

runner = CliRunner()

#: Cuts alone, as a JSON report: what scene_change finds, and nothing after it to blur it.
CUTS = {
    "nodes": [{"name": "scenes", "stage": "scene_change"}],
    "streams": [
        {"src": "input_0:chunks", "dst": "scenes:chunks"},
        {"src": "scenes:cuts", "dst": "output_0:cuts"},
    ],
}
FPS = 25
#: Frames where a new picture starts: two on chunk starts (1 s chunks, a keyframe a second),
#: one inside a chunk.
CUT_FRAMES = (25, 50, 65)
#: Seconds before its chunk that scene_change reads.
SCENES_LOOK_BACK = 1.0


def make_cut_clip(path: Path) -> Path:
    """4 s at 25 fps, a keyframe every second, moving pictures that change at :data:`CUT_FRAMES`."""
    size = f"s=160x120:r={FPS}"
    scenes = [
        f"testsrc2={size}:d=1",
        f"testsrc2={size}:d=1,negate",
        f"mandelbrot={size},trim=duration=0.6",
        f"testsrc2={size}:d=1.4,hue=h=120",
    ]
    inputs = [arg for s in scenes for arg in ("-f", "lavfi", "-i", s)]
    joined = "".join(f"[{i}:v]" for i in range(len(scenes))) + f"concat=n={len(scenes)}:v=1:a=0"
    run_ffmpeg(
        [*inputs, "-filter_complex", joined, "-c:v", "libx264", "-g", str(FPS), "-keyint_min", str(FPS),
         "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-y", str(path)],
        what="making a clip with cuts",
    )  # fmt: skip
    return path


def cuts(clip: Path, out: Path, *args: str) -> tuple[list[int], list[dict[str, Any]]]:
    """The cut frames of ``clip``'s scene_change report, and the job's events."""
    spec = out.parent / "cuts.json"
    spec.write_text(json.dumps(CUTS), encoding="utf-8")
    result = runner.invoke(
        app,
        ["run", str(spec), "--input", f"input_0={clip}", "-o", str(out), "--chunk-seconds", "1",
         "--json", "--job-dir", str(out.parent / f"jobs-{out.stem}"), *args],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    chunks = json.loads(out.read_text(encoding="utf-8"))
    # pts in 1/12800 s ticks (MP4's time base for 25 fps), frames from there.
    frames = [round(pts * FPS / 12800) for chunk in chunks for pts in chunk["cuts"]]
    return frames, events


def test_a_scene_cut_on_a_staged_chunks_first_frame_is_found_on_lambda(
    deployed: LocalLambda, tmp_path: Path
) -> None:
    clip = make_cut_clip(tmp_path / "cuts.mp4")
    local, _ = cuts(clip, tmp_path / "local.json")
    remote, events = cuts(clip, tmp_path / "remote.json", "--backend", "lambda")
    assert local == list(CUT_FRAMES)
    assert remote == local
    assert [e["kind"] for e in events].count("chunk_staged") == 4


def staged_cuts(clip: Path, tmp_path: Path, look_back: float) -> list[int]:
    """scene_change's cut frames over ``clip``'s 1 s chunks, each read from its staged file."""
    media = probe(str(clip))
    plan = plan_chunks(media, 1.0)
    store = LocalStorage(tmp_path / f"store-{look_back}")
    stager = Stager("input_0", str(clip), reach_back(plan, media.keyframe_pts, look_back), store, "staged")
    staged: list[StagedChunk] = []
    try:
        while stager.pending:
            staged += stager.take(30.0)
    finally:
        stager.close()
    found = []
    for chunk in sorted(staged, key=lambda c: c.chunk):
        # The job's chunk (not the reached-back one), in the file's time base, as the coordinator routes it.
        ref = ChunkRef.of(plan.chunks[chunk.chunk]).in_time_base(chunk.time_base)
        span = Span(ref, str(store.local_path(chunk.key)), {}, lambda phase, frames: None, lambda: False)
        ticks = SceneChange().run(SceneChangeConfig(), span)["cuts"]
        found += [round(t * chunk.time_base * FPS) for t in ticks]
    return found


def test_staged_chunks_carry_scene_changes_look_back(tmp_path: Path) -> None:
    clip = make_cut_clip(tmp_path / "cuts.mp4")
    assert staged_cuts(clip, tmp_path, SCENES_LOOK_BACK) == list(CUT_FRAMES)
    # Without it, a cut on a chunk's first frame has nothing before it to differ from.
    assert staged_cuts(clip, tmp_path, 0.0) == [65]


@pytest.mark.parametrize("keyint", [25, None], ids=["a keyframe a second", "one keyframe"])
def test_reaching_back_starts_each_chunk_a_keyframe_earlier_where_it_needs_one(
    make_clip: ClipMaker, keyint: int | None
) -> None:
    media = probe(str(make_clip(seconds=4, keyint=keyint)))
    plan = plan_chunks(media, 1.0)
    reached = reach_back(plan, media.keyframe_pts, SCENES_LOOK_BACK)
    first = media.keyframe_pts[0]
    if keyint is None:  # every chunk decodes from the only keyframe already
        assert reached == plan
    else:  # from the keyframe a second before: the previous chunk's start
        assert [c.seek_pts for c in reached.chunks] == [first, *(c.start_pts for c in plan.chunks[:-1])]
    assert reach_back(plan, media.keyframe_pts, 0.0) == plan
