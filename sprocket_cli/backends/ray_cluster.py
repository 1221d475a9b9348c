"""``ray``: tasks on a Ray cluster of the user's own machines; items in the cluster's object store
(the default: nothing to share or set up), in the job folder (which every node must see at the
same path: one machine, or a shared file system) or in S3-compatible storage. Ray is imported
only when this backend is opened (``pip install 'sprocket[ray]'``)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from sprocket_cli.backends.base import Backend
from sprocket_cli.errors import OptionError, UsageError
from sprocket_cli.events import TaskFinished
from sprocket_cli.jobs.journal import JOURNAL_NAME, read_journal
from sprocket_cli.pipeline.registry import STAGE_GROUP, installed
from sprocket_cli.storage import Storage
from sprocket_cli.storage.local import LocalStorage

if TYPE_CHECKING:
    from sprocket_cli.executors.ray_cluster import RayExecutor

#: The ``storage`` option's value for the Ray object store (the default).
OBJECT_STORE = "object"
#: The ``storage`` option's value for the job folder.
JOB_FOLDER = "job"
#: Said when a job that ran with its items in the object store is picked up again.
RESUME_LOST = (
    "{tasks} finished tasks of the earlier run had their results in its Ray object store, which "
    "ended with it: they run again (storage=s3://BUCKET/PREFIX keeps results for a resume)"
)
RESOURCES_FORM = "STAGE=RESOURCE:AMOUNT, comma-separated (like find_faces=GPU:1,encode=CPU:4)"


class RayBackend(Backend):
    NAME: ClassVar[str] = "ray"
    DESCRIPTION: ClassVar[str] = "Ray tasks on your own machines (a LAN, a render farm, KubeRay)"
    # Nodes are other machines as a rule: local sources are cut and put in storage for them.
    REMOTE: ClassVar[bool] = True
    OPTIONS: ClassVar[dict[str, str]] = {
        "address": "auto (the cluster `ray start` runs here, or $RAY_ADDRESS; the default) or HOST:PORT",
        "storage": f"{OBJECT_STORE} (the cluster's object store, on this machine's node; the default), "
        f"{JOB_FOLDER} (the job folder: every node must see it at the same path) or s3://BUCKET/PREFIX "
        "(any S3-compatible endpoint; a resume finds the items there)",
        "env": "this machine's environment variables the tasks get, comma-separated (S3 credentials "
        "for nodes that lack them)",
        "resources": f"Ray resources a stage's tasks need, {RESOURCES_FORM}: CPU, GPU or a "
        "node's custom resource; a task needs those of every stage it runs",
        "shared": "folders every node sees at the same path (a farm's NFS or SMB mount), "
        "comma-separated: sources in them are read in place, not put in storage",
    }

    def __init__(self, options: Mapping[str, object] | None = None) -> None:
        super().__init__(options)
        self.address = str(self.options.get("address", "auto"))
        self.store = str(self.options.get("storage", OBJECT_STORE))
        if self.store not in (OBJECT_STORE, JOB_FOLDER) and not self.store.startswith("s3://"):
            takes = f"storage={OBJECT_STORE}, storage={JOB_FOLDER} or storage=s3://BUCKET/PREFIX"
            raise OptionError("backend", f"{self.NAME} takes {takes}, not {self.store!r}")
        names = [n.strip() for n in str(self.options.get("env", "")).split(",") if n.strip()]
        unset = [n for n in names if n not in os.environ]
        if unset:
            raise OptionError("backend", f"{self.NAME}'s env names {', '.join(unset)}, not set here")
        self.env = {n: os.environ[n] for n in names}
        self.resources = parse_resources(str(self.options.get("resources", "")))
        folders = [f.strip() for f in str(self.options.get("shared", "")).split(",") if f.strip()]
        missing = [f for f in folders if not Path(f).is_dir()]
        if missing:
            wrong = f"{self.NAME}'s shared names {', '.join(missing)}: no such folder here"
            raise OptionError("backend", wrong)
        self.shared = [Path(f).resolve() for f in folders]

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

    def reads_in_place(self, path: str) -> bool:
        # Resolved: a link from elsewhere into the mount, or out of it, counts where it leads.
        where = Path(path).resolve()
        return any(where.is_relative_to(folder) for folder in self.shared)

    def storage(self, job_dir: Path, job_id: str) -> Storage:
        if self.store == OBJECT_STORE:
            from sprocket_cli.storage.ray_objects import RayObjectStorage, actor_name

            lost = finished_tasks(job_dir)
            notice = RESUME_LOST.format(tasks=lost)
            if lost and notice not in self.notices:  # once, however often the job's storage opens
                self.notices.append(notice)
            return RayObjectStorage(actor_name(job_id))
        if self.store == JOB_FOLDER:
            return LocalStorage(job_dir)
        from sprocket_cli.storage.s3 import S3Storage, split_s3_url

        bucket, prefix = split_s3_url(self.store)
        return S3Storage(bucket, "/".join(p for p in (prefix.strip("/"), "jobs", job_id) if p))

    def recorded_storage(self, job_dir: Path, job_id: str) -> Storage | None:
        # The object store's items are reachable only through the job's own Ray connection.
        return None if self.store in (OBJECT_STORE, JOB_FOLDER) else self.storage(job_dir, job_id)


def finished_tasks(job_dir: Path) -> int:
    """Tasks the journal in ``job_dir`` shows finished: an earlier run's, when it has any."""
    if not (job_dir / JOURNAL_NAME).is_file():
        return 0
    return sum(1 for e in read_journal(job_dir) if isinstance(e, TaskFinished) and e.result is not None)


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
