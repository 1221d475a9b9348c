"""``simulated``: a model of a cloud on a virtual clock, for estimates; no real work."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from sprocket_cli.backends.base import Backend
from sprocket_cli.executors.simulated import CloudModel, SimulatedExecutor
from sprocket_cli.storage import Storage
from sprocket_cli.storage.memory import MemoryStorage


class SimulatedBackend(Backend):
    NAME: ClassVar[str] = "simulated"
    DESCRIPTION: ClassVar[str] = "a modelled cloud on a virtual clock (estimates; writes nothing)"
    FOR_USERS: ClassVar[bool] = False
    OPTIONS: ClassVar[dict[str, str]] = {"model": "the CloudModel to simulate (default: Lambda's)"}

    def executor(self, workers: int) -> SimulatedExecutor:
        model = self.options.get("model", CloudModel())
        if not isinstance(model, CloudModel):
            raise TypeError(f"the simulated backend's model must be a CloudModel, not {model!r}")
        return SimulatedExecutor(workers, model)

    def storage(self, job_dir: Path, job_id: str) -> Storage:
        return MemoryStorage()
