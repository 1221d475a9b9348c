"""``sprocket setup`` as steps: the bucket and its settings, the bundle, the role, the function.

Each step reads first (see :mod:`sprocket_cli.aws.plan`), so setup is idempotent: a second run
finds everything in place and changes nothing; a new code stamp or setting updates only the
function.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sprocket_cli.aws.documents import (
    ENCRYPTION,
    INTERMEDIATE_DAYS,
    JOBS_PREFIX,
    LIFECYCLE_RULE,
    MANAGED_TAG,
    OWNERSHIP,
    PUBLIC_ACCESS_BLOCK,
    ROLE_POLICY,
    access_policy,
    lifecycle_rule,
    parsed_document,
    read_role_policy,
    tags_managed,
    trust_policy,
)
from sprocket_cli.aws.errors import AwsError
from sprocket_cli.aws.plan import Call, Response, Step, covers

#: The handler inside the bundle: a thin adapter over sprocket_cli.worker.
HANDLER = "lambda_bundle.handler.handler"
BUNDLES_PREFIX = "bundles/"
#: Seconds. A task is one chunk of a few seconds of video through one fused ffmpeg run: seconds
#: of work even at 4K with a slow preset, plus a cold start (~1-2 s for the bundle). Five minutes
#: leaves an order of magnitude of slack, while a worker stuck on a bad input is killed (and the
#: task retried by the coordinator) long before Lambda's 15-minute maximum bills for it.
TIMEOUT_S = 300
_STAMP = re.compile(r"code stamp ([^\s,]+)")


@dataclass(frozen=True)
class Target:
    """What setup should leave in the account."""

    region: str
    account: str
    bucket: str
    function: str
    role: str
    memory_mb: int
    arch: str
    stamp: str
    #: e.g. "python3.12": the bundle's interpreter.
    runtime: str
    #: The local zip to upload, as shown and opened ("<built bundle>" in a dry run).
    bundle: str
    partition: str = "aws"
    #: Whether the zip carries the local face provider (sprocket_cli.aws.bundle.FACES_ARCHES).
    faces: bool = False

    @property
    def bundle_key(self) -> str:
        # One key per build: a zip of the same code for the other architecture, or without
        # faces, already in the bucket is not this one.
        return f"{BUNDLES_PREFIX}{self.stamp}-{self.arch}{'-faces' if self.faces else ''}.zip"

    @property
    def role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{self.role}"

    @property
    def description(self) -> str:
        """Names the deployed build: its code stamp, and whether it finds faces."""
        return f"Sprocket worker, code stamp {self.stamp}{', with faces' if self.faces else ''}"


def default_bucket(account: str, region: str) -> str:
    """``sprocket-<account>-<region>``: unique per account and region, as bucket names must be."""
    return f"sprocket-{account}-{region}"


def stamp_of(description: str) -> str | None:
    """The code stamp setup wrote into a function's Description, if any."""
    found = _STAMP.search(description)
    return found.group(1) if found else None


IDENTITY = Call(
    "sts",
    "get_caller_identity",
    {},
    "read: the account id (ARNs, the default bucket name, the bucket owner check)",
)


# ---------------------------------------------------------------- setup


def setup_steps(t: Target) -> list[Step]:
    """Bucket and its settings, bundle upload, role and its policy, the function: in that order."""
    return [*_bucket_steps(t), _bundle_step(t), *_role_steps(t), _function_step(t)]


