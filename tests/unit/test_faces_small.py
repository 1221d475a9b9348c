"""Small faces with the local provider: real photos scaled until the face is 48 pixels high, as in
low-resolution footage, found by upsampling; the CNN and ``auto`` detectors; and the words that
explain a search that found no one."""

from __future__ import annotations

from dataclasses import astuple
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from sprocket_cli.cli.facecmd import headline, scene_line
from sprocket_cli.errors import UsageError
from sprocket_cli.faces.base import Box, Face, Match, PersonRef
from sprocket_cli.faces.images import load_image
from sprocket_cli.faces.local import LocalFaceProvider, upsample_for
from sprocket_cli.stages.faces import provider, sample
from tests.facemedia import ASTRONAUT, OBAMA, FaceClip, make_small_face_clip, read_frames

#: Frames looked at in each 2 s clip: both ends of the glide and between.
FRAMES = (0, 12, 25, 37, 49)
Frames = dict[int, NDArray[np.uint8]]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("small-faces")


@pytest.fixture(scope="module")
def astronaut(folder: Path) -> FaceClip:
    return make_small_face_clip(folder / "astronaut48.mp4", ASTRONAUT, face=48)


@pytest.fixture(scope="module")
def obama(folder: Path) -> FaceClip:
    return make_small_face_clip(folder / "obama48.mp4", OBAMA, face=48)


@pytest.fixture(scope="module")
def nobody(folder: Path) -> FaceClip:
    return make_small_face_clip(folder / "nobody.mp4", None)


def frames_of(clip: FaceClip) -> Frames:
    return read_frames(clip.path, FRAMES)


def test_a_48px_face_is_found_where_it_is_and_matched(
    astronaut: FaceClip, local: LocalFaceProvider, ref_a: PersonRef
) -> None:
    assert astronaut.size == (640, 360)
    for number, frame in frames_of(astronaut).items():
        truth = astronaut.boxes[number]
        assert truth is not None and 44 <= truth.height <= 52
        [match] = local.find(frame, ref_a)
        assert match.face.box.iou(truth) > 0.5, f"frame {number}: {match.face.box} vs true {truth}"
        assert match.is_match and match.distance < 0.45, f"frame {number}: {match}"


def test_without_upsampling_the_48px_face_is_missed(astronaut: FaceClip) -> None:
    # What the issue saw: HOG's 80-pixel window does not fit a 48-pixel face.
    plain = LocalFaceProvider(upsample=0)
    assert all(plain.detect(frame) == [] for frame in frames_of(astronaut).values())


def test_another_person_at_48px_is_found_but_not_matched(
    obama: FaceClip, local: LocalFaceProvider, ref_a: PersonRef
) -> None:
    for number, frame in frames_of(obama).items():
        truth = obama.boxes[number]
        assert truth is not None
        [match] = local.find(frame, ref_a)
        assert match.face.box.iou(truth) > 0.5, f"frame {number}: {match.face.box} vs true {truth}"
        assert not match.is_match and match.distance > 0.7, f"frame {number}: {match}"


def test_the_background_alone_shows_no_face(nobody: FaceClip, local: LocalFaceProvider) -> None:
    assert all(local.detect(frame) == [] for frame in frames_of(nobody).values())


def test_upsampling_follows_the_smallest_face_or_the_frame_height(local: LocalFaceProvider) -> None:
    assert [upsample_for(px) for px in (160, 80, 79, 48, 40, 39, 20, 16)] == [0, 0, 1, 1, 1, 2, 2, 3]
    # By default: frames under 720 pixels high are doubled once, larger ones not.
    assert [local.upsample_for_height(h) for h in (240, 360, 719, 720, 1080)] == [1, 1, 1, 0, 0]
    assert [local.smallest_face(h) for h in (360, 720)] == [40, 80]
    # --min-face overrides the frame's height either way.
    assert LocalFaceProvider(min_face=40).upsample_for_height(1080) == 1
    assert LocalFaceProvider(min_face=100).upsample_for_height(360) == 0
    assert LocalFaceProvider(min_face=20).smallest_face(720) == 20


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_face": 8}, "must be >= 16 pixels"),
        ({"min_face": 40, "upsample": 1}, "not both"),
        ({"detector": "yolo"}, "unknown face detector 'yolo'"),
    ],
)
def test_bad_detector_options_are_usage_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        LocalFaceProvider(**options)


def test_detector_options_are_refused_where_the_provider_has_no_choice() -> None:
    # The Rekognition class is only looked at, not made: no client, no network.
    with pytest.raises(UsageError, match="'rekognition' face provider uses its own detector"):
        provider("rekognition", None, "cnn", None)
    with pytest.raises(UsageError, match="--min-face"):
        provider("rekognition", None, None, 40)
    with pytest.raises(UsageError, match="'local' has hog, cnn, auto"):
        provider("local", None, "yolo", None)


