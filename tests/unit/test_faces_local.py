"""The local (dlib) face provider on real faces: a clip of person A, no one, then person B."""

from __future__ import annotations

import functools
import http.server
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from sprocket_cli.faces.base import LabelledImage, PersonRef
from sprocket_cli.faces.errors import (
    ForeignReferenceError,
    NamesNotSupportedError,
    NoFaceError,
    ReferenceImageError,
    SeveralFacesError,
)
from sprocket_cli.faces.images import encode_jpeg, load_image
from sprocket_cli.faces.local import LocalFaceProvider
from sprocket_cli.media.ffmpeg import run_ffmpeg
from tests.facemedia import ASTRONAUT, FACES, OBAMA, FaceClip, Scene, make_face_clip, read_frames

Frames = dict[int, NDArray[np.uint8]]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> FaceClip:
    dest = tmp_path_factory.mktemp("faces") / "a-none-b.mp4"
    return make_face_clip(dest, [Scene(ASTRONAUT, 2), Scene(None, 1), Scene(OBAMA, 2)])


@pytest.fixture(scope="module")
def frames(clip: FaceClip) -> Frames:
    """First, middle and last frame of every scene: where zoom and pan are at their extremes."""
    wanted = {n for s in clip.scenes for n in (s.start, (s.start + s.end) // 2, s.end - 1)}
    return read_frames(clip.path, wanted)


@pytest.fixture(scope="module")
def ref_b(local: LocalFaceProvider) -> PersonRef:
    return local.reference([load_image(str(OBAMA.path))], name="Barack Obama")


def test_detects_each_face_where_it_is(clip: FaceClip, frames: Frames, local: LocalFaceProvider) -> None:
    for number, frame in sorted(frames.items()):
        faces = local.detect(frame)
        truth = clip.boxes[number]
        if truth is None:
            assert faces == [], f"frame {number} shows no one, yet {faces}"
        else:
            assert len(faces) == 1, f"frame {number}: {faces}"
            assert faces[0].box.iou(truth) > 0.5, f"frame {number}: {faces[0].box} vs true {truth}"


def test_person_a_matches_a_and_not_b(
    clip: FaceClip, frames: Frames, local: LocalFaceProvider, ref_a: PersonRef, ref_b: PersonRef
) -> None:
    assert ref_a.name == "astronaut.jpg"
    assert len(ref_a.embedding) == 128
    for number in (clip.scenes[0].start + 25, clip.scenes[2].start + 25):
        [a] = local.find(frames[number], ref_a)
        [b] = local.find(frames[number], ref_b)
        if clip.person_at(number) == ASTRONAUT.person:
            assert a.is_match and a.distance < 0.6, a
            assert not b.is_match and b.distance > 0.6, b
        else:
            assert not a.is_match and a.distance > 0.6, a
            assert b.is_match and b.distance < 0.6, b


def test_no_one_on_screen_finds_nothing(
    clip: FaceClip, frames: Frames, local: LocalFaceProvider, ref_b: PersonRef
) -> None:
    empty = clip.scenes[1]
    assert empty.person is None
    assert local.find(frames[empty.start], ref_b) == []


def test_several_photos_of_one_person_are_averaged(
    frames: Frames, local: LocalFaceProvider, ref_a: PersonRef
) -> None:
    photo = load_image(str(ASTRONAUT.path))
    mirrored = LabelledImage("astronaut-mirrored.jpg", photo.pixels[:, ::-1])
    both = local.reference([photo, mirrored], name="Eileen Collins")
    alone = local.reference([mirrored])
    expected = (np.array(ref_a.embedding) + np.array(alone.embedding)) / 2
    np.testing.assert_allclose(both.embedding, expected, atol=1e-9)
    [match] = local.find(frames[25], both)
    assert match.is_match, match


def test_a_photo_without_a_face_is_a_clear_error(tmp_path: Path, local: LocalFaceProvider) -> None:
    stage = tmp_path / "empty-stage.png"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=400x300", "-frames:v", "1", str(stage)], what="still")
    with pytest.raises(NoFaceError, match=r"empty-stage\.png: no face found"):
        local.reference([load_image(str(stage))])


def test_a_photo_with_two_faces_is_a_clear_error(local: LocalFaceProvider) -> None:
    a, b = load_image(str(ASTRONAUT.path)), load_image(str(OBAMA.path))
    group = LabelledImage("group.jpg", np.hstack([a.pixels, b.pixels]))
    with pytest.raises(SeveralFacesError, match=r"group\.jpg: 2 faces found"):
        local.reference([a, group])


def test_rows_with_padding_are_copied_not_crashed_on(frames: Frames, local: LocalFaceProvider) -> None:
    # A view with padded rows (as PyAV returns for odd widths) made dlib segfault.
    padded = frames[0][:, :317]
    assert not padded.flags["C_CONTIGUOUS"]
    assert len(local.detect(padded)) == 1


def test_a_sideways_phone_photo_is_turned_upright(tmp_path: Path, local: LocalFaceProvider) -> None:
    upright = load_image(str(ASTRONAUT.path)).pixels
    # Stored turned a quarter to the left, tagged "rotate 90 clockwise to show" (EXIF 6).
    sideways = tmp_path / "phone.jpg"
    sideways.write_bytes(_with_exif_orientation(encode_jpeg(np.rot90(upright)), 6))
    loaded = load_image(str(sideways))
    assert loaded.pixels.shape == upright.shape
    assert len(local.detect(loaded.pixels)) == 1


def test_a_photo_from_a_url(loopback_faces: str, local: LocalFaceProvider, ref_b: PersonRef) -> None:
    from_url = local.reference([load_image(f"{loopback_faces}/obama.jpg")])
    assert from_url.name == "obama.jpg"
    np.testing.assert_allclose(from_url.embedding, ref_b.embedding, atol=1e-9)


def test_a_photo_that_cannot_be_read_is_named(tmp_path: Path, loopback_faces: str) -> None:
    with pytest.raises(ReferenceImageError, match=r"missing\.jpg: cannot read it as an image"):
        load_image(str(tmp_path / "missing.jpg"))
    with pytest.raises(ReferenceImageError, match=r"/gone\.jpg: cannot download it \(HTTP Error 404"):
        load_image(f"{loopback_faces}/gone.jpg")


def test_a_name_is_not_enough_for_the_local_provider(local: LocalFaceProvider) -> None:
    assert not local.RECOGNIZES_NAMES
    with pytest.raises(NamesNotSupportedError, match="image file or URL"):
        local.reference_by_name("Jeff Bezos")


def test_a_reference_travels_as_json_but_only_to_its_own_provider(
    frames: Frames, local: LocalFaceProvider, ref_a: PersonRef
) -> None:
    assert PersonRef.from_json(ref_a.to_json()) == ref_a
    foreign = PersonRef("Jeff Bezos", "rekognition", celebrity=True)
    with pytest.raises(ForeignReferenceError, match="'rekognition' face provider"):
        local.find(frames[0], foreign)


def test_another_person_is_compared_but_not_matched(
    clip: FaceClip, frames: Frames, local: LocalFaceProvider, ref_a: PersonRef
) -> None:
    b_scene = clip.scenes[2]
    matches = [m for n in (b_scene.start, b_scene.end - 1) for m in local.find(frames[n], ref_a)]
    assert len(matches) == 2  # a face in each frame, compared
    assert not any(m.is_match for m in matches)
    assert min(m.distance for m in matches) > local.threshold == 0.60


@pytest.fixture(scope="module")
def loopback_faces() -> Iterator[str]:
    """The test faces served over HTTP on 127.0.0.1."""
    handler = functools.partial(_QuietHandler, directory=str(FACES))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """``jpeg`` with an EXIF segment holding only an Orientation tag, as phone cameras write."""
    # TIFF header (big-endian), one IFD entry: tag 0x0112 Orientation, type SHORT, count 1.
    ifd = struct.pack(">HHHIHH", 1, 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + app1 + jpeg[2:]
