"""The storage interface: put/get/exists/list/delete/url over string keys."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class StorageSpec:
    """Enough to reopen a storage in another process (a worker)."""

    kind: str
    location: str
    """Folder path for local storage; ``bucket/prefix`` for S3."""


class Storage(ABC):
    NAME: ClassVar[str]

    @abstractmethod
    def spec(self) -> StorageSpec: ...

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, *, exclusive: bool = False) -> bool:
        """Store ``data`` under ``key`` atomically: readers see the old value or the whole new
        one. With ``exclusive``, store only if ``key`` is absent, so that of several writers
        racing exactly one wins. True if this call stored it."""

    @abstractmethod
    def put_file(self, key: str, path: str, *, exclusive: bool = False) -> bool:
        """Like :meth:`put_bytes` for the file at ``path`` (which is moved or removed)."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The value of ``key``; :class:`KeyError` if there is none."""

    @abstractmethod
    def get_file(self, key: str, path: str) -> None:
        """Copy the value of ``key`` into a local file at ``path``."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; no error if it is absent."""

    def delete_all(self, prefix: str) -> int:
        """Remove every key starting with ``prefix``; how many there were. One request per key
        by default; a storage that deletes in batches says so."""
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    @abstractmethod
    def url(self, key: str) -> str:
        """A URL ffmpeg (or a player) can read ``key`` from."""

    def local_path(self, key: str) -> str | None:
        """A local file holding ``key`` without copying, where the storage has one."""
        return None

    def local_source(self, source: str, dest: str) -> str:
        """Where a task reads its input ``source`` (a path or URL): the source itself, or a
        copy at ``dest`` where this storage serves the source and a copy reads faster."""
        return source