def _bucket_steps(t: Target) -> list[Step]:
    bucket = {"Bucket": t.bucket}
    where = {} if t.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": t.region}}
    taken = "bucket names are global: if another account owns this one, pass --bucket NAME"

    def bucket_needed(seen: Response | None) -> list[Call]:
        if seen is not None:
            return []
        return [
            Call(
                "s3",
                "create_bucket",
                {**bucket, **where, "ObjectOwnership": "BucketOwnerEnforced"},
                "private storage for chunks between stages (jobs/) and for bundles (bundles/)",
                hint=taken,
            )
        ]

    def put_if(
        key: str, want: Mapping[str, Any], operation: str, param: str, why: str
    ) -> Callable[[Response | None], list[Call]]:
        def decide(seen: Response | None) -> list[Call]:
            if seen is not None and covers(seen.get(key), want):
                return []
            return [Call("s3", operation, {**bucket, param: want}, why)]

        return decide

    def lifecycle(seen: Response | None) -> list[Call]:
        rules = list((seen or {}).get("Rules", []))
        ours = [r for r in rules if r.get("ID") == LIFECYCLE_RULE]
        if len(ours) == 1 and covers(ours[0], lifecycle_rule()):
            return []
        others = [r for r in rules if r.get("ID") != LIFECYCLE_RULE]  # the user's own rules stay
        return [
            Call(
                "s3",
                "put_bucket_lifecycle_configuration",
                {**bucket, "LifecycleConfiguration": {"Rules": [*others, lifecycle_rule()]}},
                f"delete intermediates under {JOBS_PREFIX} after {INTERMEDIATE_DAYS} day: "
                "a crashed job never leaves a bill behind",
            )
        ]

    return [
        Step(
            f"bucket {t.bucket}",
            Call(
                "s3",
                "head_bucket",
                {**bucket, "ExpectedBucketOwner": t.account},
                "read: does the bucket exist (in this account)?",
                missing=frozenset({"404", "NoSuchBucket"}),
                hint=taken,
            ),
            bucket_needed,
        ),
        Step(
            "public access block",
            Call(
                "s3",
                "get_public_access_block",
                bucket,
                "read: is public access blocked?",
                missing=frozenset({"NoSuchPublicAccessBlockConfiguration"}),
            ),
            put_if(
                "PublicAccessBlockConfiguration",
                PUBLIC_ACCESS_BLOCK,
                "put_public_access_block",
                "PublicAccessBlockConfiguration",
                "no ACL or bucket policy can ever make the bucket public",
            ),
        ),
        Step(
            "default encryption",
            Call(
                "s3",
                "get_bucket_encryption",
                bucket,
                "read: is default encryption AES256?",
                missing=frozenset({"ServerSideEncryptionConfigurationNotFoundError"}),
            ),
            put_if(
                "ServerSideEncryptionConfiguration",
                ENCRYPTION,
                "put_bucket_encryption",
                "ServerSideEncryptionConfiguration",
                "every object encrypted at rest with S3-managed keys (no KMS grants for the role)",
            ),
        ),
        Step(
            "object ownership",
            Call(
                "s3",
                "get_bucket_ownership_controls",
                bucket,
                "read: are ACLs disabled (bucket owner enforced)?",
                missing=frozenset({"OwnershipControlsNotFoundError"}),
            ),
            put_if(
                "OwnershipControls",
                OWNERSHIP,
                "put_bucket_ownership_controls",
                "OwnershipControls",
                "ACLs off: the account owns every object, access is by IAM policy alone",
            ),
        ),
        Step(
            "lifecycle",
            Call(
                "s3",
                "get_bucket_lifecycle_configuration",
                bucket,
                f"read: do intermediates under {JOBS_PREFIX} expire?",
                missing=frozenset({"NoSuchLifecycleConfiguration"}),
            ),
            lifecycle,
        ),
    ]


def _bundle_step(t: Target) -> Step:
    key = {"Bucket": t.bucket, "Key": t.bundle_key}

    def decide(seen: Response | None) -> list[Call]:
        if seen is not None:
            return []
        return [
            Call(
                "s3",
                "upload_file",
                {"Filename": t.bundle, **key},
                f"the worker code (stamp {t.stamp}) where Lambda can read it: too big to pass inline",
            )
        ]

    read = Call(
        "s3",
        "head_object",
        key,
        "read: is this bundle already uploaded?",
        missing=frozenset({"404", "NoSuchKey"}),
    )
    return Step(f"bundle {t.bundle_key}", read, decide)


