"""SceneKeep: chunks get the kept spans up to their end once every earlier scene is in, and the
stage turns them into a frame selection whose timestamps close up over what was dropped."""

from __future__ import annotations

from sprocket_cli.media.command import ChunkCommand
from sprocket_cli.pipeline.delivery import Item, KeptScenes
from sprocket_cli.stages.base import StageConfig
from sprocket_cli.stages.keep import SceneKeep
from sprocket_cli.tasks import ChunkRef


def _span(index: int, start: int, end: int, *, last: bool = False) -> ChunkRef:
    return ChunkRef(index, start, end, start, 1, 100, last, end - start)


def _scene(index: int, start: int, end: int, matched: bool, *, last: bool = False) -> Item:
    return Item("meta", _span(index, start, end, last=last), meta={"scene": index, "matched": matched})


def test_a_chunk_waits_for_every_scene_before_its_end_and_kept_is_final_last() -> None:
    keep = KeptScenes(("frames", "faces"))
    chunk = Item("frames", _span(1, 100, 200))
    assert keep.offer("frames", chunk) == []
    # The scene over the chunk is in, but one before it (which sets the shift) is not.
    assert keep.offer("faces", _scene(1, 80, 250, True)) == []
    [ready] = keep.offer("faces", _scene(0, 0, 80, False))
    assert ready["faces"].meta == {"kept": [[80, 250]]}
    assert keep.kept() is None  # the video's last scene has not arrived
    keep.offer("faces", _scene(2, 250, 300, True, last=True))
    assert keep.kept() == [(0.8, 3.0)]  # neighbours merged: no join between scenes 1 and 2


def _command(chunk: ChunkRef, kept: list[list[int]]) -> ChunkCommand:
    command = ChunkCommand(["in.mp4"], context={"faces": {"kept": kept}})
    SceneKeep().contribute(StageConfig(), command, chunk)
    return command


def test_kept_frames_move_back_by_the_time_dropped_before_them() -> None:
    chunk = _span(2, 200, 400)
    command = _command(chunk, [[0, 50], [120, 230], [300, 350]])
    assert command.filters == [
        "select='gte(pts,200)*lt(pts,230)+gte(pts,300)*lt(pts,350)'",
        # 200 lands at 50 + 80 = 130 (shift 70); 300 at 130 + 30 = 160 (shift 140).
        "setpts='if(gte(PTS,300),PTS-140,PTS-70)'",
    ]
    assert command.start_ticks == round(130 / 100 * chunk.timescale)
    assert not command.skip


def test_a_chunk_with_nothing_kept_is_skipped_and_the_last_keeps_to_the_end() -> None:
    assert _command(_span(1, 100, 200), [[0, 50]]).skip
    last = _command(_span(3, 400, 500, last=True), [[450, 500]])
    assert last.filters[0] == "select='gte(pts,450)'"  # the last frame's pts is below end_pts
