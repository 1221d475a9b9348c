"""AwsSettings (the file the Lambda executor reads), the planned-call data, and the retry on a new role."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sprocket_cli.aws.deploy import Target, setup_steps, stamp_of
from sprocket_cli.aws.documents import access_policy
from sprocket_cli.aws.errors import AwsError, AwsSettingsError
from sprocket_cli.aws.plan import ROLE_RETRY_DELAYS, Call, Runner, covers, dry_run
from sprocket_cli.aws.settings import AwsSettings, settings_path


@pytest.fixture(autouse=True)
def _config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_settings_round_trip_atomically(tmp_path: Path) -> None:
    assert AwsSettings.load() is None
    saved = AwsSettings(region="eu-west-1", bucket="b-123", stamp="0.1.0+abc", profile="work")
    path = saved.save()
    assert path == settings_path() == tmp_path / "config" / "sprocket" / "aws.toml"
    assert AwsSettings.load() == saved
    assert [p.name for p in path.parent.iterdir()] == ["aws.toml"]  # no temporary left behind
    assert AwsSettings.delete() and not AwsSettings.delete()
    assert AwsSettings.load() is None


def test_settings_without_profile_omit_it() -> None:
    AwsSettings(region="us-east-1", bucket="b-123").save()
    assert "profile" not in settings_path().read_text()
    loaded = AwsSettings.load()
    assert loaded is not None and loaded.profile is None and loaded.function == "sprocket-worker"


def test_settings_say_whether_the_bundle_finds_faces_and_older_ones_do_not() -> None:
    AwsSettings(region="us-east-1", bucket="b-123", faces=True).save()
    assert AwsSettings.load() == AwsSettings(region="us-east-1", bucket="b-123", faces=True)
    settings_path().write_text('region = "us-east-1"\nbucket = "b-123"\n')  # saved before faces
    loaded = AwsSettings.load()
    assert loaded is not None and loaded.faces is False


@pytest.mark.parametrize(
    "text",
    [
        "region = ",
        'bucket = "b"',
        'region = "r"\nbucket = "b"\nmemory_mb = "x"',
        'region = "r"\nbucket = "b"\nfaces = "yes"',
        'region = "r"\nbucket = "b"\nmemory_mb = true',
    ],
)
def test_a_broken_settings_file_is_one_clear_error(text: str) -> None:
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text(text)
    with pytest.raises(AwsSettingsError, match=r"aws\.toml"):
        AwsSettings.load()


def test_the_aws_modules_import_neither_boto3_nor_a_screen() -> None:
    code = (
        "import sys, json; import sprocket_cli.aws.settings, sprocket_cli.aws.deploy, "
        "sprocket_cli.aws.teardown, sprocket_cli.aws.doctor; print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in json.loads(out.stdout)}
    assert not loaded & {"boto3", "botocore", "typer", "rich", "textual", "tui"}


def test_the_cli_starts_without_boto3() -> None:
    code = "import sys; import sprocket_cli.cli; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def target(**changes: Any) -> Target:
    values: dict[str, Any] = {
        "region": "us-east-1",
        "account": "111122223333",
        "bucket": "bkt",
        "function": "fn",
        "role": "rl",
        "memory_mb": 3008,
        "arch": "arm64",
        "stamp": "0.1.0+abc",
        "runtime": "python3.12",
        "bundle": "b.zip",
    }
    return Target(**{**values, **changes})


def test_the_role_policy_names_only_the_jobs_prefix_and_the_functions_logs() -> None:
    policy = access_policy(target())
    resources = [s["Resource"] for s in policy["Statement"]]
    assert resources == [
        "arn:aws:s3:::bkt/jobs/*",
        "arn:aws:s3:::bkt",
        "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/fn:*",
    ]


def test_a_dry_run_plans_creations_in_order() -> None:
    ops = [call.operation for call, is_read in dry_run(setup_steps(target())) if not is_read]
    assert ops == [
        "create_bucket",
        "put_public_access_block",
        "put_bucket_encryption",
        "put_bucket_ownership_controls",
        "put_bucket_lifecycle_configuration",
        "upload_file",
        "create_role",
        "put_role_policy",
        "create_function",
    ]
    assert stamp_of(target().description) == "0.1.0+abc"


def test_covers_ignores_fields_the_service_adds() -> None:
    assert covers({"a": 1, "b": {"c": 2, "extra": 3}}, {"b": {"c": 2}})
    assert not covers({"b": {"c": 3}}, {"b": {"c": 2}})
    assert not covers({"l": [1, 2]}, {"l": [1]})


class NewRoleLambda:
    """A Lambda client that refuses a new role the first ``refusals`` times, as AWS does for seconds."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.calls = 0

    def create_function(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.refusals:
            error = {
                "Code": "InvalidParameterValueException",
                "Message": "The role defined for the function cannot be assumed by Lambda.",
            }
            raise ClientError({"Error": error}, "CreateFunction")
        return {"FunctionName": params["FunctionName"]}


class OneClient:
    def __init__(self, client: NewRoleLambda) -> None:
        self.client = client

    def of(self, service: str) -> NewRoleLambda:
        return self.client


CREATE = Call("lambda", "create_function", {"FunctionName": "fn"}, "test")


def test_a_new_role_is_retried_with_growing_pauses() -> None:
    lam = NewRoleLambda(refusals=3)
    slept: list[float] = []
    Runner(OneClient(lam), sleep=slept.append).execute(CREATE)  # type: ignore[arg-type]
    assert lam.calls == 4 and slept == list(ROLE_RETRY_DELAYS[:3])


def test_a_role_that_never_becomes_ready_fails_after_bounded_tries() -> None:
    lam = NewRoleLambda(refusals=100)
    slept: list[float] = []
    with pytest.raises(AwsError, match="cannot be assumed by Lambda"):
        Runner(OneClient(lam), sleep=slept.append).execute(CREATE)  # type: ignore[arg-type]
    assert lam.calls == len(ROLE_RETRY_DELAYS) + 1 and sum(slept) < 60
