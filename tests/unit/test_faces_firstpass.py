"""The detector's scale chosen for the job (issue "Faces on real footage", speed): a first pass
over a few frames sees how large the faces are; large faces are searched on a halved frame,
small ones on a doubled one, and a face that stays put between samples is not embedded again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from sprocket_cli.faces.base import PersonRef
from sprocket_cli.faces.firstpass import FRAMES, first_pass
from sprocket_cli.faces.local import LocalFaceProvider, face_floor, upsample_for
from sprocket_cli.media.probe import probe
from sprocket_cli.plan.facecost import detector_line, plan_lines
from tests.facemedia import ASTRONAUT, FaceClip, make_small_face_clip, read_frames


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("first-pass")


@pytest.fixture(scope="module")
def large(folder: Path) -> FaceClip:
    """A 220 px face at 720p: large enough to search on a halved frame."""
    return make_small_face_clip(folder / "large.mp4", ASTRONAUT, face=220, size=(1280, 720))


def test_the_scale_follows_the_smallest_face() -> None:
    # Doublings for small faces; halvings only where the halved face keeps 100 px.
    sizes = (800, 400, 399, 200, 199, 160, 80, 48, 40, 39, 16)
    assert [upsample_for(px) for px in sizes] == [-3, -2, -1, -1, 0, 0, 0, 1, 1, 2, 3]
    assert [face_floor(d) for d in (-2, -1, 0, 1, 2)] == [320, 160, 80, 40, 20]


@pytest.mark.parametrize(("face", "chosen"), [(160, 0), (48, 1)])
def test_the_first_pass_upsamples_only_for_small_faces(
    folder: Path, local: LocalFaceProvider, face: int, chosen: int
) -> None:
    # 640x360: the frame size alone would double both (under 720 lines).
    clip = make_small_face_clip(folder / f"face{face}.mp4", ASTRONAUT, face=face)
    looked = first_pass(local, probe(str(clip.path)))
    assert looked.frames == FRAMES and looked.faces == FRAMES
    assert looked.smallest is not None and abs(looked.smallest - face) <= face // 4
    assert looked.upsample == chosen
    assert f"smallest face {looked.smallest} px" in looked.describe()


def test_the_first_pass_halves_the_frame_for_large_faces(large: FaceClip, local: LocalFaceProvider) -> None:
    looked = first_pass(local, probe(str(large.path)))
    assert looked.upsample == -1 and looked.smallest_found == 160


def test_without_a_face_the_frame_size_decides(folder: Path, local: LocalFaceProvider) -> None:
    clip = make_small_face_clip(folder / "nobody.mp4", None)
    looked = first_pass(local, probe(str(clip.path)))
    assert (looked.faces, looked.smallest, looked.upsample) == (0, None, 1)  # 360 lines: doubled
    assert "no face found, so the frame size decides" in looked.describe()


def test_a_halved_frame_finds_the_face_where_it_is(large: FaceClip, ref_a: PersonRef) -> None:
    halved = LocalFaceProvider(upsample=-1)
    for number, frame in read_frames(large.path, (0, 25, 49)).items():
        truth = large.boxes[number]
        assert truth is not None
        [match] = halved.find(frame, ref_a)
        assert match.face.box.iou(truth) > 0.5, (number, match.face.box, truth)
        assert match.is_match


class _Counting:
    """Wraps the embedding model to count the faces it embeds."""

    def __init__(self, model: Any) -> None:
        self.model, self.calls = model, 0

    def compute_face_descriptor(self, *args: Any) -> Any:
        self.calls += 1
        return self.model.compute_face_descriptor(*args)


def test_a_face_that_stays_put_is_not_embedded_again(large: FaceClip, ref_a: PersonRef) -> None:
    searcher = LocalFaceProvider(upsample=-1)
    spy = _Counting(searcher._embedder)
    searcher._embedder = spy
    frames: dict[int, NDArray[np.uint8]] = read_frames(large.path, (0, 5, 49))
    [first] = searcher.find(frames[0], ref_a)
    assert spy.calls == 1
    # Five frames on, the face has moved 10 px: the same face, its distance carried over.
    [again] = searcher.find_again(frames[5], ref_a, [first])
    assert spy.calls == 1 and again.distance == first.distance and again.is_match
    # The face is the new frame's detection (HOG scores each frame afresh), not the old one.
    assert again.face.confidence != first.face.confidence and again.face.embedding is None
    # At the end of the glide it has moved too far to be taken for the same face.
    [late] = searcher.find_again(frames[49], ref_a, [first])
    assert spy.calls == 2 and late.distance != first.distance and late.is_match


def test_each_detector_choice_has_its_cost() -> None:
    hd = (1920, 1080)
    doubled, plain, quarter = (detector_line("auto", d, hd, 5) for d in (1, 0, -2))
    assert doubled.startswith("detector: hog x2 upsampling, ~") and "ms/frame per worker" in doubled
    assert "; cnn second pass on frames where HOG found nothing, ~" in doubled
    assert plain.startswith("detector: hog no upsampling") and quarter.startswith("detector: hog at 1/4 size")

    def ms(line: str) -> int:
        return int(line.split("~")[1].split(" ")[0].replace(",", ""))

    assert ms(quarter) < ms(plain) < ms(doubled)
    assert detector_line("cnn", 0, hd, 5).startswith("detector: cnn no upsampling, ~")
    assert detector_line("hog", 0, hd, 5) == plain.split(";")[0]
    assert "x2 upsampling (faces from ~40 px)" in plan_lines(hd, 5)[0]