def test_the_cnn_detector_finds_the_face() -> None:
    cnn = LocalFaceProvider(detector="cnn", upsample=0)
    photo = load_image(str(ASTRONAUT.path)).pixels  # 400x300: about a second of CNN
    [face] = cnn.detect(photo)
    assert face.box.iou(ASTRONAUT.box) > 0.5, face


def test_a_large_photo_is_thinned_for_the_cnn_and_its_box_scaled_back() -> None:
    # A reference photo in which HOG finds nothing goes to the CNN at most a megapixel big.
    cnn = LocalFaceProvider(detector="cnn")
    photo = load_image(str(ASTRONAUT.path)).pixels
    big = np.ascontiguousarray(np.repeat(np.repeat(photo, 3, axis=0), 3, axis=1))  # 1200x900
    [face] = cnn._thinned_cnn(big)  # every 2nd pixel: 600x450
    truth = Box(*(3 * v for v in astuple(ASTRONAUT.box)))
    assert face.box.iou(truth) > 0.5, (face.box, truth)


class _Counting:
    """Wraps the CNN model to count its calls."""

    def __init__(self, model: Any) -> None:
        self.model, self.calls = model, 0

    def __call__(self, image: NDArray[np.uint8], upsample: int) -> Any:
        self.calls += 1
        return self.model(image, upsample)


def test_auto_runs_the_cnn_only_where_hog_found_nothing(nobody: FaceClip) -> None:
    auto = LocalFaceProvider(detector="auto", upsample=0)
    spy = _Counting(auto._mmod)
    auto._mmod = spy
    assert len(auto.detect(load_image(str(ASTRONAUT.path)).pixels)) == 1
    assert spy.calls == 0
    # A small empty frame, so that the CNN's pass is cheap.
    empty = np.ascontiguousarray(frames_of(nobody)[0][::3, ::3])
    assert auto.detect(empty) == []
    assert spy.calls == 1


def _match(distance: float, threshold: float = 0.6) -> Match:
    return Match(Face(Box(10, 10, 60, 60), 1.0), distance, distance <= threshold)


def test_each_sample_says_what_it_saw() -> None:
    assert sample(0, [])["outcome"] == "no_face"
    missed = sample(1, [_match(0.91), _match(0.74)])
    assert (missed["outcome"], missed["faces"], missed["matches"]) == ("no_match", 2, 0)
    assert (missed["box"], missed["distance"], missed["closest"]) == (None, None, 0.74)
    hit = sample(2, [_match(0.8), _match(0.3)])
    assert (hit["outcome"], hit["matches"], hit["box"], hit["distance"]) == (
        "match",
        1,
        [10, 10, 60, 60],
        0.3,
    )


def _scene(index: int, outcomes: list[str], closest: float | None) -> dict[str, Any]:
    matched = "match" in outcomes
    return {
        "scene": index,
        "start_pts": index * 50,
        "end_pts": index * 50 + 50,
        "tb": [1, 25],
        "origin_pts": 0,
        "matched": matched,
        "sampled": {o: outcomes.count(o) for o in ("match", "no_match", "no_face")},
        "closest": closest,
        "threshold": 0.6,
        "smallest_face": 40,
        "samples": [{"distance": closest if o == "match" else None} for o in outcomes],
    }


def test_the_headline_names_the_reason_nothing_matched() -> None:
    blank = [_scene(0, ["no_face"] * 10, None), _scene(1, ["no_face"] * 5, None)]
    assert headline(blank, "kid.jpg") == (
        "no scene shows kid.jpg: no face found in any sampled frame (15 frames in 2 scenes: "
        "faces smaller than 40 px are missed: try --min-face)"
    )
    strangers = [_scene(0, ["no_face"] * 10, None), _scene(1, ["no_match"] * 4 + ["no_face"], 0.81)]
    assert headline(strangers, "kid.jpg") == (
        "no scene shows kid.jpg: faces found but none matched (4 of 15 sampled frames had faces; "
        "best distance 0.81, a match needs at most 0.60: --threshold to loosen)"
    )
    found = [_scene(0, ["no_face"] * 10, None), _scene(1, ["match", "no_match"], 0.3)]
    assert headline(found, "kid.jpg") == "kid.jpg appears in 1 of 2 scenes:"
    assert scene_line(found[0]).endswith("not matched: no face in 10 sampled frames")
    assert scene_line(strangers[1]).endswith(
        "not matched: faces in 4 of 5 sampled frames, closest at distance 0.81"
    )
    assert scene_line(found[1]).endswith("matched in 1 of 2 sampled frames, best distance 0.30")
