"""``sprocket setup`` without ``--bundle`` against moto's server: the bundle built for this code
is kept in the user cache folder and deployed again without building (minutes of pip and
zipping); ``--rebuild`` builds anyway, and a build that fails says so in one line."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from lambda_bundle.build import Bundle
from lambda_bundle.cache import earlier_build, record_build
from sprocket_cli.aws.bundle import FACES_ARCHES
from sprocket_cli.cli import app
from tests.conftest import AwsStandIn

runner = CliRunner()
BUCKET = "sprocket-123456789012-us-east-1"  # moto's default account


@pytest.fixture
def cached(bundle: Bundle, aws: AwsStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache as a first `setup` leaves it: this code's python3.12 build and its record (the
    session's zip stands in for it: the cache decides by the record, not by the zip's contents),
    beside an older build of other code for the same target, which the next setup drops."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    folder = tmp_path / "cache" / "sprocket" / "bundles"
    folder.mkdir(parents=True)
    faces = bundle.arch in FACES_ARCHES  # as setup builds for this arch
    path, digest, found = earlier_build(folder, bundle.arch, "3.12", faces=faces)
    assert found is None  # nothing to reuse in an empty cache
    shutil.copy(bundle.path, path)
    as_312 = dataclasses.replace(bundle, path=path, python_version="3.12", runtime="python3.12", faces=faces)
    record_build(as_312, digest)
    (folder / f"sprocket-lambda-0.0.1-000000000000-{bundle.arch}-py3.12.zip").write_bytes(b"old")
    return path


def setup(arch: str, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["setup", "--region", "us-east-1", "--arch", arch, *extra])
    return result.exit_code, result.output


def test_setup_deploys_the_cached_build_of_this_code_without_building(cached: Path, bundle: Bundle) -> None:
    code, output = setup(bundle.arch)
    assert code == 0, output
    assert f"bundle {cached.name}: reused, its inputs unchanged" in output
    # The zip that went to the bucket is the cached one, byte for byte.
    s3 = boto3.client("s3")
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="bundles/")["Contents"]]
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == cached.read_bytes()
    # Only the newest build of a target is worth its disk space.
    kept = {p.name for p in cached.parent.iterdir()}
    assert kept == {cached.name, cached.with_suffix(".json").name}


def test_rebuild_builds_anyway_and_a_failed_build_is_one_line(
    cached: Path, bundle: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No package index, and a pip cache in the empty cache folder: pip fails at once, which
    # shows that --rebuild did not take the cached zip.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    code, output = setup(bundle.arch, "--rebuild")
    assert code == 1 and "reused" not in output
    [line] = [ln for ln in output.splitlines() if "pip could not install" in ln]
    assert line.startswith("error: pip could not install the bundle's dependencies")
    assert "Traceback" not in output
    # The bundle comes before any change to the account: nothing was created.
    assert not boto3.client("s3").list_buckets()["Buckets"]
