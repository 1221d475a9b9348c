"""Storage in this process's memory: for the simulated executor and tests, never for workers
in other processes (its spec cannot be reopened elsewhere)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import ClassVar

from sprocket_cli.storage.base import Storage, StorageSpec

_open: dict[str, MemoryStorage] = {}
_ids = itertools.count()


class MemoryStorage(Storage):
    NAME: ClassVar[str] = "memory"

    def __init__(self) -> None:
        self.name = f"mem-{next(_ids)}"
        self._data: dict[str, bytes] = {}
        _open[self.name] = self

    @classmethod
    def reopen(cls, name: str) -> MemoryStorage:
        return _open[name]

    def spec(self) -> StorageSpec:
        return StorageSpec("memory", self.name)

    def put_bytes(self, key: str, data: bytes, *, exclusive: bool = False) -> bool:
        if exclusive and key in self._data:
            return False
        self._data[key] = bytes(data)
        return True

    def put_file(self, key: str, path: str, *, exclusive: bool = False) -> bool:
        written = self.put_bytes(key, Path(path).read_bytes(), exclusive=exclusive)
        Path(path).unlink()
        return written

    def get_bytes(self, key: str) -> bytes:
        return self._data[key]

    def get_file(self, key: str, path: str) -> None:
        Path(path).write_bytes(self._data[key])

    def exists(self, key: str) -> bool:
        return key in self._data

    def list(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self._data if k.startswith(prefix))

    def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def url(self, key: str) -> str:
        return f"memory://{self.name}/{key}"
