"""Fixtures over the local Lambda stand-in: the bundle built and unpacked once per session, a
fresh endpoint per test, and what `sprocket setup` leaves (settings and bucket)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lambda_bundle.build import PLATFORMS, Bundle, build_bundle
from tests.lambda_endpoint import LocalLambda
from tests.lambda_runtime import machine_arch, release, unpack

if TYPE_CHECKING:
    from tests.conftest import AwsStandIn


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """The bundle for this machine's arch and the running Python (the endpoint runs it with
    this interpreter), built once per session; pip's downloads come from its cache or the
    registry."""
    arch = machine_arch()
    if arch not in PLATFORMS:
        pytest.skip(f"no Lambda architecture for this machine ({arch})")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return build_bundle(arch, tmp_path_factory.mktemp("bundle"), python)


@pytest.fixture(scope="session")
def deployed_bundle(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Bundle]:
    """The zip `sprocket setup` deploys for an arch (Lambda's python3.12, the face provider on
    the arches that carry it), each built once per session. ``bundle`` is built for this
    interpreter instead, whose wheels (and imageio-ffmpeg's ffmpeg) may be older ones."""
    from sprocket_cli.aws.bundle import FACES_ARCHES, RUNTIME

    built: dict[str, Bundle] = {}

    def get(arch: str) -> Bundle:
        if arch not in built:
            out = tmp_path_factory.mktemp(f"deployed-{arch}")
            python = RUNTIME.removeprefix("python")
            built[arch] = build_bundle(arch, out, python, faces=arch in FACES_ARCHES)
        return built[arch]

    return get


@pytest.fixture(scope="session")
def bundle_root(bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundle unpacked once per session, read-only, shared by every endpoint."""
    root = unpack(bundle.path, tmp_path_factory.mktemp("task") / "task")
    yield root
    release(root)


def set_up(region: str, endpoint: LocalLambda, url: str, bucket: str, monkeypatch: pytest.MonkeyPatch,
           config: Path, *, faces: bool = False) -> None:  # fmt: skip
    """What `sprocket setup` leaves: its settings (under ``config``) and ``bucket``; Lambda
    calls go to ``url`` (the endpoint, or a relay to it). ``faces``: the deployed bundle
    carries dlib (``setup --faces``)."""
    import boto3

    from sprocket_cli.aws.settings import AwsSettings
    from sprocket_cli.stamp import code_stamp

    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", url)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a session that sees these endpoints
    boto3.client("s3").create_bucket(Bucket=bucket)
    AwsSettings(
        region=region,
        bucket=bucket,
        function=endpoint.function,
        memory_mb=endpoint.memory_mb,
        arch=machine_arch(),
        stamp=code_stamp(),
        faces=faces,
    ).save()


#: The bucket ``deployed``'s settings name, in the stand-in's S3.
BUCKET = "sprocket-test-bucket"


@pytest.fixture
def deployed(
    aws: AwsStandIn, local_lambda: LocalLambda, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> LocalLambda:
    """What `sprocket setup` leaves: its settings and bucket; Lambda calls reach the endpoint."""
    set_up(aws.region, local_lambda, local_lambda.url, BUCKET, monkeypatch, tmp_path / "config")
    return local_lambda


@pytest.fixture
def local_lambda(bundle_root: Path) -> Iterator[LocalLambda]:
    """A fresh endpoint (counts start at zero) over the session's unpacked bundle."""
    with LocalLambda(bundle_root) as endpoint:
        yield endpoint
