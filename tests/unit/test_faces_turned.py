"""A turned face, found by the CNN where HOG misses it (issue "Faces on real footage").

No installed package ships a photo of a face in profile or three-quarter view (scikit-image is
not installed; face_recognition_models holds only models), so the frontal test photo is turned
in the image plane. dlib's HOG detector is five filters, two of them for heads tilted to either
side: measured on these photos it still finds a face turned 30 or 40 degrees (the astronaut up
to 40, Obama up to 45), and none at 50. The clips are 320x240 with a 100-pixel face, searched
with ``min_face=80`` (no doubling), so that each CNN pass costs about a second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from sprocket_cli.faces.images import load_image
from sprocket_cli.faces.local import LocalFaceProvider
from tests.facemedia import ASTRONAUT, FaceClip, make_small_face_clip, read_frames

#: Degrees the face is turned: past the tilt HOG's filters cover.
TURN = 50
#: The first and last frame of each 0.4 s clip.
FRAMES = (0, 9)


def turned_clip(folder: Path, turn: float) -> FaceClip:
    dest = folder / f"turned{turn}.mp4"
    return make_small_face_clip(dest, ASTRONAUT, face=100, size=(320, 240), seconds=0.4, turn=turn)


@pytest.fixture(scope="module")
def turned(tmp_path_factory: pytest.TempPathFactory) -> FaceClip:
    return turned_clip(tmp_path_factory.mktemp("turned"), TURN)


@pytest.fixture(scope="module")
def frames(turned: FaceClip) -> dict[int, NDArray[np.uint8]]:
    return read_frames(turned.path, FRAMES)


def test_hog_misses_the_turned_face_at_any_upsampling(
    tmp_path: Path, turned: FaceClip, frames: dict[int, NDArray[np.uint8]]
) -> None:
    hogs = {upsample: LocalFaceProvider(upsample=upsample) for upsample in (0, 1, 2)}
    for upsample, hog in hogs.items():
        assert all(hog.detect(frame) == [] for frame in frames.values()), upsample
    # Turned less, the same face in the same shot is found: the turn is what HOG misses.
    tilted = turned_clip(tmp_path, 30)
    for number, frame in read_frames(tilted.path, FRAMES).items():
        [face] = hogs[0].detect(frame)
        truth = tilted.boxes[number]
        assert truth is not None and face.box.iou(truth) > 0.5, (number, face, truth)


def test_the_cnn_finds_the_turned_face_where_it_is(
    turned: FaceClip, frames: dict[int, NDArray[np.uint8]]
) -> None:
    cnn = LocalFaceProvider(detector="cnn", min_face=80)
    for number, frame in frames.items():
        truth = turned.boxes[number]
        assert truth is not None and truth.height == 100  # wholly inside the frame
        [face] = cnn.detect(frame)
        assert face.box.iou(truth) > 0.5, (number, face, truth)


def test_auto_finds_and_matches_the_turned_face_after_hog_found_none(
    turned: FaceClip, frames: dict[int, NDArray[np.uint8]]
) -> None:
    auto = LocalFaceProvider(detector="auto", min_face=80)
    ref = auto.reference([load_image(str(ASTRONAUT.path))])  # the upright photo, found by HOG
    [match] = auto.find(frames[FRAMES[-1]], ref)
    truth = turned.boxes[FRAMES[-1]]
    assert truth is not None and match.face.box.iou(truth) > 0.5, (match, truth)
    # The landmarks turn the face upright before it is embedded, so the turn costs little.
    assert match.is_match and match.distance < 0.45, match
