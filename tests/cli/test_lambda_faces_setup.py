"""``sprocket setup`` records whether the deployed bundle finds faces, against moto's server:
a zip with dlib and its models deploys under a key of its own and says so in the settings; a
zip without them (what x86_64 builds) warns at setup, and then ``find-face --backend lambda``
is refused before any work, in one line saying why and what to run."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from sprocket_cli import stamp
from sprocket_cli.aws.settings import AwsSettings
from sprocket_cli.cli import app
from tests.conftest import AwsStandIn
from tests.facemedia import ASTRONAUT

runner = CliRunner()
BUCKET = "sprocket-123456789012-us-east-1"  # moto's default account


@pytest.fixture(autouse=True)
def _config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws: AwsStandIn) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def make_bundle(path: Path, *, faces: bool) -> Path:
    """A zip with the handler, and with dlib's extension and a face model where ``faces``."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("lambda_bundle/__init__.py", "")
        z.writestr("lambda_bundle/handler.py", "def handler(event, context):\n    return {}\n")
        if faces:
            z.writestr("_dlib_pybind11.cpython-312-aarch64-linux-gnu.so", b"\x7fELF")
            z.writestr("face_recognition_models/models/shape_predictor_5_face_landmarks.dat", b"model")
    return path


def setup(bundle: Path, arch: str) -> str:
    args = ["setup", "--region", "us-east-1", "--bundle", str(bundle), "--arch", arch]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_setup_records_the_faces_and_find_face_is_refused_where_the_bundle_has_none(
    tmp_path: Path, clip: Path
) -> None:
    code = stamp.code_stamp()
    output = setup(make_bundle(tmp_path / "faces.zip", faces=True), "arm64")
    assert "no face detector" not in output
    settings = AwsSettings.load()
    assert settings is not None and settings.faces
    fn = boto3.client("lambda").get_function_configuration(FunctionName="sprocket-worker")
    assert fn["Description"] == f"Sprocket worker, code stamp {code}, with faces"

    # The same code for x86_64, without faces: its own zip beside the first, deployed.
    plain = make_bundle(tmp_path / "plain.zip", faces=False)
    output = setup(plain, "x86_64")
    [warning] = [line for line in output.splitlines() if "no face detector" in line]
    assert "find-face will not run on Lambda" in warning
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="bundles/")["Contents"]
    keys = [o["Key"] for o in listed]
    assert sorted(keys) == [f"bundles/{code}-arm64-faces.zip", f"bundles/{code}-x86_64.zip"]
    fn = boto3.client("lambda").get_function_configuration(FunctionName="sprocket-worker")
    assert fn["Description"] == f"Sprocket worker, code stamp {code}"
    # (moto keeps the architecture a function was created with; the zip shows the update)
    assert fn["CodeSha256"] == base64.b64encode(hashlib.sha256(plain.read_bytes()).digest()).decode()
    settings = AwsSettings.load()
    assert settings is not None and not settings.faces and settings.arch == "x86_64"

    args = ["find-face", str(clip), "--person", str(ASTRONAUT.path), "--backend", "lambda"]
    result = runner.invoke(app, [*args, "--job-dir", str(tmp_path / "jobs")], env={"COLUMNS": "200"})
    assert result.exit_code != 0
    assert result.output.strip() == (
        "error: find_faces cannot run on the lambda backend: the deployed x86_64 bundle has no face "
        "detector (dlib); run `sprocket setup --arch arm64` to deploy one that has, or use --backend local"
    )
    assert not (tmp_path / "jobs").exists()  # refused before the job existed
