"""``lambda``: the function ``sprocket setup`` deployed; items in its S3 bucket under
``jobs/<job id>/``. Local sources are cut and uploaded as the job starts (the workers cannot
read this machine's files). boto3 is imported only when this backend is opened."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from sprocket_cli.backends.base import Backend
from sprocket_cli.errors import UsageError
from sprocket_cli.storage import Storage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from sprocket_cli.aws.settings import AwsSettings
    from sprocket_cli.executors.aws_lambda import LambdaExecutor
    from sprocket_cli.stages.base import AnyStage

#: Stages only a bundle with the local face provider runs (sprocket_cli.aws.bundle.FACES_ARCHES).
FACE_STAGES = frozenset({"find_faces"})


class LambdaBackend(Backend):
    NAME: ClassVar[str] = "lambda"
    DESCRIPTION: ClassVar[str] = "the AWS Lambda function `sprocket setup` deployed; items in its S3 bucket"
    REMOTE: ClassVar[bool] = True
    USER_STAGES: ClassVar[bool] = False  # the function runs the bundle `sprocket setup` built

    def refusal(self, stage: type[AnyStage]) -> str | None:
        """As any remote backend's, and a face stage where the deployed bundle lacks dlib (an
        x86_64 one, or one made before bundles carried it), saying how to get one that has it.
        Without a deployment, none: opening the executor says to run setup."""
        from sprocket_cli.aws.settings import AwsSettings

        said = super().refusal(stage)
        if said is not None or stage.NAME not in FACE_STAGES:
            return said
        settings = AwsSettings.load()
        if settings is None or settings.faces:
            return None
        return (
            f"{stage.NAME} cannot run on the lambda backend: the deployed {settings.arch} bundle has no "
            "face detector (dlib); run `sprocket setup --arch arm64` to deploy one that has, "
            "or use --backend local"
        )

    def executor(self, workers: int) -> LambdaExecutor:
        from sprocket_cli.aws.deploy import TIMEOUT_S
        from sprocket_cli.aws.errors import aws_errors
        from sprocket_cli.aws.session import open_session
        from sprocket_cli.executors.aws_lambda import LambdaExecutor, lambda_client

        settings = deployment()
        with aws_errors():
            executor = LambdaExecutor(
                workers,
                settings.function,
                memory_mb=settings.memory_mb,
                arch=settings.arch,
                client=lambda_client(open_session(settings.profile), settings.region, TIMEOUT_S, workers),
            )
            executor.check_bundle()
        return executor

    def storage(self, job_dir: Path, job_id: str) -> Storage:
        from sprocket_cli.storage.s3 import S3Storage

        settings = deployment()
        return S3Storage(settings.bucket, f"jobs/{job_id}", client=deployment_s3(settings))

    def recorded_storage(self, job_dir: Path, job_id: str) -> Storage:
        return self.storage(job_dir, job_id)


def deployment() -> AwsSettings:
    """The settings `sprocket setup` saved; a :class:`UsageError` when it has not run."""
    from sprocket_cli.aws.settings import AwsSettings

    settings = AwsSettings.load()
    if settings is None:
        raise UsageError("the lambda backend needs a deployment: run `sprocket setup --region REGION` first")
    return settings


def deployment_s3(settings: AwsSettings) -> S3Client:
    """An S3 client with the deployment's profile, in its region."""
    from sprocket_cli.aws.errors import aws_errors
    from sprocket_cli.aws.session import open_session
    from sprocket_cli.storage.s3 import s3_client

    with aws_errors():
        return s3_client(open_session(settings.profile), settings.region)


def input_client() -> S3Client | None:
    """The S3 client ``s3://`` inputs are read with: the deployment's profile and region when
    `sprocket setup` ran, else boto3's chain (None)."""
    from sprocket_cli.aws.settings import AwsSettings

    settings = AwsSettings.load()
    return None if settings is None else deployment_s3(settings)
