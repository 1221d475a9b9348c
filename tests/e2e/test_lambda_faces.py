"""``sprocket find-face --backend lambda`` with the local (dlib) provider: every find_faces task
runs in the faces bundle, in a fresh isolated Python behind the local Invoke endpoint, and the
job finds the same faces, in the same boxes, on the same frames as a local run, whether the
source is read in place from S3 or is a local file staged for the workers. A scene crosses a
chunk boundary, and its task reads the whole scene: staged, the job's input is one file
(run/staging.py's one_file), not the scene's first chunk's file, which ends at that boundary.

The bundle is built as ``sprocket setup`` builds it (``build_bundle`` for Lambda's python3.12,
with the ``faces`` extra) but for this machine's architecture: the endpoint runs it with this
machine's interpreter, so an arm64 bundle cannot run here on x86_64. On x86_64 it is over
Lambda's size limit (its ffmpeg is 42 MB bigger than arm64's), which is why deployments with
faces use arm64; the arm64 faces bundle's size is checked in tests/unit/test_lambda_bundle.py.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from lambda_bundle.build import MAX_UNZIPPED_BYTES, build_bundle
from sprocket_cli.cli import app
from tests.conftest import AwsStandIn
from tests.facemedia import ASTRONAUT, OBAMA, FaceClip, Scene, make_face_clip
from tests.lambda_endpoint import LocalLambda
from tests.lambda_fixtures import BUCKET, set_up
from tests.lambda_runtime import machine_arch, release, unpack

pytestmark = pytest.mark.timeout(1800)  # the first build downloads dlib and numpy wheels

runner = CliRunner()
#: Lambda's runtime for the bundle, as ``sprocket setup`` builds it (sprocket_cli.aws.bundle.RUNTIME).
RUNTIME = "3.12"


def runtime_python() -> str | None:
    """An interpreter of Lambda's Python version on this machine (the bundle's extensions are
    built for it): ``python3.12`` on PATH, or one pyenv installed."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = shutil.which(f"python{RUNTIME}")
    for candidate in [found, *sorted(glob.glob(f"{pyenv}/versions/{RUNTIME}.*/bin/python{RUNTIME}"))]:
        if candidate is None:
            continue
        ran = subprocess.run([candidate, "-I", "-c", "import sys; print(sys.executable)"],
                             capture_output=True, text=True, check=False)  # fmt: skip
        if ran.returncode == 0:  # pyenv's shim is on PATH but fails when 3.12 is not selected
            return ran.stdout.strip()
    return None


@pytest.fixture(scope="module")
def faces_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLambda]:
    python = runtime_python()
    if python is None:
        pytest.skip(f"no Python {RUNTIME} here to run Lambda's python{RUNTIME} bundle with")
    arch = machine_arch()
    # x86_64's faces bundle is over the limit (see above); the test runs it anyway.
    limit = MAX_UNZIPPED_BYTES if arch == "arm64" else 2 * MAX_UNZIPPED_BYTES
    bundle = build_bundle(arch, tmp_path_factory.mktemp("faces-bundle"), RUNTIME, faces=True,
                          max_unzipped_bytes=limit)  # fmt: skip
    root = unpack(bundle.path, tmp_path_factory.mktemp("faces-task") / "task")
    try:
        with LocalLambda(root, python=python) as endpoint:
            yield endpoint
    finally:
        release(root)


@pytest.fixture(scope="module")
def play(tmp_path_factory: pytest.TempPathFactory) -> FaceClip:
    scenes = [Scene(ASTRONAUT, 2.0), Scene(None, 1.0), Scene(OBAMA, 1.5), Scene(ASTRONAUT, 1.5)]
    return make_face_clip(tmp_path_factory.mktemp("faces") / "play.mp4", scenes)


def find_face(*args: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["find-face", *args, "--chunk-seconds", "2", "--json", "--job-dir", "jobs"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


#: What a Lambda task adds to its facts about how it ran, not what it found.
RUN_ONLY = frozenset({"backoff_s", "billed_ms"})


#: Where the 2 s chunks meet (frame numbers, at the clip's keyframes): scene 2 (frames 75 to
#: 112) spans the one at frame 100.
BOUNDARIES = (50, 100)


@pytest.mark.parametrize("source", ["s3", "staged"])
def test_find_face_on_lambda_finds_what_a_local_run_finds(
    faces_endpoint: LocalLambda,
    aws: AwsStandIn,
    play: FaceClip,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    config = tmp_path / "config"
    set_up(aws.region, faces_endpoint, faces_endpoint.url, BUCKET, monkeypatch, config, faces=True)
    spanning = [s for s in play.scenes if any(s.start < b < s.end for b in BOUNDARIES)]
    assert [(s.start, s.end) for s in spanning] == [(75, 113)]
    boto3.client("s3").upload_file(str(play.path), BUCKET, "in/play.mp4")
    earlier = len(faces_endpoint.runs)  # the endpoint serves every test of this module
    remote, local = tmp_path / "remote.json", tmp_path / "local.json"
    person = ["--person", str(ASTRONAUT.path)]
    read = f"s3://{BUCKET}/in/play.mp4" if source == "s3" else str(play.path)
    events = find_face(read, *person, "--report", str(remote), "--backend", "lambda", "-w", "4")
    [bundled] = (faces_endpoint.root / "imageio_ffmpeg" / "binaries").glob("ffmpeg-*")
    monkeypatch.setenv("SPROCKET_FFMPEG", str(bundled))  # the same scene cuts for both runs
    find_face(str(play.path), *person, "--report", str(local), "-w", "2")

    got = [{k: v for k, v in scene.items() if k not in RUN_ONLY} for scene in json.loads(remote.read_text())]
    want = json.loads(local.read_text())
    assert [s["matched"] for s in got] == [True, False, False, True]
    assert got == want  # every sample's pts, faces, box and distance
    # Every 5th frame of each scene: the spanning scene's 38 frames give 8 samples, not the 5
    # of its frames up to the boundary.
    assert [len(s["samples"]) for s in got] == [10, 5, 8, 8]

    [started] = [e for e in events if e["kind"] == "job_started"]
    assert started["executor"] == "lambda"
    staged = [e for e in events if e["kind"] == "chunk_staged"]
    if source == "s3":
        assert not staged
    else:  # one file, booked on the first chunk, which every chunk reads
        assert [e["chunk"] for e in staged if e["bytes"]] == [0] and len(staged) == 3
    runs = faces_endpoint.runs[earlier:]
    ran = [i.event["task"] for i in runs if i.event and "task" in i.event]
    face_tasks = [t for t in ran if any(s["stage"] == "find_faces" for s in t["stages"])]
    assert len(face_tasks) == len(got)  # one per scene, each in the bundle
    assert all(i.function_error is None for i in runs)
