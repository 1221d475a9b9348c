"""The stage interface: named, typed ports, a config schema, and its part of a chunk's work."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.media.probe import MediaInfo
    from sprocket_cli.tasks import ChunkRef

_SUFFIX = re.compile(r"_\d+$")


def port_type(port: str) -> str:
    """A port's data type: its name without a trailing ``_N`` (``frames_1`` -> ``frames``)."""
    return _SUFFIX.sub("", port)


class StageConfig(BaseModel):
    """Base of every stage's config schema: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Binding:
    """A node's config once the job's inputs are known, and what it asks of the chunk plan."""

    config: StageConfig
    offset: Fraction = Fraction(0)
    """Where the second input's first frame falls on the first input's timeline, seconds."""
    end_pts: int | None = None
    """Where the output ends on the first input's timeline (its ticks); None: where it ends."""
    roll: tuple[int, int] = (0, 0)
    """Frames before and after its own that each chunk must decode (windowed filters)."""
    drops: int = 0
    """Frames at the start of the video that give no output (the output starts after them)."""
    span: tuple[int, int] | None = None
    """(first, end) pts of the first input's frames the output keeps (a cut); the output's
    timeline starts at ``first``; None: every frame."""
    whole: bool = False
    """The node gives plain ffmpeg's result only over the whole video: one chunk, one worker."""
    notice: str = ""
    """One line for the user before work starts (why the job runs on one worker)."""


#: The notice of a :attr:`Stage.SERIALIZED` stage's node (after ``"NODE: "``).
SERIALIZED_NOTICE = (
    "serialized delivery: the stage keeps state from frame to frame, so its frames go in "
    "playback order to one worker (one task over the whole video)"
)


#: A stage's own config class: ``Stage[FilterConfig]`` receives a FilterConfig, typed, with
#: no check of its own (configs are only ever made by the stage's ``Config``).
C = TypeVar("C", bound=StageConfig)


class Stage(ABC, Generic[C]):
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
    REMOTE: ClassVar[bool] = True
    """Whether the Lambda bundle carries what the stage needs (the face models it does not)."""
    LOOK_BACK: ClassVar[float] = 0.0
    """Seconds of the source before its chunk that the stage reads (scene_change compares a
    chunk's first frame with those before it): chunks staged for remote workers start that far back."""
    SERIALIZED: ClassVar[bool] = False
    """Whether it needs every frame of the video in playback order on one worker, because it
    keeps state from frame to frame (a running count, a cumulative value): the original
    Sprocket's ``serialized_frame_delivery_func``. The job then runs as one task over the
    whole video, and says so before work starts."""

    def bind(self, config: C, inputs: Sequence[MediaInfo]) -> Binding:
        """Complete ``config`` with what the probed ``inputs`` (``input_0``, ``input_1``, ...) say.

        Most stages need nothing from the inputs; one that combines them (blend) learns their
        shapes here, once, instead of on every worker. A :attr:`SERIALIZED` stage that
        overrides this starts from ``super().bind(...)``, which asks for the whole video.
        """
        if self.SERIALIZED:
            return Binding(config, whole=True, notice=SERIALIZED_NOTICE)
        return Binding(config)

    @abstractmethod
    def contribute(self, config: C, command: ChunkCommand, chunk: ChunkRef) -> None:
        """Add this stage's part of the work on ``chunk`` to ``command``."""


@dataclass(frozen=True)
class Span:
    """What a :class:`PythonStage` works on: one span of one video."""

    chunk: ChunkRef
    """The span, in the video's own pts ticks (a chunk, or a whole scene)."""
    path: str
    """The video file to read it from: the source, or an intermediate."""
    context: Mapping[str, Any]
    """Input port -> facts delivered on it by earlier stages (scenes, faces)."""
    report: Callable[[str, int], None]
    """Tell the coordinator the phase and frames done (``report("computing", 40)``)."""
    stop: Callable[[], bool]
    """True once the work is no longer wanted (another copy delivered, the job was cancelled)."""


class PythonStage(Stage[C]):
    """A stage that runs Python over its span (scene detection, face recognition) instead of
    adding to an ffmpeg command. It returns JSON facts, which travel to later tasks as ``meta``
    items; it runs in a task of its own."""

    FUSIBLE: ClassVar[bool] = False

    def contribute(self, config: C, command: ChunkCommand, chunk: ChunkRef) -> None:
        raise TypeError(f"{self.NAME} runs in a task of its own, not inside an ffmpeg command")

    @abstractmethod
    def run(self, config: C, span: Span) -> dict[str, Any]:
        """The facts about ``span`` (JSON values only)."""


#: Any stage, whatever its config: what the registry and the pipespec hold.
AnyStage = Stage[Any]
