"""``--backend lambda`` with a source URL the workers cannot reach: refused in one line, exit 4,
before any task is invoked. The Invoke endpoint (the real bundle behind tests/lambda_endpoint.py)
is reached through this machine's private-network address, as a LocalStack box on the LAN would
be: its workers are on that network, not on this machine, so this machine's loopback is out of
their reach while the same job through the loopback endpoint reads it in place."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from sprocket_cli.aws.reach import Scope, address_scope
from sprocket_cli.cli import app
from sprocket_cli.output.server import StreamServer
from tests.conftest import AwsStandIn
from tests.lambda_endpoint import LocalLambda
from tests.lambda_fixtures import set_up

runner = CliRunner()
BUCKET = "sprocket-test-bucket"


def private_address() -> str | None:
    """This machine's address on its network (the one its default route leaves by), if that is
    a private-network one. A UDP connect sends nothing; it only picks the route."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
        except OSError:
            return None
        host = str(probe.getsockname()[0])
    return host if address_scope(host) == Scope.PRIVATE else None


class Relay:
    """TCP on ``host``:(any port) relayed to ``target`` byte for byte, a connection at a time
    per thread pair: the endpoint as seen from the network rather than from loopback."""

    def __init__(self, host: str, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server((host, 0))
        self.url = f"http://{host}:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self._listener.accept()
            except OSError:
                return  # closed
            far = socket.create_connection(self._target)
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def on_the_lan(
    aws: AwsStandIn, local_lambda: LocalLambda, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[LocalLambda]:
    """What `sprocket setup` leaves, with Lambda calls going to the endpoint's private address."""
    host = private_address()
    if host is None:
        pytest.skip("this machine has no private-network address to reach the endpoint by")
    port = int(local_lambda.url.rsplit(":", 1)[1])
    relay = Relay(host, ("127.0.0.1", port))
    set_up(aws.region, local_lambda, relay.url, BUCKET, monkeypatch, tmp_path / "config")
    yield local_lambda
    relay.close()


def test_a_loopback_url_is_refused_in_one_line_before_any_task_is_invoked(
    on_the_lan: LocalLambda, clip: Path, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    (www / "stream").mkdir(parents=True)  # the server serves a job's stream folder only
    (www / "stream" / "holiday.mp4").write_bytes(clip.read_bytes())
    out = tmp_path / "out.mp4"
    with StreamServer(www) as server:  # a loopback server that honours Range
        url = f"{server.url}stream/holiday.mp4"
        result = runner.invoke(
            app,
            ["filter", url, "--vf", "hue=s=0", "-o", str(out), "--backend", "lambda", "--job-dir", "jobs"],
        )
    assert result.exit_code == 4, result.output
    [line] = [ln for ln in result.output.splitlines() if "cannot reach" in ln]
    assert "the Lambda workers cannot reach 127.0.0.1, a loopback address (this machine's own)" in line
    assert (
        f"from {urlsplit(os.environ['AWS_ENDPOINT_URL_LAMBDA']).hostname}'s network, where they run" in line
    )
    assert line.startswith("error: ") and "Traceback" not in result.output
    assert [i.event for i in on_the_lan.invocations] == [{"metadata": True}]  # the stamp check only
    assert not out.exists()
