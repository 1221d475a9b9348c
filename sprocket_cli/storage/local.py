"""Storage in a local folder; writes go to a temporary name and are renamed into place."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from sprocket_cli.storage.base import Storage, StorageSpec


class LocalStorage(Storage):
    NAME: ClassVar[str] = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def spec(self) -> StorageSpec:
        return StorageSpec("local", str(self.root))

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"storage key {key!r} leaves the storage folder")
        return path

    def _atomic(self, key: str) -> tuple[Path, str]:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.close(fd)
        return dest, tmp

    def put_bytes(self, key: str, data: bytes, *, exclusive: bool = False) -> bool:
        dest, tmp = self._atomic(key)
        with _removed_on_failure(tmp):
            Path(tmp).write_bytes(data)
        return self._commit(tmp, dest, exclusive)

    def put_file(self, key: str, path: str, *, exclusive: bool = False) -> bool:
        dest, tmp = self._atomic(key)
        with _removed_on_failure(tmp):
            shutil.move(path, tmp)
        return self._commit(tmp, dest, exclusive)

    @staticmethod
    def _commit(tmp: str, dest: Path, exclusive: bool) -> bool:
        """Rename ``tmp`` into place; when ``exclusive``, only if ``dest`` does not exist yet
        (a hard link fails atomically if it does, so of two racing writers exactly one wins)."""
        try:
            if not exclusive:
                os.replace(tmp, dest)
                return True
            try:
                os.link(tmp, dest)
            except FileExistsError:
                return False
            return True
        finally:
            Path(tmp).unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def get_file(self, key: str, path: str) -> None:
        src = self._path(key)
        if not src.is_file():
            raise KeyError(key)
        shutil.copyfile(src, path)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        keys = (
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and not p.name.endswith(".part")
        )
        return sorted(k for k in keys if k.startswith(prefix))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return self._path(key).as_uri()

    def local_path(self, key: str) -> str | None:
        return str(self._path(key))


@contextlib.contextmanager
def _removed_on_failure(tmp: str) -> Iterator[None]:
    """Remove ``tmp`` if writing it fails: half a file on a full disk keeps the disk full."""
    try:
        yield
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
