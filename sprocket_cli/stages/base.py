"""The stage interface: named, typed ports, a config schema, and its part of a chunk's work."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.tasks import ChunkRef

_SUFFIX = re.compile(r"_\d+$")


def port_type(port: str) -> str:
    """A port's data type: its name without a trailing ``_N`` (``frames_1`` -> ``frames``)."""
    return _SUFFIX.sub("", port)


class StageConfig(BaseModel):
    """Base of every stage's config schema: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(ABC):
    """A unit of pipeline work over one chunk.

    Stages run inside one ffmpeg process per task; each adds its part to the task's
    :class:`~sprocket_cli.media.command.ChunkCommand`.
    """

    NAME: ClassVar[str]
    DESCRIPTION: ClassVar[str]
    INPUTS: ClassVar[tuple[str, ...]]
    """Input port names; the prefix is the type."""
    OUTPUTS: ClassVar[tuple[str, ...]]
    Config: ClassVar[type[StageConfig]] = StageConfig
    FUSIBLE: ClassVar[bool] = True
    """Whether the stage can share an ffmpeg process with its neighbours."""

    @abstractmethod
    def contribute(self, config: StageConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        """Add this stage's part of the work on ``chunk`` to ``command``."""
