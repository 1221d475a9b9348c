"""``sprocket setup``, ``teardown`` and ``doctor`` against moto's server over real HTTP.

The AWS operations the CLI actually sends are counted with botocore's event system (a
``before-call`` handler on boto3's default session, which the commands use); the resulting
state is read back from moto with a separate session that is not counted.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from sprocket_cli import stamp
from sprocket_cli.aws.settings import AwsSettings, settings_path
from sprocket_cli.cli import app
from tests.conftest import AwsStandIn

runner = CliRunner()
ACCOUNT = "123456789012"  # moto's default account
BUCKET = f"sprocket-{ACCOUNT}-us-east-1"
MUTATING = ("Create", "Put", "Update", "Delete", "Tag", "Upload")


class Sent:
    """The AWS operations sent through boto3's default session, as "service.Operation"."""

    def __init__(self) -> None:
        self.ops: list[str] = []

    def record(self, event_name: str, **_: Any) -> None:
        self.ops.append(event_name.removeprefix("before-call."))

    def counts(self) -> Counter[str]:
        return Counter(self.ops)

    def mutating(self) -> list[str]:
        return [op for op in self.ops if op.split(".", 1)[1].startswith(MUTATING)]

    def clear(self) -> None:
        self.ops.clear()


@pytest.fixture(autouse=True)
def _config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings file lands in tmp; no instance-metadata lookups when credentials are absent."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def sent(aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """A fresh default session (credentials resolved anew per test) with a call counter on it."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    counter = Sent()
    boto3.DEFAULT_SESSION.events.register("before-call", counter.record)
    yield counter


@pytest.fixture
def moto(aws: AwsStandIn) -> boto3.Session:
    """A session of its own for reading moto's state: its calls are not counted."""
    return boto3.Session(region_name=aws.region)


def make_bundle(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("lambda_bundle/__init__.py", "")
        z.writestr("lambda_bundle/handler.py", "def handler(event, context):\n    return {}\n")
    return path


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "bundle.zip")


def invoke(*args: str, input: str | None = None) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"}, input=input)


def setup(bundle: Path, *extra: str) -> Any:
    result = invoke("setup", "--region", "us-east-1", "--bundle", str(bundle), *extra)
    assert result.exit_code == 0, result.output
    return result


def test_setup_twice_creates_everything_once(sent: Sent, moto: boto3.Session, bundle: Path) -> None:
    first = setup(bundle)
    counts = sent.counts()
    for op in (
        "s3.CreateBucket",
        "s3.PutPublicAccessBlock",
        "s3.PutBucketEncryption",
        "s3.PutBucketLifecycleConfiguration",
        "s3.PutObject",
        "iam.CreateRole",
        "iam.PutRolePolicy",
        "lambda.CreateFunction",
    ):
        assert counts[op] == 1, (op, counts)
    assert counts["s3.PutBucketOwnershipControls"] == 0  # create_bucket set it already
    assert "deployed sprocket-worker" in first.output

    sent.clear()
    second = setup(bundle)
    assert sent.ops, "the second run reads"
    assert sent.mutating() == []
    assert "everything is up to date" in second.output

    s3 = moto.client("s3")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rule["Filter"] == {"Prefix": "jobs/"} and rule["Expiration"] == {"Days": 1}
    owner = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"]
    assert owner == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"bundles/{stamp.code_stamp()}-arm64.zip"]

    iam = moto.client("iam")
    (role,) = [r for r in iam.list_roles()["Roles"] if r["RoleName"] == "sprocket-worker"]
    trust = role["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert iam.list_role_policies(RoleName="sprocket-worker")["PolicyNames"] == ["sprocket-worker-access"]
    policy = iam.get_role_policy(RoleName="sprocket-worker", PolicyName="sprocket-worker-access")
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["JobObjects"]["Resource"] == f"arn:aws:s3:::{BUCKET}/jobs/*"
    assert statements["ListJobs"]["Condition"] == {"StringLike": {"s3:prefix": ["jobs/*"]}}
    assert statements["OwnLogs"]["Resource"] == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/sprocket-worker:*"
    )

    lam = moto.client("lambda")
    (fn,) = lam.list_functions()["Functions"]
    assert fn["FunctionName"] == "sprocket-worker"
    assert stamp.code_stamp() in fn["Description"]
    assert fn["Handler"] == "lambda_bundle.handler.handler" and fn["Runtime"] == "python3.12"
    assert fn["Architectures"] == ["arm64"] and fn["MemorySize"] == 3008
    assert fn["Role"] == f"arn:aws:iam::{ACCOUNT}:role/sprocket-worker"
    assert lam.get_function(FunctionName="sprocket-worker")["Tags"] == {"managed-by": "sprocket"}

    settings = AwsSettings.load()
    assert settings == AwsSettings(region="us-east-1", bucket=BUCKET, stamp=stamp.code_stamp())
    text = settings_path().read_text()
    assert "testing" not in text  # the fake secret key and token never reach the file


