"""SceneKeep: chunks get the kept spans up to their end once every earlier scene is in, and the
stage turns them into a frame selection whose timestamps close up over what was dropped, with
the face's box drawn first, on the source's times."""

from __future__ import annotations

from sprocket_cli.media.command import ChunkCommand
from sprocket_cli.pipeline.delivery import Item, KeptScenes
from sprocket_cli.stages.keep import KeepConfig, SceneKeep
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
    # The kept spans from the start, and the matched scenes on the chunk (for their boxes).
    assert ready["faces"].meta == {"kept": [[80, 250]], "scenes": [{"scene": 1, "matched": True}]}
    assert keep.kept() is None  # the video's last scene has not arrived
    keep.offer("faces", _scene(2, 250, 300, True, last=True))
    assert keep.kept() == [(0.8, 3.0)]  # neighbours merged: no join between scenes 1 and 2


def _command(
    chunk: ChunkRef, kept: list[list[int]], scenes: list[dict[str, object]] | None = None, *, box: bool = True
) -> ChunkCommand:
    command = ChunkCommand(["in.mp4"], context={"faces": {"kept": kept, "scenes": scenes or []}})
    SceneKeep().contribute(KeepConfig(box=box), command, chunk)
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


def _tracked(start: int, end: int) -> dict[str, object]:
    """A matched scene whose face's box moves 1 px right every 10 ticks (0.1 s)."""
    track = [[start, end, [[t, 10 + t // 10, 20, 110 + t // 10, 120] for t in range(start, end, 10)]]]
    return {"tb": [1, 100], "matched": True, "track": track}


def test_the_box_is_drawn_on_the_source_times_before_the_frames_are_picked() -> None:
    chunk = _span(2, 200, 400)
    command = _command(chunk, [[120, 230]], [_tracked(120, 230)])
    sendcmd, box, select, setpts = command.filters
    # The box is placed by source time (2.0 s is pts 200), before select and setpts move it.
    assert sendcmd.startswith("sendcmd=c='2.0 drawbox@face x 30, drawbox@face y 20,")
    assert box.startswith("drawbox@face=x=30:y=20:w=100:h=100:color=yellow:t=4:")
    assert "enable='gte(t,1.2)*lt(t,2.3)'" in box
    assert (select, setpts) == ("select='gte(pts,200)*lt(pts,230)'", "setpts='PTS-120'")
    # Off, only the frames are picked; a skipped chunk draws nothing either.
    assert len(_command(chunk, [[120, 230]], [_tracked(120, 230)], box=False).filters) == 2
    assert _command(_span(1, 100, 120), [[120, 230]], [_tracked(120, 230)]).filters == []
