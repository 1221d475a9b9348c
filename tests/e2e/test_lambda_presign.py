"""``--backend lambda`` with an ``s3://`` input: each invocation carries a URL signed for that
task as it left, valid for the function's timeout and a margin (not the six hours one URL used
to live for the whole job), with the session token of the coordinator's temporary credentials;
and nothing signed reaches the job folder, the events or ``sprocket jobs``."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
from typer.testing import CliRunner

from sprocket_cli.aws.deploy import TIMEOUT_S
from sprocket_cli.cli import app
from sprocket_cli.executors.base import SIGNED_MARGIN_S
from tests.conftest import AwsStandIn
from tests.lambda_endpoint import LocalLambda
from tests.lambda_fixtures import BUCKET
from tests.media_checks import facts

runner = CliRunner()


def test_each_invocation_reads_an_s3_input_through_its_own_short_lived_url(
    deployed: LocalLambda, aws: AwsStandIn, clip: Path, tmp_path: Path
) -> None:
    boto3.client("s3").upload_file(str(clip), BUCKET, "in/clip.mp4")
    url, out, jobs = f"s3://{BUCKET}/in/clip.mp4", tmp_path / "out.mp4", tmp_path / "jobs"
    args = ["filter", url, "--vf", "hue=s=0", "-o", str(out), "--backend", "lambda", "--chunk-seconds", "1"]
    result = runner.invoke(app, [*args, "--json", "--job-dir", str(jobs)])
    assert result.exit_code == 0, result.output
    assert facts(out).frames == facts(clip).frames

    tasks = [run.event["task"] for run in deployed.runs if run.event and "task" in run.event]
    assert len(tasks) >= 4  # one per chunk of the 4 s clip
    for task in tasks:
        signed = urlsplit(task["source"])
        assert f"{signed.scheme}://{signed.netloc}" == aws.endpoint
        assert signed.path == f"/{BUCKET}/in/clip.mp4"
        query = {k: v[0] for k, v in parse_qs(signed.query).items()}
        assert int(query["X-Amz-Expires"]) == TIMEOUT_S + SIGNED_MARGIN_S <= 15 * 60
        assert query["X-Amz-Security-Token"] == "testing"

    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert events[0]["inputs"] == {"input_0": url}
    assert "X-Amz-" not in result.output
    assert not [p for p in jobs.rglob("*") if p.is_file() and b"X-Amz-" in p.read_bytes()]
    listing = runner.invoke(app, ["jobs", "--job-dir", str(jobs)], env={"COLUMNS": "200"})
    assert url in listing.output and "X-Amz-" not in listing.output
