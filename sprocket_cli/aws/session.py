"""boto3 sessions and clients from the standard credential chain, imported lazily.

Credentials come only from boto3's chain (``--profile``, ``AWS_PROFILE``, the environment,
~/.aws, instance roles); Sprocket never reads, stores or prints them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sprocket_cli.aws.errors import AwsError, aws_errors

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

_REGION_SHAPE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def known_regions() -> set[str]:
    """Regions where botocore's bundled endpoint data has Lambda (a local lookup, no call)."""
    import botocore.session

    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("lambda", partition))
    return regions


def check_region(region: str) -> str:
    """``region`` if Lambda exists there, else an :class:`AwsError` naming the problem."""
    if region in known_regions():
        return region
    if not _REGION_SHAPE.match(region):
        raise AwsError(f"unknown AWS region {region!r}: expected a name like us-east-1 or eu-west-3")
    raise AwsError(
        f"unknown AWS region {region!r}: this boto3 does not know Lambda there "
        "(check the spelling, or upgrade boto3 if the region is new)"
    )


def open_session(profile: str | None) -> boto3.Session:
    """boto3's default session (no profile), or one for ``profile``; no call is made yet."""
    import boto3

    with aws_errors():
        if profile is not None:
            return boto3.Session(profile_name=profile)
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        return boto3.DEFAULT_SESSION


def default_region(profile: str | None) -> str | None:
    """The region boto3's chain would use (AWS_REGION, AWS_DEFAULT_REGION, the profile)."""
    return open_session(profile).region_name


@dataclass
class Clients:
    """The four clients setup, teardown and doctor use, made on first use."""

    region: str
    profile: str | None = None
    session: boto3.Session = field(init=False)

    def __post_init__(self) -> None:
        self.session = open_session(self.profile)

    @cached_property
    def s3(self) -> S3Client:
        with aws_errors():
            return self.session.client("s3", region_name=self.region)

    @cached_property
    def iam(self) -> IAMClient:
        with aws_errors():
            return self.session.client("iam", region_name=self.region)

    @cached_property
    def lambda_(self) -> LambdaClient:
        with aws_errors():
            return self.session.client("lambda", region_name=self.region)

    @cached_property
    def sts(self) -> STSClient:
        with aws_errors():
            return self.session.client("sts", region_name=self.region)

    def of(self, service: str) -> S3Client | IAMClient | LambdaClient | STSClient:
        """The client for ``service`` ("s3", "iam", "lambda" or "sts")."""
        if service == "s3":
            return self.s3
        if service == "iam":
            return self.iam
        if service == "lambda":
            return self.lambda_
        if service == "sts":
            return self.sts
        raise ValueError(f"no client for {service!r}")


@dataclass(frozen=True)
class Identity:
    """Who boto3's chain says we are."""

    account: str
    arn: str

    @property
    def partition(self) -> str:
        """ "aws", "aws-cn" or "aws-us-gov": the second field of the caller's ARN."""
        parts = self.arn.split(":")
        return parts[1] if len(parts) > 1 and parts[1] else "aws"


def whoami(clients: Clients) -> Identity:
    """sts get_caller_identity: fails with a one-line :class:`AwsError` without credentials."""
    with aws_errors():
        answer = clients.sts.get_caller_identity()
    return Identity(answer.get("Account", ""), answer.get("Arn", ""))
