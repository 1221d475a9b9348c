"""Scene cuts: found per chunk by ffmpeg's scdet (a cut on a chunk boundary too), and joined
into whole scenes by the ``scenes`` delivery function as soon as the chunks they touch are in."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.media.probe import probe
from sprocket_cli.pipeline.delivery import Item, Scenes
from sprocket_cli.stages.base import Span
from sprocket_cli.stages.scenes import SceneChange, SceneChangeConfig
from sprocket_cli.tasks import ChunkRef

#: Shots of these lengths, back to back with hard cuts: cuts at 1.2, 2.0 and 3.6 s. With a
#: keyframe every second and 1 s chunks, the cut at 2.0 s falls exactly on a chunk boundary.
SHOTS = (("testsrc2", 1.2), ("smptebars", 0.8), ("rgbtestsrc", 1.6), ("testsrc", 1.4))
CUT_SECONDS = (Fraction(6, 5), Fraction(2), Fraction(18, 5))


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("scenes") / "shots.mp4"
    args: list[str] = []
    for source, seconds in SHOTS:
        args += ["-f", "lavfi", "-i", f"{source}=s=160x120:r=25:d={seconds}"]
    joined = "".join(f"[{i}]" for i in range(len(SHOTS))) + f"concat=n={len(SHOTS)}:v=1[v]"
    args += ["-filter_complex", joined, "-map", "[v]", "-c:v", "libx264", "-g", "25", "-keyint_min", "25",
             "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-y", str(dest)]  # fmt: skip
    run_ffmpeg(args, what="making the shots clip")
    return dest


def test_cuts_are_found_in_every_chunk_including_on_a_boundary(shots: Path) -> None:
    info = probe(str(shots))
    plan = plan_chunks(info, 1.0)
    found: list[int] = []
    for chunk in plan.chunks:
        span = Span(ChunkRef.of(chunk), str(shots), {}, lambda _p, _f: None, lambda: False)
        found += SceneChange().run(SceneChangeConfig(), span)["cuts"]
    expected = [round(s / info.time_base) for s in CUT_SECONDS]
    frame = round(1 / (info.fps * info.time_base))
    assert len(found) == len(expected)
    assert all(abs(f - e) <= frame for f, e in zip(found, expected, strict=True))  # within one frame
    assert round(Fraction(2) / info.time_base) in found  # the boundary cut, found by its own chunk


def _chunk(index: int, start: int, end: int, *, last: bool = False) -> ChunkRef:
    return ChunkRef(index, start, end, start, 1, 100, last, end - start)


def test_scenes_are_delivered_as_soon_as_the_chunks_they_touch_are_in() -> None:
    scenes = Scenes(("cuts",))
    chunks = [_chunk(0, 0, 100), _chunk(1, 100, 200), _chunk(2, 200, 300, last=True)]
    cuts = {0: [40], 1: [100, 150], 2: []}  # a cut on chunk 1's first frame, one inside it

    def offer(i: int) -> list[tuple[int, int, int]]:
        ready = scenes.offer("cuts", Item("meta", chunks[i], source="v.mp4", meta={"cuts": cuts[i]}))
        return [(r["cuts"].chunk.index, r["cuts"].chunk.start_pts, r["cuts"].chunk.end_pts) for r in ready]

    assert offer(1) == []  # chunk 0 is not in: nothing is known to start at 0
    assert offer(0) == [(0, 0, 40), (1, 40, 100), (2, 100, 150)]  # up to chunk 1's last cut
    assert offer(2) == [(3, 150, 300)]  # the last scene crosses into chunk 2, to the video's end


def test_a_cut_on_the_next_chunks_first_frame_waits_for_that_chunk() -> None:
    scenes = Scenes(("cuts",))
    first = scenes.offer("cuts", Item("meta", _chunk(0, 0, 100), meta={"cuts": [50]}))
    assert [r["cuts"].chunk.end_pts for r in first] == [50]  # [50, 100) may end at 100: wait
    rest = scenes.offer("cuts", Item("meta", _chunk(1, 100, 200, last=True), meta={"cuts": [100]}))
    assert [(r["cuts"].chunk.start_pts, r["cuts"].chunk.end_pts) for r in rest] == [(50, 100), (100, 200)]
    assert rest[-1]["cuts"].chunk.is_last
