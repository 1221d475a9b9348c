"""Storage in an S3 bucket under a key prefix, for workers on AWS Lambda.

boto3 is imported when a storage is made, not with this module, so the local path starts fast.
Credentials, region and endpoint come only from boto3's standard chain (``AWS_ENDPOINT_URL``
points it at a stand-in such as moto).
"""

from __future__ import annotations

import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from sprocket_cli.storage.base import Storage, StorageSpec

if TYPE_CHECKING:
    import boto3
    from botocore.exceptions import ClientError
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedMultipartUploadTypeDef, ObjectIdentifierTypeDef

#: Files larger than this (bytes) are sent in parts, several at once.
MULTIPART_THRESHOLD = 64 * 1024 * 1024
#: Bytes per part; S3 wants at least 5 MiB for every part but the last, and at most 10,000 parts.
PART_SIZE = 8 * 1024 * 1024
_MAX_PARTS = 10_000
#: Parts in flight per transfer (each holds one part in memory).
PART_CONCURRENCY = 8
#: HTTP connections per client: many worker threads share one storage, each may run a transfer.
MAX_POOL_CONNECTIONS = 64
#: Seconds a presigned URL stays valid: longer than a job, as ffmpeg and players keep re-reading
#: (range requests) while it runs. SigV4 allows up to 7 days, but a URL signed with temporary
#: credentials (a Lambda role) dies with them anyway. Workers' inputs are not signed this long:
#: each task gets its own, short-lived URL as it is dispatched (:func:`presign_input`).
URL_EXPIRY = 6 * 60 * 60

#: HTTP statuses of a conditional write that lost: the key exists (412), or another conditional
#: write to it was in flight (409 ConditionalRequestConflict).
_LOST = {409, 412}
#: Keys per DeleteObjects request: the service's maximum.
DELETE_BATCH = 1000


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``; :class:`ValueError` if it is not one."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not bucket:
        raise ValueError(f"not an s3://bucket/key URL: {url!r}")
    return bucket, key


def check_s3_input(url: str, client: S3Client | None = None) -> None:
    """Whether the ``s3://bucket/key`` input is there and readable (``client``: the
    deployment's profile and region; default: boto3's chain); one HEAD request.

    :class:`~sprocket_cli.errors.InputError` if it is malformed or the object is not there
    (or cannot be read with the credentials at hand).
    """
    from sprocket_cli.aws.errors import aws_errors
    from sprocket_cli.errors import InputError

    try:
        bucket, key = split_s3_url(url)
        store = S3Storage(bucket, client=client)
        with aws_errors():
            found = store.exists(key)
    except ValueError as exc:
        raise InputError(f"{url}: {exc}") from None
    if not found:
        raise InputError(f"{url}: no such object (or no permission to read it)")


def presign_input(url: str, client: S3Client, seconds: int) -> str:
    """A URL that reads the ``s3://bucket/key`` object ``url`` for ``seconds`` from now.

    Signing is local (no request is made): it is cheap enough to do for every task as it is
    dispatched, so that no URL outlives the task it was made for."""
    bucket, key = split_s3_url(url)
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds
    )


def s3_client(session: boto3.Session | None = None, region: str | None = None) -> S3Client:
    """An S3 client for storage: from ``session`` (default: a new one on boto3's chain)."""
    import boto3
    from botocore.config import Config

    # SigV4: left to itself botocore presigns with the deprecated SigV2 (it does in us-east-1),
    # which regions opened since 2014 reject. A session of its own: boto3's default one is
    # not safe to share across threads.
    config = Config(
        signature_version="s3v4",
        retries={"mode": "standard"},
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )
    return (session or boto3.session.Session()).client("s3", region_name=region, config=config)


#: This process's S3 clients for storage that workers rebuild from specs, by (region, endpoint):
#: a Lambda container keeps them across invocations, so each invocation after the first skips a
#: new session, its credential lookup and its TLS connections.
_CLIENTS: dict[tuple[str | None, str | None], S3Client] = {}
_CLIENTS_LOCK = threading.Lock()


