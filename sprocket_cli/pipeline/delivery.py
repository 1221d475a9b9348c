"""Delivery functions (paper §3.5.3): when a downstream task can run, and on which items.

A delivery function is offered each item as it arrives on one of its node's input ports and
returns the sets of items that are now ready to become tasks. It delivers whatever work is
ready; it is never a barrier.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, ClassVar

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
    meta: dict[str, Any] | None = None
    """For ``meta`` items: the facts themselves (also stored under ``key``)."""


Ready = dict[str, Item]
"""Input port name -> the item a task takes on that port."""


class DeliveryFunction(ABC):
    NAME: ClassVar[str]
    DESCRIPTION: ClassVar[str]
    FUSIBLE: ClassVar[bool] = False
    """Whether its node can share a task with the nodes feeding it: true when it takes chunk i
    of each input together, which one task over chunk i does by itself."""
    PER_CHUNK: ClassVar[bool] = True
    """Whether it makes one task per chunk; false when its tasks are other spans (scenes)."""
    EDITS: ClassVar[bool] = False
    """Whether its node cuts spans out of the video, so the output's audio must be cut to match
    (see :meth:`kept`)."""

    def __init__(self, ports: tuple[str, ...]) -> None:
        self.ports = ports

    @abstractmethod
    def offer(self, port: str, item: Item) -> list[Ready]:
        """Take ``item`` arriving on ``port``; return every task input set now complete."""

    def kept(self) -> list[tuple[float, float]] | None:
        """For a delivery function that ``EDITS``: the spans of the video its node keeps, in
        seconds from the first frame, once every one is known; None until then."""
        return None


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


class Scenes(DeliveryFunction):
    """Chunks' scene cuts -> whole scenes (paper §3.3): one task per scene, over the scene's own
    span, which may cross chunk boundaries.

    Chunks report their cuts in any order; a scene is delivered as soon as every chunk it
    touches has reported (its end is a cut inside the chunks reported so far, or the video's
    end), so early scenes go on while later chunks are still being searched.
    """

    NAME: ClassVar[str] = "scenes"
    DESCRIPTION: ClassVar[str] = "whole scenes from the chunks' scene cuts"
    PER_CHUNK: ClassVar[bool] = False

    def __init__(self, ports: tuple[str, ...]) -> None:
        super().__init__(ports)
        self._arrived: dict[int, Item] = {}
        self._prefix: list[Item] = []
        """Chunks 0..k, all reported."""
        self._bounds: list[int] = []
        """Scene starts found so far, then the video's end once the last chunk reported."""
        self._delivered = 0

    def offer(self, port: str, item: Item) -> list[Ready]:
        self._arrived[item.chunk.index] = item
        while len(self._prefix) in self._arrived:
            chunk = self._arrived.pop(len(self._prefix))
            if not self._prefix:
                self._bounds.append(chunk.chunk.start_pts)
            self._bounds += (chunk.meta or {}).get("cuts", [])
            if chunk.chunk.is_last:
                self._bounds.append(chunk.chunk.end_pts)
            self._prefix.append(chunk)
        if not self._prefix:
            return []
        last = self._prefix[-1].chunk
        ready = []
        # A cut at the very end of the prefix might still move: the next chunk may cut there.
        while self._delivered + 1 < len(self._bounds) and (
            self._bounds[self._delivered + 1] < last.end_pts or last.is_last
        ):
            ready.append({port: self._scene(self._delivered)})
            self._delivered += 1
        return ready

    def _scene(self, index: int) -> Item:
        start, end = self._bounds[index], self._bounds[index + 1]
        touched = [c for c in self._prefix if c.chunk.start_pts < end and c.chunk.end_pts > start]
        first = touched[0]
        # Frames by overlap: exact for whole chunks, an estimate inside one (progress only).
        frames = sum(
            round(c.chunk.frame_count * (min(end, c.chunk.end_pts) - max(start, c.chunk.start_pts))
                  / max(1, c.chunk.end_pts - c.chunk.start_pts))
            for c in touched
        )  # fmt: skip
        span = replace(
            first.chunk,
            index=index,
            start_pts=start,
            end_pts=end,
            frame_count=max(1, frames),
            is_last=touched[-1].chunk.is_last and end == touched[-1].chunk.end_pts,
        )
        return Item(
            "meta", span, source=first.source, meta={"scene": index, "start_pts": start, "end_pts": end}
        )


