"""``sprocket teardown`` as steps: what setup created, removed in an order AWS accepts."""

from __future__ import annotations

from dataclasses import dataclass

from sprocket_cli.aws.documents import MANAGED_TAG, ROLE_POLICY, read_role_policy, tags_managed
from sprocket_cli.aws.errors import AwsError, one_line
from sprocket_cli.aws.plan import Call, Response, Step


@dataclass(frozen=True)
class Deployed:
    """What teardown removes (from the saved settings)."""

    region: str
    account: str
    bucket: str
    function: str
    role: str


def teardown_steps(d: Deployed) -> list[Step]:
    """The function, the role's policy, the role, every object version, the bucket."""
    name = {"FunctionName": d.function}
    role = {"RoleName": d.role}
    bucket = {"Bucket": d.bucket}

    def function(seen: Response | None) -> list[Call]:
        if seen is None:
            return []
        if not tags_managed(seen.get("Tags")):
            raise AwsError(f"the Lambda function {d.function!r} is not tagged as sprocket's: left alone")
        return [Call("lambda", "delete_function", name, "the worker")]

    def policy(seen: Response | None) -> list[Call]:
        if seen is None:
            return []
        return [
            Call(
                "iam",
                "delete_role_policy",
                {**role, "PolicyName": ROLE_POLICY},
                "the role's inline policy (a role with policies cannot be deleted)",
            )
        ]

    def the_role(seen: Response | None) -> list[Call]:
        return [] if seen is None else [Call("iam", "delete_role", role, "the worker's identity")]

    def objects(seen: Response | None) -> list[Call]:
        listed = [*(seen or {}).get("Versions", []), *(seen or {}).get("DeleteMarkers", [])]
        if not listed:
            return []
        keys = [{"Key": o["Key"], "VersionId": o["VersionId"]} for o in listed]
        return [
            Call(
                "s3",
                "delete_objects",
                {**bucket, "Delete": {"Objects": keys, "Quiet": True}},
                "a bucket must be empty before it can be deleted",
                check=_no_delete_errors,
            )
        ]

    def the_bucket(seen: Response | None) -> list[Call]:
        return [] if seen is None else [Call("s3", "delete_bucket", bucket, "the bucket itself")]

    every = {"Versions": [{"Key": "<every key>", "VersionId": "<every version>"}]}
    owned = {**bucket, "ExpectedBucketOwner": d.account}
    return [
        Step(
            f"function {d.function}",
            Call(
                "lambda",
                "get_function",
                name,
                "read: is it there?",
                missing=frozenset({"ResourceNotFoundException"}),
            ),
            function,
            assumed={"Tags": dict([MANAGED_TAG])},
        ),
        Step(
            f"role policy {ROLE_POLICY}",
            read_role_policy(role, "read: is it there?"),
            policy,
            assumed={},
        ),
        Step(
            f"role {d.role}",
            Call("iam", "get_role", role, "read: is it there?", missing=frozenset({"NoSuchEntity"})),
            the_role,
            assumed={},
        ),
        Step(
            f"objects in {d.bucket}",
            Call(
                "s3",
                "list_object_versions",
                {**bucket, "MaxKeys": 1000},
                "read: what is left in the bucket (every version, 1000 at a time)?",
                missing=frozenset({"NoSuchBucket", "404"}),
            ),
            objects,
            assumed=every,
            repeat=True,
        ),
        Step(
            f"bucket {d.bucket}",
            Call(
                "s3", "head_bucket", owned, "read: is it there?", missing=frozenset({"404", "NoSuchBucket"})
            ),
            the_bucket,
            assumed={},
        ),
    ]


def _no_delete_errors(answer: Response) -> None:
    errors = answer.get("Errors", [])
    if errors:
        first = errors[0]
        raise AwsError(
            f"could not delete {len(errors)} objects, e.g. {first.get('Key')}: "
            f"{first.get('Code')}: {one_line(str(first.get('Message', '')))}"
        )
