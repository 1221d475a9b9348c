"""The documents ``sprocket setup`` hands AWS: the role's policies, the bucket's settings, the
tag that marks what setup made, and the read that finds the role's policy. Data only;
:mod:`~sprocket_cli.aws.deploy` sends them and :mod:`~sprocket_cli.aws.teardown` removes them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sprocket_cli.aws.plan import Call

if TYPE_CHECKING:
    from sprocket_cli.aws.deploy import Target

#: Intermediates live under this prefix; the role may touch nothing else in the bucket.
JOBS_PREFIX = "jobs/"
#: The tag that marks what setup created; setup and teardown refuse to touch a function without it.
MANAGED_TAG = ("managed-by", "sprocket")
ROLE_POLICY = "sprocket-worker-access"
LIFECYCLE_RULE = "sprocket-expire-intermediates"
#: Days. Intermediates are deleted by the coordinator when a job ends, but a coordinator that
#: crashed, or a laptop closed mid-job, leaves them behind for ever, billed monthly. A job on
#: Lambda runs for minutes, so a day is far longer than any job needs its intermediates, and
#: short enough that orphans cost next to nothing. (A job resumed more than a day later simply
#: redoes the chunks whose intermediates expired.)
INTERMEDIATE_DAYS = 1


def trust_policy() -> dict[str, Any]:
    """Only the Lambda service may assume the worker role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def access_policy(t: Target) -> dict[str, Any]:
    """The worker may read and write ``jobs/*`` of its bucket and write its own logs; nothing else."""
    bucket_arn = f"arn:{t.partition}:s3:::{t.bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "JobObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"{bucket_arn}/{JOBS_PREFIX}*",
            },
            {
                "Sid": "ListJobs",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{JOBS_PREFIX}*"]}},
            },
            {
                "Sid": "OwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": (
                    f"arn:{t.partition}:logs:{t.region}:{t.account}:log-group:/aws/lambda/{t.function}:*"
                ),
            },
        ],
    }


PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
OWNERSHIP = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def lifecycle_rule() -> dict[str, Any]:
    return {
        "ID": LIFECYCLE_RULE,
        "Filter": {"Prefix": JOBS_PREFIX},
        "Status": "Enabled",
        "Expiration": {"Days": INTERMEDIATE_DAYS},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": INTERMEDIATE_DAYS},
    }


def tags_managed(tags: Mapping[str, str] | None) -> bool:
    return (tags or {}).get(MANAGED_TAG[0]) == MANAGED_TAG[1]


def parsed_document(value: Any) -> Any:
    """IAM policy documents come back parsed by boto3, or as URL-encoded JSON from some clients."""
    if isinstance(value, str):
        from urllib.parse import unquote

        try:
            return json.loads(unquote(value))
        except ValueError:
            return None
    return value


def read_role_policy(role: Mapping[str, str], why: str) -> Call:
    """The read of the role's inline policy (``role``: its RoleName); a missing one is no error."""
    return Call(
        "iam",
        "get_role_policy",
        {**role, "PolicyName": ROLE_POLICY},
        why,
        missing=frozenset({"NoSuchEntity"}),
    )
