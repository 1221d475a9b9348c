"""``ray``: tasks on a Ray cluster of the user's own machines; items in the job folder (which
every node must see at the same path: one machine, or a shared file system) or in S3-compatible
storage. Ray is imported only when this backend is opened (``pip install 'sprocket[ray]'``)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from sprocket_cli.backends.base import Backend
from sprocket_cli.errors import OptionError, UsageError
from sprocket_cli.pipeline.registry import STAGE_GROUP, installed
from sprocket_cli.storage import Storage
from sprocket_cli.storage.local import LocalStorage

if TYPE_CHECKING:
    from sprocket_cli.executors.ray_cluster import RayExecutor
    from sprocket_cli.stages.base import AnyStage

#: The ``storage`` option's value for the job folder.
JOB_FOLDER = "job"
#: Stages refused on Lambda only for what its bundle cannot carry (dlib and the face models
#: pass its size limit), which a node has: it runs the sprocket installed on it, extras and all
#: (`sprocket doctor --backend ray` checks that every node's matches this machine's).
NODE_INSTALLED = frozenset({"find_faces"})
RESOURCES_FORM = "STAGE=RESOURCE:AMOUNT, comma-separated (like find_faces=GPU:1,encode=CPU:4)"


class RayBackend(Backend):
    NAME: ClassVar[str] = "ray"
    DESCRIPTION: ClassVar[str] = "Ray tasks on your own machines (a LAN, a render farm, KubeRay)"
    # Nodes are other machines as a rule: local sources are cut and put in storage for them.
    REMOTE: ClassVar[bool] = True
    OPTIONS: ClassVar[dict[str, str]] = {
        "address": "auto (the cluster `ray start` runs here, or $RAY_ADDRESS; the default) or HOST:PORT",
        "storage": f"{JOB_FOLDER} (the job folder, the default: every node must see it at the same path) "
        "or s3://BUCKET/PREFIX (any S3-compatible endpoint)",
        "env": "this machine's environment variables the tasks get, comma-separated (S3 credentials "
        "for nodes that lack them)",
        "resources": f"Ray resources a stage's tasks need, {RESOURCES_FORM}: CPU, GPU or a "
        "node's custom resource; a task needs those of every stage it runs",
    }

    def __init__(self, options: Mapping[str, object] | None = None) -> None:
        super().__init__(options)
        self.address = str(self.options.get("address", "auto"))
        self.store = str(self.options.get("storage", JOB_FOLDER))
        if self.store != JOB_FOLDER and not self.store.startswith("s3://"):
            wrong = (
                f"{self.NAME} takes storage={JOB_FOLDER} or storage=s3://BUCKET/PREFIX, not {self.store!r}"
            )
            raise OptionError("backend", wrong)
        names = [n.strip() for n in str(self.options.get("env", "")).split(",") if n.strip()]
        unset = [n for n in names if n not in os.environ]
        if unset:
            raise OptionError("backend", f"{self.NAME}'s env names {', '.join(unset)}, not set here")
        self.env = {n: os.environ[n] for n in names}
        self.resources = parse_resources(str(self.options.get("resources", "")))

    def executor(self, workers: int) -> RayExecutor:
        try:
            from sprocket_cli.executors.ray_cluster import RayExecutor
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] != "ray":
                raise
            raise UsageError("the ray backend needs Ray here: pip install 'sprocket[ray]'") from None
        executor = RayExecutor(workers, self.address, self.env, self.resources)
        if executor.capped is not None:
            self.notices.append(executor.capped)
        return executor

    def runs(self, stage: type[AnyStage]) -> bool:
        return stage.REMOTE or stage.NAME in NODE_INSTALLED

    def storage(self, job_dir: Path, job_id: str) -> Storage:
        if self.store == JOB_FOLDER:
            return LocalStorage(job_dir)
        from sprocket_cli.storage.s3 import S3Storage, split_s3_url

        bucket, prefix = split_s3_url(self.store)
        return S3Storage(bucket, "/".join(p for p in (prefix.strip("/"), "jobs", job_id) if p))

    def recorded_storage(self, job_dir: Path, job_id: str) -> Storage | None:
        return None if self.store == JOB_FOLDER else self.storage(job_dir, job_id)


def parse_resources(text: str) -> dict[str, dict[str, float]]:
    """Stage name -> Ray resource -> amount, from the ``resources`` option's ``text``;
    :class:`OptionError` for a malformed entry or a stage that is not installed."""
    stages = sorted(installed(STAGE_GROUP))
    out: dict[str, dict[str, float]] = {}
    for entry in (e.strip() for e in text.split(",") if e.strip()):
        stage, _, need = entry.partition("=")
        name, _, amount = need.partition(":")
        try:
            value = float(amount)
        except ValueError:
            value = math.nan
        if not stage or not name or not (math.isfinite(value) and value > 0):
            wrong = f"takes {RESOURCES_FORM}, not {entry!r}"
        elif stage not in stages:
            wrong = f"names {stage!r}, not a stage (stages: {', '.join(stages)})"
        else:
            out.setdefault(stage, {})[name] = value
            continue
        raise OptionError("backend", f"{RayBackend.NAME}'s resources {wrong}")
    return out
