"""Shared fixtures: media made by ffmpeg lavfi at small sizes, an isolated data dir, moto on loopback."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sprocket_cli.media.testclip import make_test_clip
from tests.faultkit import mount_tmpfs, umount
from tests.lambda_fixtures import bundle, bundle_root, deployed, deployed_bundle, local_lambda  # noqa: F401  # fixtures
from tests.raycluster import cluster, ray_cluster  # noqa: F401  # fixtures

ClipMaker = Callable[..., Path]


@pytest.fixture(scope="session", autouse=True)
def _resource_tracker() -> None:
    """Start multiprocessing's resource tracker while the session's stderr is the real one.

    The local executor's first spawned worker starts the tracker, handing it stderr's file
    descriptor; a test that ran a Textual app before leaves pytest's captured stderr on a
    closed descriptor, and the spawn then fails with "bad value(s) in fds_to_keep" (every
    task of the job fails, in whichever test comes next)."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Job folders of the code under test go under the test's tmp dir, never the user's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(autouse=True)
def _fail_on_error_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A test whose code logged at ERROR fails, even if its asserts passed."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, f"logged at ERROR: {[r.getMessage() for r in errors]}"


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def make_clip(clip_dir: Path) -> ClipMaker:
    """``make_clip(seconds=4, keyint=50, ...)`` -> path; same arguments give the same cached file."""

    def make(**kwargs: object) -> Path:
        name = "clip-" + "-".join(f"{k}={v}" for k, v in sorted(kwargs.items())) + ".mp4"
        dest = clip_dir / name.replace("/", "_")
        if not dest.exists():
            seconds = float(kwargs.pop("seconds", 4))  # type: ignore[arg-type]
            make_test_clip(dest, seconds=seconds, **kwargs)  # type: ignore[arg-type]
        return dest

    return make


@pytest.fixture(scope="session")
def clip(make_clip: ClipMaker) -> Path:
    """4 s, 320x240, 25 fps, keyframe every 2 s, with a 48 kHz AAC tone."""
    return make_clip(seconds=4)


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that write default outputs next to the current folder write into tmp."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """``tmpfs("size=96k")`` -> a fresh tmpfs mount (needs root, as CI has; skips otherwise).

    Real file systems for the conditions root cannot fake with permissions: full, read-only.
    """
    mounts: list[Path] = []

    def mount(options: str) -> Path:
        point = tmp_path / f"tmpfs{len(mounts)}"
        point.mkdir()
        refused = mount_tmpfs(point, options)
        if refused is not None:
            pytest.skip(f"cannot mount a tmpfs here: {refused}")
        mounts.append(point)
        return point

    yield mount
    for point in mounts:
        umount(point)


@dataclass(frozen=True)
class AwsStandIn:
    """moto's server on loopback, and the environment that points boto3's standard chain at it."""

    endpoint: str
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # Never the user's own profiles or credentials files.
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's S3/IAM/Lambda/STS server over real HTTP on 127.0.0.1; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStandIn]:
    """boto3 in this test talks to moto's server; its state is wiped afterwards."""
    import urllib.request

    stand_in = AwsStandIn(moto_server)
    for name, value in stand_in.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield stand_in
    # moto's reset endpoint: the next test starts with an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"))


@pytest.fixture(scope="module")
def small_clip(make_clip: ClipMaker) -> Path:
    """3 s at 320x180, a keyframe every second: three 1 s chunks."""
    return make_clip(seconds=3, size="320x180", keyint=25)
