"""A job on ``--backend lambda`` makes one Lambda client, whatever its tasks: the executor's
threads share it (and its kept-alive connections) instead of paying for a session, a credential
look-up and a new connection per invocation. Clients are counted where botocore makes every one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tests.e2e.test_lambda import kinds, run
from tests.lambda_endpoint import LocalLambda


def test_a_job_invokes_every_task_through_one_lambda_client(
    deployed: LocalLambda, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Any] = []
    create = botocore.session.Session.create_client

    def counted(self: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = create(self, service_name, *args, **kwargs)
        if service_name == "lambda":
            made.append(client)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", counted)
    out = tmp_path / "out.mp4"
    events, _ = run(
        "filter", str(clip), "--vf", "hue=s=0", "-o", str(out), "--backend", "lambda", "-w", "300"
    )
    finished = kinds(events, "task_finished")
    assert len(finished) >= 2 and len(deployed.runs) == len(finished) + 1  # tasks and the stamp check
    [client] = made
    assert client.meta.config.max_pool_connections == 300  # a kept-alive connection per worker
