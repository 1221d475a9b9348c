"""``sprocket doctor``: can this machine run jobs on Lambda? Each check says how to fix a failure."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

from sprocket_cli import stamp
from sprocket_cli.aws.deploy import stamp_of
from sprocket_cli.aws.documents import JOBS_PREFIX
from sprocket_cli.aws.errors import AwsError, aws_errors
from sprocket_cli.aws.session import Clients, Identity, check_region, default_region, whoami
from sprocket_cli.aws.settings import AwsSettings, settings_path
from sprocket_cli.backends.checks import Check
from sprocket_cli.errors import SprocketError
from sprocket_cli.media.ffmpeg import ffmpeg_exe

#: Below this many unreserved concurrent executions a job cannot fan out (new accounts get 10).
LOW_CONCURRENCY = 100
#: Service Quotas' code for "Lambda concurrent executions".
CONCURRENCY_QUOTA = "L-B99A9384"
SETUP = "sprocket setup"


def run_checks(profile: str | None = None, region: str | None = None) -> Iterator[Check]:
    """ffmpeg, settings, credentials, bucket, deployed stamp, concurrency: in that order."""
    yield check_ffmpeg()
    try:
        settings = AwsSettings.load()
    except AwsError as exc:
        settings = None
        yield Check("settings", "fail", str(exc), SETUP)
    else:
        if settings is None:
            yield Check("settings", "fail", f"none at {settings_path()}", f"{SETUP} --region REGION")
        else:
            yield Check(
                "settings",
                "pass",
                f"{settings.function} in {settings.region}, bucket {settings.bucket} ({settings_path()})",
            )
    profile = profile or (settings.profile if settings else None)
    try:
        region = region or (settings.region if settings else None) or default_region(profile)
        if region is None:
            raise AwsError("no AWS region: pass --region (or set AWS_REGION)")
        clients = Clients(check_region(region), profile)
        identity = whoami(clients)
    except SprocketError as exc:
        yield Check("credentials", "fail", str(exc), "aws configure  (or pass --profile / set AWS_PROFILE)")
        for name in ("bucket", "deployed code", "concurrency"):
            yield Check(name, "skip", "needs credentials")
        return
    yield Check("credentials", "pass", f"account {identity.account} as {identity.arn}")
    if settings is None:
        yield Check("bucket", "skip", "needs settings")
        yield Check("deployed code", "skip", "needs settings")
    else:
        yield check_bucket(clients, settings, identity)
        yield check_stamp(clients, settings)
    yield check_concurrency(clients)


def check_ffmpeg() -> Check:
    """The ffmpeg Sprocket runs is there and can encode H.264 (libx264)."""
    fix = "pip install imageio-ffmpeg  (or set SPROCKET_FFMPEG to an ffmpeg with libx264)"
    try:
        exe = ffmpeg_exe()
        out = subprocess.run(
            [exe, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, RuntimeError, subprocess.TimeoutExpired, ImportError) as exc:
        return Check("ffmpeg", "fail", f"not runnable: {exc}", fix)
    if out.returncode != 0:
        return Check("ffmpeg", "fail", f"{exe} exited {out.returncode}", fix)
    if " libx264 " not in out.stdout:
        return Check("ffmpeg", "fail", f"{exe} has no libx264 encoder", fix)
    return Check("ffmpeg", "pass", f"{exe} (libx264)")


def check_bucket(clients: Clients, settings: AwsSettings, identity: Identity) -> Check:
    """head_bucket, then a probe object under jobs/ written, read back and deleted."""
    key = f"{JOBS_PREFIX}.sprocket-doctor-{uuid.uuid4().hex}"
    body = b"sprocket doctor probe"
    try:
        with aws_errors():
            clients.s3.head_bucket(Bucket=settings.bucket, ExpectedBucketOwner=identity.account)
            clients.s3.put_object(Bucket=settings.bucket, Key=key, Body=body)
            try:
                got = clients.s3.get_object(Bucket=settings.bucket, Key=key)["Body"].read()
            finally:
                clients.s3.delete_object(Bucket=settings.bucket, Key=key)
    except AwsError as exc:
        return Check("bucket", "fail", f"s3://{settings.bucket}: {exc}", SETUP)
    if got != body:
        return Check("bucket", "fail", f"s3://{settings.bucket}: the probe read back differs", SETUP)
    return Check("bucket", "pass", f"s3://{settings.bucket}/{JOBS_PREFIX}: write, read and delete work")


def check_stamp(clients: Clients, settings: AwsSettings) -> Check:
    """The function's code stamp (in its Description) is this code's."""
    here = stamp.code_stamp()
    try:
        with aws_errors():
            config = clients.lambda_.get_function_configuration(FunctionName=settings.function)
    except AwsError as exc:
        return Check("deployed code", "fail", f"{settings.function}: {exc}", SETUP)
    deployed = stamp_of(config.get("Description", ""))
    if deployed != here:
        return Check(
            "deployed code",
            "fail",
            f"{settings.function} runs {deployed or 'an unknown version'}, this is {here}",
            f"{SETUP}  (deploys this version)",
        )
    return Check("deployed code", "pass", f"{settings.function} runs {here}")


def check_concurrency(clients: Clients) -> Check:
    """How many workers can run at once: the account's concurrency limit and what is unreserved.

    A warning, not a failure, when low or unreadable: jobs still run, only with fewer workers.
    """
    fix = (
        "aws service-quotas request-service-quota-increase --service-code lambda "
        f"--quota-code {CONCURRENCY_QUOTA} --desired-value 1000"
    )
    try:
        with aws_errors():
            limits = clients.lambda_.get_account_settings().get("AccountLimit", {})
    except AwsError as exc:
        return Check("concurrency", "warn", f"could not read the account's limit: {exc}")
    total = limits.get("ConcurrentExecutions", 0)
    free = limits.get("UnreservedConcurrentExecutions", 0)
    detail = f"{total} concurrent executions, {free} unreserved"
    if free < LOW_CONCURRENCY:
        return Check("concurrency", "warn", f"{detail}: jobs fan out to at most {free} workers", fix)
    return Check("concurrency", "pass", detail)
