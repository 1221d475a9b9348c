"""The face tracked between samples (issue "Faces on real footage", speed): ``find_faces`` gives a
box on every frame that follows the real face, without jumps, and ends where the face goes."""

from __future__ import annotations

import dataclasses
from typing import Any

import av
import numpy as np
import pytest
from numpy.typing import NDArray

from sprocket_cli.faces.base import Box
from sprocket_cli.faces.images import load_image
from sprocket_cli.faces.tracking import FaceTrack
from sprocket_cli.stages.base import Span
from sprocket_cli.stages.draw import _paths, _within
from sprocket_cli.stages.faces import FindFaces, FindFacesConfig, provider
from sprocket_cli.tasks import ChunkRef
from tests.facemedia import ASTRONAUT, FaceClip, Scene, make_face_clip, read_frames

#: Detection on every 10th frame: four frames of tracking for each of HOG's.
EVERY = 10


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> FaceClip:
    """2 s of a slow zoom and pan over the astronaut (the face grows from 105 to 125 px and
    drifts), then a hard cut to a test pattern, searched as if it were one scene."""
    dest = tmp_path_factory.mktemp("tracking") / "zoom-cut.mp4"
    return make_face_clip(dest, [Scene(ASTRONAUT, 2.0), Scene(None, 0.6)])


@pytest.fixture(scope="module")
def frames(clip: FaceClip) -> list[tuple[int, NDArray[np.uint8]]]:
    """(pts, grayscale pixels) of every frame."""
    with av.open(str(clip.path)) as container:
        return [
            (int(f.pts or 0), np.ascontiguousarray(f.to_ndarray(format="gray")))
            for f in container.decode(video=0)
        ]


def whole(clip: FaceClip, frames: list[tuple[int, NDArray[np.uint8]]]) -> ChunkRef:
    with av.open(str(clip.path)) as container:
        tb = container.streams.video[0].time_base
    assert tb is not None
    first, last = frames[0][0], frames[-1][0]
    step = frames[1][0] - first
    return ChunkRef(
        index=0,
        start_pts=first,
        end_pts=last + step,
        seek_pts=first,
        tb_num=tb.numerator,
        tb_den=tb.denominator,
        is_last=True,
        frame_count=len(frames),
    )


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    # The stage's own cached provider: run() below reuses it rather than loading the models again.
    return provider("local", None).reference([load_image(str(ASTRONAUT.path))]).to_json()


def search(clip: FaceClip, chunk: ChunkRef, reference: dict[str, Any], **options: Any) -> dict[str, Any]:
    """find_faces' facts about ``chunk``, run as a worker runs it."""
    config = FindFacesConfig(person=(str(ASTRONAUT.path),), every=EVERY, reference=reference, **options)
    span = Span(chunk, str(clip.path), {}, lambda phase, done: None, lambda: False)
    return FindFaces().run(config, span)


def test_the_box_follows_the_face_on_every_frame_and_ends_at_the_cut(
    clip: FaceClip, frames: list[tuple[int, NDArray[np.uint8]]], reference: dict[str, Any]
) -> None:
    chunk = whole(clip, frames)
    facts = search(clip, chunk, reference)
    number = {pts: n for n, (pts, _) in enumerate(frames)}
    cut = clip.scenes[1].start
    [(first, end, boxes)] = facts["track"]
    # From the first frame up to the cut, a box on every frame; none after it.
    assert (number[first], number[end]) == (0, cut)
    assert [number[pts] for pts, *_ in boxes] == list(range(cut))
    edges = np.array([box for _, *box in boxes])
    for n, box in enumerate(edges):
        truth = clip.boxes[n]
        assert truth is not None and Box(*box).iou(truth) > 0.75, (n, box, truth)
    # No jumps: from one frame to the next an edge moves at most 3 px (the face ~1 px a frame).
    assert np.abs(np.diff(edges, axis=0)).max() <= 3
    # The samples after the cut saw no face, and the scene still matched from its first ones.
    assert [s["outcome"] for s in facts["samples"]] == ["match"] * 5 + ["no_face"] * 2


def test_without_tracking_there_is_no_track(
    clip: FaceClip, frames: list[tuple[int, NDArray[np.uint8]]], reference: dict[str, Any]
) -> None:
    short = dataclasses.replace(whole(clip, frames), end_pts=frames[11][0], is_last=False)
    facts = search(clip, short, reference, track=False)
    assert "track" not in facts and len(facts["samples"]) == 2


@pytest.fixture(scope="module")
def first_face(clip: FaceClip) -> Box:
    [face] = provider("local", None).detect(read_frames(clip.path, [0])[0])
    return face.box


@pytest.mark.parametrize(("others", "shown"), [(False, 20), (True, 10)])
def test_a_sample_without_the_person_ends_the_box_only_if_others_were_seen(
    frames: list[tuple[int, NDArray[np.uint8]]], first_face: Box, others: bool, shown: int
) -> None:
    # The detector missing the face (no face at all) leaves it to the tracker, which still
    # holds it: the box stays on. Someone else seen there ends it at that sample.
    track = FaceTrack()
    track.detected(*frames[0], first_face)
    for pts, gray in frames[1:20]:
        if pts == frames[10][0]:
            track.missed(pts, gray, others=others)
        else:
            track.frame(pts, gray)
    [(first, end, boxes)] = track.runs(frames[20][0])
    assert (first, end) == (frames[0][0], frames[shown][0])
    assert len(boxes) == shown


def test_draw_takes_the_track_in_seconds_and_a_chunk_only_its_own_moves() -> None:
    scene = {"tb": [1, 100], "track": [[0, 300, [[t, 10 + t, 20, 110 + t, 120] for t in range(0, 300, 4)]]]}
    [(t0, t1, moves)] = _paths(scene)
    assert (t0, t1, moves[1]) == (0.0, 3.0, (0.04, (14, 20, 100, 100)))
    # A chunk from 1 s to 2 s: the move that places the box at 1 s, then its own.
    mine = _within(moves, 1.0, 2.0)
    assert [t for t, _ in mine] == [1.0, *(t / 100 for t in range(104, 200, 4))]
    assert all(box == (10 + round(t * 100), 20, 100, 100) for t, box in mine)