def test_a_new_stamp_or_setting_updates_only_the_function(
    sent: Sent, moto: boto3.Session, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup(bundle)
    monkeypatch.setattr(stamp, "code_stamp", lambda: "9.9.9+0123456789ab")
    sent.clear()
    setup(bundle)
    assert sorted(sent.mutating()) == [
        "lambda.UpdateFunctionCode",
        "lambda.UpdateFunctionConfiguration",
        "s3.PutObject",  # bundles/9.9.9+0123456789ab-arm64.zip
    ]
    fn = moto.client("lambda").get_function_configuration(FunctionName="sprocket-worker")
    assert "9.9.9+0123456789ab" in fn["Description"]
    assert AwsSettings.load() is not None and AwsSettings.load().stamp == "9.9.9+0123456789ab"  # type: ignore[union-attr]

    sent.clear()
    setup(bundle, "--memory", "4096")
    assert sent.mutating() == ["lambda.UpdateFunctionConfiguration"]
    fn = moto.client("lambda").get_function_configuration(FunctionName="sprocket-worker")
    assert fn["MemorySize"] == 4096


def test_dry_run_makes_no_call_and_prints_the_plan(sent: Sent, bundle: Path) -> None:
    result = invoke("setup", "--region", "eu-west-1", "--bundle", str(bundle), "--dry-run")
    assert result.exit_code == 0, result.output
    assert sent.ops == []
    out = result.output
    assert "assumes nothing exists yet" in out
    for op in (
        "get_caller_identity",
        "head_bucket",
        "create_bucket",
        "put_public_access_block",
        "put_bucket_encryption",
        "put_bucket_lifecycle_configuration",
        "upload_file",
        "create_role",
        "put_role_policy",
        "create_function",
    ):
        assert op in out, op
    assert "LocationConstraint" in out and "eu-west-1" in out
    assert "sprocket-<account>-eu-west-1" in out
    assert not settings_path().exists()


def test_dry_run_needs_no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_credentials(monkeypatch)
    result = invoke(
        "setup", "--region", "us-east-1", "--bundle", str(make_bundle(tmp_path / "b.zip")), "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "create_function" in result.output


def test_teardown_removes_everything(sent: Sent, moto: boto3.Session, bundle: Path) -> None:
    setup(bundle)
    s3 = moto.client("s3")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=BUCKET, Key="jobs/j1/chunk-0.mp4", Body=body)
    s3.delete_object(Bucket=BUCKET, Key="jobs/j1/chunk-0.mp4")  # a delete marker too

    sent.clear()
    dry = invoke("teardown", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert sent.ops == []
    assert "delete_function" in dry.output and "delete_bucket" in dry.output

    refused = invoke("teardown", input="n\n")
    assert refused.exit_code != 0
    assert sent.mutating() == []
    assert settings_path().exists()

    result = invoke("teardown", "--yes")
    assert result.exit_code == 0, result.output
    assert s3.list_buckets()["Buckets"] == []
    assert [r for r in moto.client("iam").list_roles()["Roles"] if r["RoleName"] == "sprocket-worker"] == []
    assert moto.client("lambda").list_functions()["Functions"] == []
    assert not settings_path().exists()

    again = invoke("teardown", "--yes")
    assert again.exit_code == 0 and "nothing to remove" in again.output


def test_teardown_with_pieces_already_gone(sent: Sent, moto: boto3.Session, bundle: Path) -> None:
    setup(bundle)
    moto.client("lambda").delete_function(FunctionName="sprocket-worker")
    result = invoke("teardown", "--yes")
    assert result.exit_code == 0, result.output
    assert moto.client("s3").list_buckets()["Buckets"] == []


def test_doctor_passes_when_set_up(sent: Sent, moto: boto3.Session, bundle: Path) -> None:
    setup(bundle)
    result = invoke("doctor")
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    for name in ("ffmpeg", "settings", "credentials", "bucket", "deployed code"):
        assert rows[name].startswith("✓"), rows
    assert ACCOUNT in rows["credentials"]
    # moto 5.2 does not implement GetAccountSettings: the row warns (doctor still passes) then.
    assert rows["concurrency"].startswith("✓") or "could not read" in rows["concurrency"]
    keys = [o["Key"] for o in moto.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert not any(k.startswith("jobs/") for k in keys), "the probe is deleted"


def test_doctor_reports_a_stale_deployment(sent: Sent, bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup(bundle)
    monkeypatch.setattr(stamp, "code_stamp", lambda: "9.9.9+0123456789ab")
    result = invoke("doctor")
    assert result.exit_code == 1, result.output
    row = _rows(result.output)["deployed code"]
    assert row.startswith("✗") and "this is 9.9.9+0123456789ab" in row
    assert "sprocket setup  (deploys this version)" in row


def test_doctor_without_setup_says_run_setup(sent: Sent) -> None:
    result = invoke("doctor", "--region", "us-east-1")
    assert result.exit_code == 1
    rows = _rows(result.output)
    assert rows["settings"].startswith("✗") and "sprocket setup --region REGION" in rows["settings"]
    assert rows["credentials"].startswith("✓")


def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def test_no_credentials_is_one_line(aws: AwsStandIn, bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_credentials(monkeypatch)
    result = invoke("setup", "--region", "us-east-1", "--bundle", str(bundle))
    assert result.exit_code == 12
    assert result.stderr.strip().splitlines() == [
        "error: no AWS credentials found: run `aws configure`, set AWS_PROFILE, or pass --profile"
    ]
    assert "Traceback" not in result.output

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    doctor = invoke("doctor", "--region", "us-east-1")
    assert doctor.exit_code == 1
    assert "Traceback" not in doctor.output
    row = _rows(doctor.output)["credentials"]
    assert row.startswith("✗") and "no AWS credentials found" in row and "aws configure" in row


def test_an_unknown_region_is_one_line(sent: Sent, bundle: Path) -> None:
    result = invoke("setup", "--region", "mars-north-1", "--bundle", str(bundle))
    assert result.exit_code == 12
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: unknown AWS region 'mars-north-1': ")
    assert sent.ops == []


def test_a_function_sprocket_did_not_create_is_left_alone(
    sent: Sent, moto: boto3.Session, bundle: Path
) -> None:
    s3, iam, lam = moto.client("s3"), moto.client("iam"), moto.client("lambda")
    s3.create_bucket(Bucket="someone-elses-code")
    s3.put_object(Bucket="someone-elses-code", Key="f.zip", Body=bundle.read_bytes())
    role = iam.create_role(RoleName="theirs", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    lam.create_function(
        FunctionName="sprocket-worker",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="x.handler",
        Code={"S3Bucket": "someone-elses-code", "S3Key": "f.zip"},
    )
    result = invoke("setup", "--region", "us-east-1", "--bundle", str(bundle))
    assert result.exit_code == 12
    assert "exists that sprocket did not create" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not any(op.startswith("lambda.Update") for op in sent.ops)


def _rows(output: str) -> dict[str, str]:
    """The doctor's table as {check name: the rest of its line, mark first}."""
    rows = {}
    for line in output.splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2 and parts[0] in "✓✗!-":
            for name in ("ffmpeg", "settings", "credentials", "bucket", "deployed code", "concurrency"):
                if parts[1].startswith(name):
                    rows[name] = f"{parts[0]} {parts[1][len(name) :].strip()}"
    return rows


def test_setup_outside_us_east_1(sent: Sent, moto: boto3.Session, bundle: Path) -> None:
    result = invoke("setup", "--region", "eu-west-1", "--bundle", str(bundle), "--arch", "x86_64")
    assert result.exit_code == 0, result.output
    bucket = f"sprocket-{ACCOUNT}-eu-west-1"
    assert moto.client("s3").get_bucket_location(Bucket=bucket)["LocationConstraint"] == "eu-west-1"
    fn = (
        boto3.Session(region_name="eu-west-1")
        .client("lambda")
        .get_function_configuration(FunctionName="sprocket-worker")
    )
    assert fn["Architectures"] == ["x86_64"]


def test_an_unknown_profile_is_one_line(sent: Sent, bundle: Path) -> None:
    result = invoke("setup", "--region", "us-east-1", "--bundle", str(bundle), "--profile", "nope")
    assert result.exit_code == 12
    (line,) = result.stderr.strip().splitlines()
    assert "nope" in line and "could not be found" in line
    assert sent.ops == []