def _role_steps(t: Target) -> list[Step]:
    role = {"RoleName": t.role}

    def role_needed(seen: Response | None) -> list[Call]:
        if seen is None:
            return [
                Call(
                    "iam",
                    "create_role",
                    {
                        **role,
                        "AssumeRolePolicyDocument": json.dumps(trust_policy()),
                        "Description": "Sprocket's Lambda worker: jobs/ of its bucket and its own logs",
                        "Tags": [{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}],
                    },
                    "the identity the function runs as; only lambda.amazonaws.com may assume it",
                )
            ]
        found = seen.get("Role", {})
        tags = {tag["Key"]: tag["Value"] for tag in found.get("Tags", [])}
        if not tags_managed(tags):
            raise AwsError(
                f"an IAM role {t.role!r} exists that sprocket did not create (no "
                f"{MANAGED_TAG[0]}={MANAGED_TAG[1]} tag): delete or tag it, sprocket will not take it over"
            )
        if covers(parsed_document(found.get("AssumeRolePolicyDocument")), trust_policy()):
            return []
        return [
            Call(
                "iam",
                "update_assume_role_policy",
                {**role, "PolicyDocument": json.dumps(trust_policy())},
                "only lambda.amazonaws.com may assume the role",
            )
        ]

    def policy_needed(seen: Response | None) -> list[Call]:
        want = access_policy(t)
        if seen is not None and covers(parsed_document(seen.get("PolicyDocument")), want):
            return []
        return [
            Call(
                "iam",
                "put_role_policy",
                {**role, "PolicyName": ROLE_POLICY, "PolicyDocument": json.dumps(want)},
                f"the role may use s3://{t.bucket}/{JOBS_PREFIX}* and its own log group, nothing else",
            )
        ]

    return [
        Step(
            f"role {t.role}",
            Call("iam", "get_role", role, "read: does the role exist?", missing=frozenset({"NoSuchEntity"})),
            role_needed,
        ),
        Step(
            f"role policy {ROLE_POLICY}",
            read_role_policy(role, "read: does the role's inline policy say what it should?"),
            policy_needed,
        ),
    ]


def _function_config(t: Target) -> dict[str, Any]:
    return {
        "Role": t.role_arn,
        "Handler": HANDLER,
        "Runtime": t.runtime,
        "MemorySize": t.memory_mb,
        "Timeout": TIMEOUT_S,
        "Description": t.description,
    }


def _function_step(t: Target) -> Step:
    name = {"FunctionName": t.function}
    code = {"S3Bucket": t.bucket, "S3Key": t.bundle_key}
    active = ("function_active_v2", name)
    updated = ("function_updated_v2", name)

    def decide(seen: Response | None) -> list[Call]:
        if seen is None:
            return [
                Call(
                    "lambda",
                    "create_function",
                    {
                        **name,
                        **_function_config(t),
                        "Code": code,
                        "Architectures": [t.arch],
                        "Tags": dict([MANAGED_TAG]),
                    },
                    f"the worker: {t.memory_mb} MB {t.arch}, {TIMEOUT_S} s timeout, stamp {t.stamp}",
                    wait=active,
                )
            ]
        if not tags_managed(seen.get("Tags")):
            raise AwsError(
                f"a Lambda function {t.function!r} exists that sprocket did not create (no "
                f"{MANAGED_TAG[0]}={MANAGED_TAG[1]} tag): sprocket will not replace its code"
            )
        config = seen.get("Configuration", {})
        calls = []
        if config.get("Description") != t.description or config.get("Architectures") != [t.arch]:
            calls.append(
                Call(
                    "lambda",
                    "update_function_code",
                    {**name, **code, "Architectures": [t.arch]},
                    f"deploy code stamp {t.stamp} ({t.arch}{', with faces' if t.faces else ''})",
                    wait=updated,
                )
            )
        want = _function_config(t)
        if not covers(config, want):
            changed = sorted(k for k, v in want.items() if config.get(k) != v)
            calls.append(
                Call(
                    "lambda",
                    "update_function_configuration",
                    {**name, **want},
                    f"settings changed: {', '.join(changed)}",
                    wait=updated,
                )
            )
        return calls

    read = Call(
        "lambda",
        "get_function",
        name,
        "read: does the function exist, with which code stamp and settings?",
        missing=frozenset({"ResourceNotFoundException"}),
    )
    return Step(f"function {t.function}", read, decide)
