"""``blend`` and ``find-face`` with ``--backend ray`` on the real two-node loopback cluster
(tests/raycluster.py) give the local backend's frames, every one, hash for hash.

Lossless x264 (``--crf 0``): the decoded frames are then the stages' own, whatever threads each
encoder had (a lossy x264's output depends on its thread count, which differs between backends).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.facemedia import ASTRONAUT, BIDEN, FaceClip, Scene, make_face_clip
from tests.framecode import BOTTOM, TOP, make_framecode_clip
from tests.media_checks import VideoFacts, facts
from tests.raycluster import RayCluster

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()

#: Two workers, so that both nodes work; short chunks, so that each job has several.
COMMON = ("--crf", "0", "-w", "2", "--json")


def run_job(*args: str, out: Path, ray: RayCluster | None = None) -> list[dict[str, Any]]:
    """Run a job command writing ``out`` on the local backend, or on ``ray``'s cluster."""
    backend = ("--backend", "ray", "--backend-opt", f"address={ray.address}") if ray else ()
    jobs = out.parent / f"jobs-{out.stem}"
    result = runner.invoke(app, [*args, *COMMON, *backend, "-o", str(out), "--job-dir", str(jobs)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def executor_of(events: list[dict[str, Any]]) -> str:
    [started] = [e for e in events if e["kind"] == "job_started"]
    return str(started["executor"])


def same_frames(ray: VideoFacts, local: VideoFacts) -> None:
    assert ray.frames == local.frames
    mismatched = [
        i for i, (r, lo) in enumerate(zip(ray.frame_hashes, local.frame_hashes, strict=True)) if r != lo
    ]
    assert not mismatched, f"frames {mismatched} differ from the local backend's"


# -- blend --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A: 3 s at 25 fps, a keyframe every 0.8 s; B: 2.5 s at 30 fps at another size, a keyframe
    every 0.3 s. Unlike rates and keyframes: the pairing of A's and B's frames crosses chunks."""
    here = tmp_path_factory.mktemp("ray-blend")
    a = make_framecode_clip(here / "a.mp4", seconds=3, fps=25, keyint=20, region=TOP)
    b = make_framecode_clip(here / "b.mp4", seconds=2.5, fps=30, keyint=9, size=(192, 144), region=BOTTOM)
    return a, b


BLEND = ("--mode", "overlay", "--offset", "0.52", "--chunk-seconds", "0.8", "--first-chunk-seconds", "0.8")


def test_blend_on_ray_gives_the_local_backends_frames(
    cluster: RayCluster, pair: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = pair
    local = tmp_path / "local.mp4"
    run_job("blend", str(a), str(b), *BLEND, out=local)
    remote = tmp_path / "ray.mp4"
    events = run_job("blend", str(a), str(b), *BLEND, out=remote, ray=cluster)
    assert executor_of(events) == "ray"
    got, want = facts(remote), facts(local)
    assert want.frames == 75  # A's length: the default --duration first
    same_frames(got, want)
    assert sum(e["kind"] == "task_finished" for e in events) > 2  # several chunks, not one task


# -- find-face ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> FaceClip:
    """Eileen Collins, nobody, Joe Biden, Eileen again: a box in two scenes, none in the others."""
    scenes = [Scene(ASTRONAUT, 1.2), Scene(None, 0.8), Scene(BIDEN, 1.2), Scene(ASTRONAUT, 1.2)]
    return make_face_clip(tmp_path_factory.mktemp("ray-face") / "play.mp4", scenes, keyint=25)


FACE = ("--person", str(ASTRONAUT.path), "--chunk-seconds", "1")


# Chunks staged for the nodes start as far back as scene_change reads (run/staging.reach_back):
# without that, a cut on a chunk's first frame was missed and the boxed clip's frames 24-29 differed.
@pytest.mark.parametrize("keep_only", [pytest.param(False, id="boxed"), pytest.param(True, id="keep-only")])
def test_find_face_on_ray_gives_the_local_backends_frames(
    cluster: RayCluster, face_clip: FaceClip, tmp_path: Path, keep_only: bool
) -> None:
    extra = ("--keep-only",) if keep_only else ()
    local = tmp_path / "local.mp4"
    run_job("find-face", str(face_clip.path), *FACE, *extra, out=local)
    remote = tmp_path / "ray.mp4"
    events = run_job("find-face", str(face_clip.path), *FACE, *extra, out=remote, ray=cluster)
    assert executor_of(events) == "ray"
    got, want = facts(remote), facts(local)
    # Boxed: every frame of the clip; kept: only Eileen's two scenes (30 + 30 frames).
    assert want.frames == (60 if keep_only else face_clip_frames(face_clip))
    same_frames(got, want)


def face_clip_frames(clip: FaceClip) -> int:
    return clip.scenes[-1].end


def test_a_scene_across_staged_chunks_is_searched_to_its_end_on_ray(
    cluster: RayCluster, face_clip: FaceClip, tmp_path: Path
) -> None:
    # Scenes of 1.2 s over 1 s chunks, every frame searched: a task over a scene reads past its
    # first chunk. Staged per chunk, its source was that chunk's file alone, which ends a frame
    # or two after the chunk, and the scene's last frames went unsearched.
    ray = ("--backend", "ray", "--backend-opt", f"address={cluster.address}")
    reports = {}
    for where, backend in (("local", ()), ("ray", ray)):
        report = tmp_path / f"{where}.json"
        args = ["find-face", str(face_clip.path), *FACE, "--every-frame", *COMMON, *backend]
        result = runner.invoke(app, [*args, "--report", str(report), "--job-dir", str(tmp_path / where)])
        assert result.exit_code == 0, result.output
        reports[where] = json.loads(report.read_text())
    sampled = {where: [len(scene["samples"]) for scene in found] for where, found in reports.items()}
    assert sampled["local"] == [s.end - s.start for s in face_clip.scenes]
    assert sampled["ray"] == sampled["local"]
