"""``--backend``: where a job's tasks run and its items live.

``local``: worker processes on this machine, items in the job folder. ``lambda``: the function
``sprocket setup`` deployed, items in its S3 bucket under ``jobs/<job id>/``; local sources are
cut and uploaded as the job starts (the workers cannot read this machine's files).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from sprocket_cli.cli.render import console
from sprocket_cli.errors import UsageError
from sprocket_cli.executors.base import Executor
from sprocket_cli.executors.local import LocalExecutor
from sprocket_cli.jobs import JobRecord
from sprocket_cli.storage import Storage
from sprocket_cli.storage.local import LocalStorage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from sprocket_cli.aws.settings import AwsSettings

BACKENDS = ("local", "lambda")


@dataclass
class Backend:
    executor: Executor
    storage: Callable[[Path, str], Storage]
    """The storage of a job (its folder, its id)."""
    remote: bool
    """Whether workers run elsewhere, so local sources must be uploaded for them."""


def open_backend(name: str, workers: int) -> Backend:
    if name == "local":
        # The executor runs no more workers than the machine's cores and memory take.
        local = LocalExecutor(workers)
        if local.capped is not None:
            console.print(f"[yellow]note:[/] {escape(local.capped)}", highlight=False, soft_wrap=True)
        return Backend(local, lambda job_dir, _id: LocalStorage(job_dir), remote=False)
    if name == "lambda":
        return _lambda(workers)
    raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, not {name!r}")


def remote_storage(record: JobRecord) -> Storage | None:
    """Where a recorded job's items and stream are when not in its folder (a Lambda job's S3)."""
    if record.backend == "local":
        return None
    settings = _settings()
    return _job_storage(settings, _s3(settings))(Path(), record.job_id)


def input_client() -> S3Client | None:
    """The S3 client ``s3://`` inputs are read with: the deployment's profile and region when
    `sprocket setup` ran, else boto3's chain (None)."""
    from sprocket_cli.aws.settings import AwsSettings

    settings = AwsSettings.load()
    return None if settings is None else _s3(settings)


def _settings() -> AwsSettings:
    from sprocket_cli.aws.settings import AwsSettings

    settings = AwsSettings.load()
    if settings is None:
        raise UsageError("--backend lambda needs a deployment: run `sprocket setup --region REGION` first")
    return settings


def _s3(settings: AwsSettings) -> S3Client:
    """An S3 client with the deployment's profile, in its region."""
    from sprocket_cli.aws.errors import aws_errors
    from sprocket_cli.aws.session import open_session
    from sprocket_cli.storage.s3 import s3_client

    with aws_errors():
        return s3_client(open_session(settings.profile), settings.region)


def _job_storage(settings: AwsSettings, s3: S3Client) -> Callable[[Path, str], Storage]:
    """A job's storage on the deployment: its bucket's ``jobs/<job id>/``."""
    from sprocket_cli.storage.s3 import S3Storage

    return lambda _dir, job_id: S3Storage(settings.bucket, f"jobs/{job_id}", client=s3)


def _lambda(workers: int) -> Backend:
    from sprocket_cli.aws.deploy import TIMEOUT_S
    from sprocket_cli.aws.errors import aws_errors
    from sprocket_cli.aws.session import open_session
    from sprocket_cli.executors.aws_lambda import LambdaExecutor, lambda_client

    settings = _settings()
    with aws_errors():
        executor = LambdaExecutor(
            workers,
            settings.function,
            memory_mb=settings.memory_mb,
            arch=settings.arch,
            client=lambda_client(open_session(settings.profile), settings.region, TIMEOUT_S),
        )
        executor.check_bundle()
    return Backend(executor, _job_storage(settings, _s3(settings)), remote=True)
