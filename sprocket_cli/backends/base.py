"""The backend interface, and finding a backend by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from sprocket_cli.errors import OptionError
from sprocket_cli.executors.base import Executor
from sprocket_cli.pipeline.registry import installed, load_plugin, stage_ref
from sprocket_cli.storage import Storage
from sprocket_cli.storage.local import LocalStorage

if TYPE_CHECKING:
    from sprocket_cli.stages.base import AnyStage

BACKEND_GROUP = "sprocket.backends"


class Backend(ABC):
    """Builds what a job runs on. Options are the backend's own settings, by name (a Ray
    cluster's address, a simulated cloud's model); each backend says which it takes."""

    NAME: ClassVar[str]
    DESCRIPTION: ClassVar[str]
    REMOTE: ClassVar[bool] = False
    """Workers run elsewhere and cannot read this machine's files: local sources are cut and
    uploaded for them, and stages that need more than Lambda's bundle carries are refused
    (unless :meth:`runs` says otherwise)."""
    USER_STAGES: ClassVar[bool] = True
    """Whether the workers can import a stage of the user's own (``module:Class``): False
    where they run a bundle of this project's code only (Lambda)."""
    FOR_USERS: ClassVar[bool] = True
    """Offered to ``--backend``; False for backends that do no real work (simulation)."""
    OPTIONS: ClassVar[Mapping[str, str]] = {}
    """Option name -> what it sets."""

    def __init__(self, options: Mapping[str, object] | None = None) -> None:
        self.options = dict(options or {})
        unknown = sorted(set(self.options) - set(self.OPTIONS))
        if unknown:
            takes = ", ".join(sorted(self.OPTIONS)) or "none"
            wrong = ", ".join(unknown)
            raise OptionError("backend", f"{self.NAME} takes no option {wrong} (it takes: {takes})")
        self.notices: list[str] = []
        """Lines for the user before work starts (workers capped, for example)."""

    @abstractmethod
    def executor(self, workers: int) -> Executor:
        """Workers for one job; the executor may run fewer than asked (and says why in
        :attr:`notices`)."""

    def runs(self, stage: type[AnyStage]) -> bool:
        """Whether this backend's workers can run ``stage``: every stage on this machine; on
        remote workers, those :attr:`Stage.REMOTE <sprocket_cli.stages.base.Stage.REMOTE>` allows,
        and a user's own only where the workers can import it (:attr:`USER_STAGES`)."""
        return (stage.REMOTE or not self.REMOTE) and (self.USER_STAGES or ":" not in stage_ref(stage))

    def refusal(self, stage: type[AnyStage]) -> str | None:
        """Why this backend's workers cannot run ``stage``, in one line; None: they can."""
        if self.runs(stage):
            return None
        ref = stage_ref(stage)
        # A user's own stage (module:Class) is not in the workers' code: say which way works.
        own = " (a stage of your own runs on the local backend)" if ":" in ref else ""
        return f"{ref} cannot run on the {self.NAME} backend's workers{own}"

    def reads_in_place(self, path: str) -> bool:
        """Whether the workers read this machine's file at ``path`` as it is; False: it is
        cut into storage for them."""
        return not self.REMOTE

    def storage(self, job_dir: Path, job_id: str) -> Storage:
        """Where the items of job ``job_id`` live; by default its folder on this machine."""
        return LocalStorage(job_dir)

    def recorded_storage(self, job_dir: Path, job_id: str) -> Storage | None:
        """Where a recorded job's items and stream are when not in its folder (for ``monitor``
        and ``resume``); None: in its folder. Needs no workers."""
        return None


def backend_names(for_users: bool = True) -> list[str]:
    """The installed backends' names (those offered to users, or all)."""
    names = sorted(installed(BACKEND_GROUP))
    return [n for n in names if not for_users or backend_class(n).FOR_USERS]


def backend_class(name: str) -> type[Backend]:
    return cast("type[Backend]", load_plugin(BACKEND_GROUP, name, "backend", Backend))


def open_backend(name: str, options: Mapping[str, object] | None = None) -> Backend:
    """The backend ``name`` with ``options``; :class:`~sprocket_cli.errors.UnknownPluginError`
    naming the installed ones for an unknown name."""
    return backend_class(name)(options)
