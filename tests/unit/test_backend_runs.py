"""Which stages each backend's workers run: all of them here; on Lambda what its bundle carries
(the face stage where the deployed bundle has dlib); on a Ray node also the face stages (a node
runs the sprocket installed on it), but never a stage that reads this machine's disk. A job with
a stage its backend cannot run is refused before any work, in one line naming the stage."""

from __future__ import annotations

from pathlib import Path

import pytest

import builtin_pipelines
from sprocket_cli.aws.settings import AwsSettings
from sprocket_cli.backends import open_backend
from sprocket_cli.errors import UsageError
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.session import JobRequest, start
from sprocket_cli.stages.faces import FindFaces
from sprocket_cli.stages.filter import Filter
from sprocket_cli.stages.stabilize import StabTransform


@pytest.fixture(autouse=True)
def _config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No deployment, unless a test saves one: never the user's own settings."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.mark.parametrize(
    ("backend", "filters", "faces", "stabilizes"),
    [("local", True, True, True), ("lambda", True, True, False), ("ray", True, True, False)],
)
def test_each_backend_runs_what_its_workers_have(
    backend: str, filters: bool, faces: bool, stabilizes: bool
) -> None:
    opened = open_backend(backend)
    assert [opened.runs(Filter), opened.runs(FindFaces), opened.runs(StabTransform)] == [
        filters,
        faces,
        stabilizes,
    ]


def test_lambda_finds_faces_only_where_the_deployed_bundle_carries_dlib() -> None:
    AwsSettings(region="us-east-1", bucket="b", arch="arm64", faces=True).save()
    assert open_backend("lambda").refusal(FindFaces) is None
    AwsSettings(region="us-east-1", bucket="b", arch="x86_64", faces=False).save()
    lam = open_backend("lambda")
    assert lam.refusal(Filter) is None
    refused = lam.refusal(FindFaces) or ""
    assert "x86_64 bundle has no face detector" in refused
    assert "`sprocket setup --arch arm64`" in refused


class OwnFilter(Filter):
    """A stage of the user's own: not installed, so named module:Class."""

    NAME = "own_filter"


@pytest.mark.parametrize(("backend", "runs"), [("local", True), ("lambda", False), ("ray", True)])
def test_a_users_own_stage_runs_where_the_workers_can_import_it(backend: str, runs: bool) -> None:
    # Lambda runs the bundle `sprocket setup` built, which holds this project's code only.
    assert open_backend(backend).runs(OwnFilter) is runs


def test_a_stage_the_workers_cannot_run_is_refused_before_any_work(clip: Path, tmp_path: Path) -> None:
    spec = builtin_pipelines.load("stabilize", {"transform": {"transforms": str(tmp_path / "motions.trf")}})
    out = tmp_path / "o.mp4"
    request = JobRequest(spec, {"input_0": str(clip)}, {"output_0": out}, JobOptions(backend="ray"))
    with pytest.raises(UsageError, match=r"^stab_transform cannot run on the ray backend's workers$"):
        start(request)  # no cluster needed: refused before the backend connects
    assert not out.exists()