def _shared_client() -> S3Client:
    """The S3 client for where boto3's chain points now (one per region and endpoint, built
    once even when several threads ask at the same moment; clients are thread-safe)."""
    # Lambda sets both region variables; botocore reads only the first (the endpoint it reads
    # itself, in this order).
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    where = (region, os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(where)
        if client is None:
            client = _CLIENTS[where] = s3_client(region=region)
        return client


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class S3Storage(Storage):
    NAME: ClassVar[str] = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        client: S3Client | None = None,
        *,
        multipart_threshold: int = MULTIPART_THRESHOLD,
    ) -> None:
        from boto3.s3.transfer import TransferConfig

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.multipart_threshold = multipart_threshold
        self._client = client or s3_client()
        self._errors = self._client.exceptions.ClientError
        self._download = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=PART_SIZE,
            max_concurrency=PART_CONCURRENCY,
        )

    def spec(self) -> StorageSpec:
        return StorageSpec("s3", f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket)

    @classmethod
    def from_location(cls, location: str) -> S3Storage:
        """The storage a spec's ``bucket/prefix`` names, on the process's one client: a worker
        (a Lambda container above all) opens one per task, and a new client costs a new
        session, its credential lookup and its connections."""
        bucket, _, prefix = location.partition("/")
        return cls(bucket, prefix, client=_shared_client())

    def _key(self, key: str) -> str:
        # The same keys LocalStorage accepts, so a job behaves alike on both; S3 would take
        # "a/../b" or "/a" literally, as names no folder could hold.
        if not key or any(part in ("", ".", "..") for part in key.split("/")):
            raise ValueError(f"storage key {key!r} is not a plain relative path")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_bytes(self, key: str, data: bytes, *, exclusive: bool = False) -> bool:
        return self._put_object(self._key(key), data, exclusive)

    def put_file(self, key: str, path: str, *, exclusive: bool = False) -> bool:
        name = self._key(key)
        size = os.path.getsize(path)
        if size > self.multipart_threshold:
            stored = self._put_parts(name, path, size, exclusive)
        else:
            with open(path, "rb") as body:
                stored = self._put_object(name, body, exclusive)
        Path(path).unlink()
        return stored

    def _put_object(self, name: str, body: bytes | BinaryIO, exclusive: bool) -> bool:
        try:
            if exclusive:
                self._client.put_object(Bucket=self.bucket, Key=name, Body=body, IfNoneMatch="*")
            else:
                self._client.put_object(Bucket=self.bucket, Key=name, Body=body)
        except self._errors as exc:
            if exclusive and _status(exc) in _LOST:
                return False
            raise
        return True

    def _put_parts(self, name: str, path: str, size: int, exclusive: bool) -> bool:
        """A multipart upload of ``path``; done by hand because boto3's ``upload_file`` cannot
        make CompleteMultipartUpload conditional, and ``exclusive`` must hold for big files too."""
        part_size = max(PART_SIZE, -(-size // _MAX_PARTS))
        upload = self._client.create_multipart_upload(Bucket=self.bucket, Key=name)["UploadId"]

        def send(number: int) -> tuple[int, str]:
            with open(path, "rb") as f:
                f.seek((number - 1) * part_size)
                body = f.read(part_size)
            sent = self._client.upload_part(
                Bucket=self.bucket, Key=name, UploadId=upload, PartNumber=number, Body=body
            )
            return number, sent["ETag"]

        try:
            with ThreadPoolExecutor(PART_CONCURRENCY) as pool:
                etags = pool.map(send, range(1, -(-size // part_size) + 1))
                done: CompletedMultipartUploadTypeDef = {
                    "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in etags]
                }
            if exclusive:
                self._client.complete_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=upload, MultipartUpload=done, IfNoneMatch="*"
                )
            else:
                self._client.complete_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=upload, MultipartUpload=done
                )
        except BaseException as exc:
            # Parts of an unfinished upload are stored (and billed) until aborted.
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload)
            if exclusive and isinstance(exc, self._errors) and _status(exc) in _LOST:
                return False
            raise
        return True

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self._errors as exc:
            if _status(exc) == 404:
                raise KeyError(key) from None
            raise

    def get_file(self, key: str, path: str) -> None:
        dest = Path(path)
        # Into a temporary name beside the destination, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.close(fd)
        try:
            # Big objects come as concurrent ranged GETs.
            self._client.download_file(self.bucket, self._key(key), tmp, Config=self._download)
            os.replace(tmp, dest)
        except self._errors as exc:
            if _status(exc) == 404:
                raise KeyError(key) from None
            raise
        finally:
            Path(tmp).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors as exc:
            if _status(exc) == 404:
                return False
            raise
        return True

    def list(self, prefix: str = "") -> list[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base + prefix
        )
        return sorted(obj["Key"][len(base) :] for page in pages for obj in page.get("Contents", []))

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_all(self, prefix: str) -> int:
        # DeleteObjects takes up to 1,000 keys a request: a job's thousands of intermediates go
        # in a few requests instead of one each.
        keys = self.list(prefix)
        for start in range(0, len(keys), DELETE_BATCH):
            batch: list[ObjectIdentifierTypeDef] = [
                {"Key": self._key(k)} for k in keys[start : start + DELETE_BATCH]
            ]
            self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(keys)

    def url(self, key: str) -> str:
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=URL_EXPIRY
        )