class Boxes(DeliveryFunction):
    """A chunk of video with the facts of every scene it overlaps (faces to draw, scenes to keep).

    Chunk i is delivered once the scenes that arrived cover its whole span; scenes come from
    tasks over whole scenes, so one scene's facts may serve several chunks.
    """

    NAME: ClassVar[str] = "boxes"
    DESCRIPTION: ClassVar[str] = "a chunk with the facts of the scenes it overlaps"
    FUSIBLE: ClassVar[bool] = True

    def __init__(self, ports: tuple[str, ...]) -> None:
        super().__init__(ports)
        self._chunks: dict[int, tuple[str, Item]] = {}
        self._scenes: list[Item] = []
        self._facts_port = ""

    def offer(self, port: str, item: Item) -> list[Ready]:
        if item.type == "meta":
            self._facts_port = port
            self._scenes.append(item)
            self._scenes.sort(key=lambda s: s.chunk.start_pts)
        else:
            self._chunks[item.chunk.index] = (port, item)
        ready = []
        for index, (video_port, chunk) in sorted(self._chunks.items()):
            facts = self._facts(chunk.chunk)
            if facts is not None:
                ready.append({video_port: chunk, self._facts_port: Item("meta", chunk.chunk, meta=facts)})
                del self._chunks[index]
        return ready

    def _facts(self, chunk: ChunkRef) -> dict[str, Any] | None:
        """What a task over ``chunk`` is told, once the scenes it needs have arrived."""
        scenes = self._covering(chunk.start_pts, chunk.end_pts)
        return None if scenes is None else {"scenes": [s.meta for s in scenes]}

    def _covering(self, start: int, end: int) -> list[Item] | None:
        """The scenes overlapping [start, end) if together they cover it, else None."""
        overlapping = [s for s in self._scenes if s.chunk.start_pts < end and s.chunk.end_pts > start]
        reached = start
        for scene in overlapping:
            if scene.chunk.start_pts > reached:
                return None  # a gap: a scene in between has not arrived yet
            reached = max(reached, scene.chunk.end_pts)
        return overlapping if overlapping and reached >= end else None


class KeptScenes(Boxes):
    """A chunk of video with the spans to keep (matched scenes) from the video's start to the
    chunk's end: the chunk needs the time dropped before it to close the timeline up; and the
    matched scenes it overlaps, whose faces' boxes it draws.

    Chunk i waits for every scene up to its end, so chunks are delivered in order as scenes
    come in; the last scene's arrival makes :meth:`kept` final (the audio is cut on it).
    """

    NAME: ClassVar[str] = "kept_scenes"
    DESCRIPTION: ClassVar[str] = "a chunk with the matched scenes' spans up to its end (SceneKeep)"
    EDITS: ClassVar[bool] = True

    def _facts(self, chunk: ChunkRef) -> dict[str, Any] | None:
        scenes = self._covering(chunk.origin_pts, chunk.end_pts)
        if scenes is None:
            return None
        # The matched scenes on the chunk itself too: the kept frames carry their face's box.
        on_chunk = [
            s.meta for s in scenes if (s.meta or {}).get("matched") and s.chunk.end_pts > chunk.start_pts
        ]
        return {
            "kept": [list(span) for span in self._spans() if span[0] < chunk.end_pts],
            "scenes": on_chunk,
        }

    def _spans(self) -> list[tuple[int, int]]:
        """The matched scenes' [start, end) pts, neighbours merged (no join between them)."""
        spans: list[tuple[int, int]] = []
        for scene in self._scenes:
            if not (scene.meta or {}).get("matched"):
                continue
            start, end = scene.chunk.start_pts, scene.chunk.end_pts
            if spans and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        return spans

    def kept(self) -> list[tuple[float, float]] | None:
        if not self._scenes or not self._scenes[-1].chunk.is_last:
            return None
        first = self._scenes[0].chunk
        if self._covering(first.origin_pts, self._scenes[-1].chunk.end_pts) is None:
            return None  # the last scene is in, an earlier one is not
        tb, origin = first.time_base, first.origin_pts
        return [(float((a - origin) * tb), float((b - origin) * tb)) for a, b in self._spans()]
