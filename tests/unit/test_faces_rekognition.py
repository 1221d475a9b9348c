"""The Rekognition face provider against botocore's Stubber: the real service model, no network.

The Stubber checks every request against Rekognition's API definition and every canned answer
against its response shapes, so a misspelt parameter or field fails here as it would in AWS.
Time is a fake clock: backoff and the token bucket "sleep" by moving it forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber
from mypy_boto3_rekognition import RekognitionClient

from sprocket_cli.errors import UsageError
from sprocket_cli.faces.base import Box, PersonRef
from sprocket_cli.faces.errors import FaceServiceError, NoFaceError, SeveralFacesError
from sprocket_cli.faces.images import encode_jpeg, load_image
from sprocket_cli.faces.pacing import Backoff, TokenBucket
from sprocket_cli.faces.rekognition import RekognitionFaceProvider
from tests.facemedia import ASTRONAUT, OBAMA


class FakeClock:
    """Monotonic time that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client() -> RekognitionClient:
    return boto3.client(
        "rekognition",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def stub(client: RekognitionClient) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def provider(client: RekognitionClient, stub: Stubber, clock: FakeClock) -> RekognitionFaceProvider:
    return RekognitionFaceProvider(
        client=client,
        bucket=TokenBucket(5, clock=clock, sleep=clock.sleep),
        backoff=Backoff(sleep=clock.sleep, rng=lambda: 1.0),  # the longest waits full jitter allows
    )


#: A 400x300 photo: the face box below in pixels is (160, 60)-(280, 180).
PHOTO = load_image(str(OBAMA.path))
FACE_BOX = {"Width": 0.3, "Height": 0.4, "Left": 0.4, "Top": 0.2}


def _compared_face(box: dict[str, float], confidence: float = 99.9) -> dict[str, Any]:
    """A ComparedFace as the service sends it (landmarks, pose and quality trimmed to a few)."""
    return {
        "BoundingBox": box,
        "Confidence": confidence,
        "Landmarks": [{"Type": "eyeLeft", "X": box["Left"] + 0.1, "Y": box["Top"] + 0.15}],
        "Pose": {"Roll": -2.1, "Yaw": 4.5, "Pitch": 7.9},
        "Quality": {"Brightness": 71.2, "Sharpness": 86.9},
    }


def _face_detail(box: dict[str, float], confidence: float = 99.99) -> dict[str, Any]:
    return {**_compared_face(box, confidence), "FaceOccluded": {"Value": False, "Confidence": 99.8}}


def test_detect_sends_a_jpeg_and_turns_ratios_into_pixels(
    stub: Stubber, provider: RekognitionFaceProvider
) -> None:
    second = {"Width": 0.1, "Height": 0.15, "Left": -0.02, "Top": 0.7}  # overhangs the left edge
    stub.add_response(
        "detect_faces",
        {"FaceDetails": [_face_detail(FACE_BOX), _face_detail(second, 91.5)]},
        {"Image": {"Bytes": encode_jpeg(PHOTO.pixels)}, "Attributes": ["DEFAULT"]},
    )
    faces = provider.detect(PHOTO.pixels)
    assert [f.box for f in faces] == [Box(160, 60, 280, 180), Box(0, 210, 32, 255)]
    assert [f.confidence for f in faces] == pytest.approx([0.9999, 0.915])


def test_reference_keeps_the_face_cropped_as_jpeg(stub: Stubber, provider: RekognitionFaceProvider) -> None:
    stub.add_response(
        "detect_faces", {"FaceDetails": [_face_detail(FACE_BOX)]}, {"Image": ANY, "Attributes": ANY}
    )
    ref = provider.reference([PHOTO], name="Barack Obama")
    assert (ref.name, ref.provider, ref.celebrity) == ("Barack Obama", "rekognition", False)
    [jpeg] = ref.images
    assert jpeg[:2] == b"\xff\xd8"
    # The 120x120 face with half its size around it on each side, cut at the photo's edges.
    assert jpeg == encode_jpeg(PHOTO.pixels[0:240, 100:340])
    assert PersonRef.from_json(ref.to_json()) == ref


def test_reference_photos_with_no_face_or_several_are_named(
    stub: Stubber, provider: RekognitionFaceProvider
) -> None:
    stub.add_response("detect_faces", {"FaceDetails": []}, {"Image": ANY, "Attributes": ANY})
    with pytest.raises(NoFaceError, match=r"obama\.jpg: no face found"):
        provider.reference([PHOTO])
    two = {"FaceDetails": [_face_detail(FACE_BOX), _face_detail({**FACE_BOX, "Left": 0.0})]}
    stub.add_response("detect_faces", two, {"Image": ANY, "Attributes": ANY})
    with pytest.raises(SeveralFacesError, match=r"obama\.jpg: 2 faces found"):
        provider.reference([PHOTO])


def test_find_compares_with_every_reference_photo_and_averages(
    stub: Stubber, provider: RekognitionFaceProvider
) -> None:
    ref = PersonRef("kid", "rekognition", images=(b"photo-1", b"photo-2"))
    frame = load_image(str(ASTRONAUT.path)).pixels
    other = {"Width": 0.2, "Height": 0.3, "Left": 0.05, "Top": 0.1}
    for source, similarity in ((b"photo-1", 99.0), (b"photo-2", 91.0)):
        stub.add_response(
            "compare_faces",
            {
                "SourceImageFace": {"BoundingBox": FACE_BOX, "Confidence": 99.9},
                "FaceMatches": [
                    {"Similarity": similarity, "Face": _compared_face(FACE_BOX)},
                    {"Similarity": 3.0, "Face": _compared_face(other)},
                ],
                "UnmatchedFaces": [],
            },
            {
                "SourceImage": {"Bytes": source},
                "TargetImage": {"Bytes": encode_jpeg(frame)},
                "SimilarityThreshold": 0.0,
            },
        )
    kid, stranger = provider.find(frame, ref)
    assert kid.face.box == Box(160, 60, 280, 180)
    assert kid.distance == pytest.approx(0.05) and kid.is_match
    assert stranger.distance == pytest.approx(0.97) and not stranger.is_match


def test_a_frame_compare_faces_refuses_is_no_face_once_detect_faces_finds_none(
    stub: Stubber, provider: RekognitionFaceProvider
) -> None:
    ref = PersonRef("kid", "rekognition", images=(b"photo-1", b"photo-2"))
    frame = load_image(str(ASTRONAUT.path)).pixels
    message = "Request has invalid parameters"  # what CompareFaces says of a face-free target
    stub.add_client_error("compare_faces", "InvalidParameterException", message, 400)
    stub.add_response(
        "detect_faces", {"FaceDetails": []}, {"Image": {"Bytes": encode_jpeg(frame)}, "Attributes": ANY}
    )
    assert provider.find(frame, ref) == []  # and photo-2 is not asked about


def test_a_refusal_of_a_frame_with_a_face_is_a_failure(
    stub: Stubber, provider: RekognitionFaceProvider
) -> None:
    ref = PersonRef("kid", "rekognition", images=(b"photo-1",))
    frame = load_image(str(ASTRONAUT.path)).pixels
    stub.add_client_error("compare_faces", "InvalidParameterException", "Request has invalid parameters", 400)
    stub.add_response(
        "detect_faces", {"FaceDetails": [_face_detail(FACE_BOX)]}, {"Image": ANY, "Attributes": ANY}
    )
    with pytest.raises(FaceServiceError, match="CompareFaces refused: InvalidParameterException"):
        provider.find(frame, ref)


def test_a_celebrity_is_found_by_name_in_any_case(stub: Stubber, provider: RekognitionFaceProvider) -> None:
    assert provider.RECOGNIZES_NAMES
    ref = provider.reference_by_name("jeff   BEZOS")
    stub.add_response(
        "recognize_celebrities",
        {
            "CelebrityFaces": [
                {
                    "Urls": ["www.wikidata.org/wiki/Q312556"],
                    "Name": "Jeff Bezos",
                    "Id": "23iZ1oP",
                    "Face": _compared_face(FACE_BOX),
                    "MatchConfidence": 99.5,
                    "KnownGender": {"Type": "Male"},
                }
            ],
            "UnrecognizedFaces": [_compared_face({"Width": 0.1, "Height": 0.1, "Left": 0.8, "Top": 0.1})],
        },
        {"Image": {"Bytes": encode_jpeg(PHOTO.pixels)}},
    )
    bezos, unknown = provider.find(PHOTO.pixels, ref)
    assert (bezos.seen_as, bezos.is_match) == ("Jeff Bezos", True)
    assert bezos.distance == pytest.approx(0.005)
    assert (unknown.seen_as, unknown.is_match) == (None, False)


def test_a_name_never_recognised_reports_the_names_seen_instead(
    stub: Stubber, provider: RekognitionFaceProvider
) -> None:
    ref = provider.reference_by_name("Jeff Bezos")
    matches = []
    for names in (["Andy Jassy"], ["Andy Jassy", "Werner Vogels"]):
        celebrities = [
            {
                "Name": name,
                "Id": f"id{i}",
                "Urls": [],
                "Face": _compared_face(FACE_BOX),
                "MatchConfidence": 97.0,
            }
            for i, name in enumerate(names)
        ]
        stub.add_response("recognize_celebrities", {"CelebrityFaces": celebrities, "UnrecognizedFaces": []})
        matches += provider.find(PHOTO.pixels, ref)
    assert not any(m.is_match for m in matches)
    assert [m.seen_as for m in matches] == ["Andy Jassy", "Andy Jassy", "Werner Vogels"]


def test_a_stricter_threshold_turns_a_weak_recognition_away(
    client: RekognitionClient, stub: Stubber, clock: FakeClock
) -> None:
    strict = RekognitionFaceProvider(client=client, threshold=0.01, backoff=Backoff(sleep=clock.sleep))
    ref = strict.reference_by_name("Jeff Bezos")
    celebrity = {
        "Name": "Jeff Bezos",
        "Id": "23iZ1oP",
        "Face": _compared_face(FACE_BOX),
        "MatchConfidence": 95.0,
    }
    stub.add_response("recognize_celebrities", {"CelebrityFaces": [celebrity], "UnrecognizedFaces": []})
    [weak] = strict.find(PHOTO.pixels, ref)
    assert weak.seen_as == "Jeff Bezos" and not weak.is_match
    assert weak.distance == pytest.approx(0.05) and strict.threshold == 0.01
    with pytest.raises(UsageError, match="threshold must be a distance >= 0"):
        RekognitionFaceProvider(client=client, threshold=-1)


def test_throttling_and_server_errors_are_retried_after_growing_waits(
    stub: Stubber, provider: RekognitionFaceProvider, clock: FakeClock
) -> None:
    stub.add_client_error("detect_faces", "ThrottlingException", "Rate exceeded", 400)
    stub.add_client_error("detect_faces", "InternalServerError", "Internal error", 500)
    stub.add_client_error("detect_faces", "ProvisionedThroughputExceededException", "Slow down", 400)
    stub.add_response("detect_faces", {"FaceDetails": [_face_detail(FACE_BOX)]})
    [face] = provider.detect(PHOTO.pixels)
    assert face.box == Box(160, 60, 280, 180)
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_throttling_that_does_not_stop_gives_up_with_a_clear_error(
    client: RekognitionClient, stub: Stubber, clock: FakeClock
) -> None:
    provider = RekognitionFaceProvider(
        client=client,
        bucket=TokenBucket(5, clock=clock, sleep=clock.sleep),
        backoff=Backoff(attempts=3, base=1.0, sleep=clock.sleep, rng=lambda: 0.5),
    )
    for _ in range(3):
        stub.add_client_error("detect_faces", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(
        FaceServiceError, match=r"DetectFaces still failing after 3 attempts \(ThrottlingException"
    ):
        provider.detect(PHOTO.pixels)
    assert clock.sleeps == [0.5, 1.0]


def test_a_refused_request_is_not_retried(
    stub: Stubber, provider: RekognitionFaceProvider, clock: FakeClock
) -> None:
    stub.add_client_error(
        "detect_faces", "InvalidImageFormatException", "Request has invalid image format", 400
    )
    with pytest.raises(FaceServiceError, match="DetectFaces refused: InvalidImageFormatException"):
        provider.detect(PHOTO.pixels)
    assert clock.sleeps == []


def test_calls_are_paced_by_the_token_bucket(
    client: RekognitionClient, stub: Stubber, clock: FakeClock
) -> None:
    provider = RekognitionFaceProvider(
        client=client,
        bucket=TokenBucket(2, clock=clock, sleep=clock.sleep),
        backoff=Backoff(sleep=clock.sleep),
    )
    for _ in range(5):
        stub.add_response("detect_faces", {"FaceDetails": []})
    for _ in range(5):
        provider.detect(PHOTO.pixels)
    # A burst of 2 goes at once; the other 3 come half a second apart.
    assert clock.sleeps == pytest.approx([0.5, 0.5, 0.5])


def test_the_bucket_refills_while_callers_are_away(clock: FakeClock) -> None:
    bucket = TokenBucket(4, burst=2, clock=clock, sleep=clock.sleep)
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, pytest.approx(0.25)]
    clock.now += 10  # idle: the bucket fills to its burst, not beyond
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, pytest.approx(0.25)]


def test_no_region_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance metadata service
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # one made earlier keeps the config it read
    with pytest.raises(FaceServiceError, match="no AWS region is configured: set AWS_REGION"):
        RekognitionFaceProvider()


def test_frames_must_be_rgb_bytes(provider: RekognitionFaceProvider) -> None:
    with pytest.raises(ValueError, match=r"\(height, width, 3\) uint8"):
        provider.detect(np.zeros((240, 320), dtype=np.uint8))
