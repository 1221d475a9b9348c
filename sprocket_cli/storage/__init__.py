"""Where items live between tasks and where the stream is written: a folder, S3, or the Ray
object store."""

from __future__ import annotations

from sprocket_cli.storage.base import Storage, StorageSpec


def open_storage(spec: StorageSpec) -> Storage:
    """The storage a :class:`StorageSpec` names (workers rebuild theirs from it)."""
    if spec.kind == "local":
        from sprocket_cli.storage.local import LocalStorage

        return LocalStorage(spec.location)
    if spec.kind == "memory":
        from sprocket_cli.storage.memory import MemoryStorage

        return MemoryStorage.reopen(spec.location)
    if spec.kind == "s3":
        from sprocket_cli.storage.s3 import S3Storage

        return S3Storage.from_location(spec.location)
    if spec.kind == "ray":
        # Ray is imported here only: on a Ray job's own processes.
        from sprocket_cli.storage.ray_objects import RayObjectStorage

        return RayObjectStorage.reopen(spec.location)
    raise ValueError(f"unknown storage kind {spec.kind!r}")


__all__ = ["Storage", "StorageSpec", "open_storage"]
