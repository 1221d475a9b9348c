"""``local``: worker processes on this machine, items in the job folder."""

from __future__ import annotations

from typing import ClassVar

from sprocket_cli.backends.base import Backend
from sprocket_cli.executors.local import LocalExecutor


class LocalBackend(Backend):
    NAME: ClassVar[str] = "local"
    DESCRIPTION: ClassVar[str] = "worker processes on this machine; items in the job folder"

    def executor(self, workers: int) -> LocalExecutor:
        # The executor runs no more workers than the machine's cores and memory take.
        local = LocalExecutor(workers)
        if local.capped is not None:
            self.notices.append(local.capped)
        return local
