"""Delivery functions (paper §3.5.3): when a downstream task can run, and on which items.

A delivery function is offered each item as it arrives on one of its node's input ports and
returns the sets of items that are now ready to become tasks. It delivers whatever work is
ready; it is never a barrier.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from sprocket_cli.tasks import ChunkRef, ItemType


@dataclass(frozen=True)
class Item:
    """One piece of data on a stream: a source chunk, or an output stored under ``key``."""

    type: ItemType
    chunk: ChunkRef
    source: str | None = None
    """For source chunks: the path or URL the decode stage reads."""
    key: str | None = None
    """For produced items: the storage key."""


Ready = dict[str, Item]
"""Input port name -> the item a task takes on that port."""


class DeliveryFunction(ABC):
    NAME: ClassVar[str]
    DESCRIPTION: ClassVar[str]
    FUSIBLE: ClassVar[bool] = False
    """Whether its node can share a task with the nodes feeding it: true when it takes chunk i
    of each input together, which one task over chunk i does by itself."""

    def __init__(self, ports: tuple[str, ...]) -> None:
        self.ports = ports

    @abstractmethod
    def offer(self, port: str, item: Item) -> list[Ready]:
        """Take ``item`` arriving on ``port``; return every task input set now complete."""


class OneToOne(DeliveryFunction):
    """Each chunk becomes a task as soon as every input port has that chunk (the default)."""

    NAME: ClassVar[str] = "one_to_one"
    DESCRIPTION: ClassVar[str] = "chunk i of every input makes task i"
    FUSIBLE: ClassVar[bool] = True

    def __init__(self, ports: tuple[str, ...]) -> None:
        super().__init__(ports)
        self._waiting: dict[int, Ready] = {}

    def offer(self, port: str, item: Item) -> list[Ready]:
        got = self._waiting.setdefault(item.chunk.index, {})
        got[port] = item
        if len(got) < len(self.ports):
            return []
        return [self._waiting.pop(item.chunk.index)]


class Pair(OneToOne):
    """Two videos frame by frame, paired by presentation time (paper §3.5.4).

    The original code paired chunk i of one video with chunk i of the other, which drifts as
    soon as their keyframes, frame rates or starts differ. Here every input after the first is
    cut on the *first* input's chunk spans (``launch``: the second input's chunk i covers the
    same presentation times as the first input's chunk i, shifted by the blend offset), so
    taking chunk i of each port is pairing by time; within the span the joining stage pairs
    each frame with the other input's frame on screen at its timestamp.
    """

    NAME: ClassVar[str] = "pair"
    DESCRIPTION: ClassVar[str] = "frames of two inputs paired by presentation time"
