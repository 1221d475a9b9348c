"""``sprocket find-face --provider rekognition`` as whole jobs, with Rekognition answered by
botocore's Stubber and nothing sent to the network: detect -> compare -> scenes -> keep-only
(``--keep-only``), and detect -> compare -> scenes -> draw (``-o``; boxes are checked on the
boxing job, the kept scenes' own boxes in tests/e2e/test_faces.py).

How the answers are made: the number and order of the calls depend on the cuts ffmpeg finds and
on which frames are sampled, so no list of answers can be queued in advance. Instead
:class:`FakeRekognition` looks at each request as the service does, at its image: it decodes the
JPEG the provider sent and finds what it shows (a frame of the clip, by comparing it with every
decoded frame; a reference photo or a crop of one, by sliding it over the photos). The clip's
ground truth (:mod:`tests.facemedia`) gives who is there and where their face is, and the answer
is Rekognition's for that: ``FaceDetails``, or ``SourceImageFace`` / ``FaceMatches`` /
``UnmatchedFaces`` (split at the request's ``SimilarityThreshold``), boxes as ratios of the
image, ``Confidence`` and ``Similarity`` in percent. An image with no face gets what the service
documents: an ``InvalidParameterException`` from CompareFaces and empty ``FaceDetails`` from
DetectFaces. One ``ThrottlingException`` (HTTP 500) and one
``ProvisionedThroughputExceededException`` (400) are sent once each, and must be retried by the
provider itself. Each answer is queued on a :class:`~botocore.stub.Stubber` just before the call
that takes it (a ``provide-client-params`` hook, which botocore emits before the Stubber's
``before-parameter-build`` check), so the client validates every request against Rekognition's
input shapes and the Stubber every answer against its output shapes, as AWS would; a
``before-send`` hook fails any request that would leave the process.

The seam is the provider's client factory ``_make_client``: the real one runs (boto3's standard
chain, with dummy credentials and a region in the environment) and the fake is attached to the
client it returns. Everything else is what a user runs: the CLI command, the pipespec, planning,
the coordinator and the stages, on a backend plug-in (loaded by ``module:Class`` as any plug-in
is) whose executor (:class:`InlineExecutor`) runs each task in this process, so the stages use
that client.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import av
import boto3
import numpy as np
import pytest
from botocore.stub import Stubber
from numpy.typing import NDArray
from typer.testing import CliRunner

from sprocket_cli.backends.base import Backend
from sprocket_cli.cli import app
from sprocket_cli.events import TaskFailed, TaskFinished
from sprocket_cli.executors.inline import InlineExecutor
from sprocket_cli.faces import rekognition
from sprocket_cli.faces.base import Box
from sprocket_cli.faces.images import load_image
from sprocket_cli.jobs.journal import read_journal
from sprocket_cli.stages import faces as find_faces
from tests.facemedia import BIDEN, OBAMA, FaceClip, Scene, make_face_clip, read_frames

runner = CliRunner()
BACKEND = f"{__name__}:InlineBackend"
PHOTOS = (OBAMA, BIDEN)


class InlineBackend(Backend):
    """Every task runs in this process, one after another (the tests' executor)."""

    NAME: ClassVar[str] = "inline"
    DESCRIPTION: ClassVar[str] = "tasks in the coordinator's process (tests)"

    def executor(self, workers: int) -> InlineExecutor:
        return InlineExecutor(workers)


@dataclass(frozen=True)
class Call:
    """One request the fake service answered."""

    operation: str
    #: What the request's image showed: "frame N", or a photo's file name.
    image: str
    #: Who is on it per the ground truth (None: no one).
    person: str | None
    #: The error code answered, or "" for an answer.
    error: str
    #: The request's image (CompareFaces: the target), to tell a retry of the same request.
    request: bytes


@dataclass(frozen=True)
class Seen:
    """What an image shows: a frame of the clip or a (cropped) photo, and its face, if any."""

    label: str
    person: str | None
    #: The face's box in the image's pixels.
    box: Box | None
    #: The image's (width, height).
    size: tuple[int, int]
    frame: int | None = None


#: (error code, HTTP status, message) of the refusals the fake service sends.
THROTTLED = ("ThrottlingException", 500, "Amazon Rekognition is temporarily unable to process the request.")
OVER_LIMIT = ("ProvisionedThroughputExceededException", 400, "Provisioned Rate exceeded")
NO_FACE = ("InvalidParameterException", 400, "Request has invalid parameters")


@dataclass
class FakeRekognition:
    """Answers DetectFaces and CompareFaces from what the sent image shows (see the module doc)."""

    clip: FaceClip
    #: A refusal to send once, to the first call of (operation, who the image shows).
    refuse: dict[tuple[str, str | None], tuple[str, int, str]]
    calls: list[Call] = field(default_factory=list)
    #: Requests that got past the Stubber towards an endpoint (there must be none).
    sent: list[str] = field(default_factory=list)
    stubbers: list[Stubber] = field(default_factory=list)

    def __post_init__(self) -> None:
        frames = read_frames(self.clip.path, range(self.clip.frames))
        self._frames = np.stack([_small(frames[i]) for i in range(self.clip.frames)])
        self._photos = [(p, _small(load_image(str(p.path)).pixels)) for p in PHOTOS]

    def attach(self, client: Any) -> Any:
        """``client`` answered by this fake: a Stubber, fed just before each call."""
        stubber = Stubber(client)
        events = client.meta.events
        # provide-client-params comes before the Stubber's before-parameter-build check.
        events.register("provide-client-params.rekognition", lambda **kw: self._answer(stubber, **kw))
        events.register_first("before-send", self._send)
        stubber.activate()
        self.stubbers.append(stubber)
        return client

    def _send(self, request: Any, **_: Any) -> None:
        self.sent.append(request.url)
        raise AssertionError(f"a request got past the Stubber to {request.url}")

    def _answer(self, stubber: Stubber, model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "DetectFaces":
            seen = self.seen(params["Image"]["Bytes"])
            method = "detect_faces"
            faces = [] if seen.box is None else [_detail(seen.box, seen.size)]
            answer: dict[str, Any] | None = {"FaceDetails": faces}
        elif model.name == "CompareFaces":
            source, seen = (
                self.seen(params["SourceImage"]["Bytes"]),
                self.seen(params["TargetImage"]["Bytes"]),
            )
            method = "compare_faces"
            answer = _compared(source, seen, params.get("SimilarityThreshold", 80.0))
        else:
            raise AssertionError(f"the job called {model.name}, which this fake does not answer")
        refusal = self.refuse.pop((model.name, seen.person), None) or (NO_FACE if answer is None else None)
        if refusal is None:
            assert answer is not None
            stubber.add_response(method, answer)
        else:
            code, status, message = refusal
            stubber.add_client_error(method, code, message, status)
        image = params.get("TargetImage", params.get("Image", {}))["Bytes"]
        self.calls.append(Call(model.name, seen.label, seen.person, refusal[0] if refusal else "", image))

    def seen(self, jpeg: bytes) -> Seen:
        """What the JPEG shows: the nearest frame of the clip, or the photo it was cut from."""
        with av.open(io.BytesIO(jpeg), mode="r") as container:
            return self.look(np.asarray(next(container.decode(video=0)).to_ndarray(format="rgb24")))

    def look(self, pixels: NDArray[np.uint8]) -> Seen:
        """What ``pixels`` show (see :meth:`seen`)."""
        size = (pixels.shape[1], pixels.shape[0])
        small = _small(pixels)
        if size == self.clip.size:
            errors = np.abs(self._frames - small).mean(axis=(1, 2, 3))
            n = int(errors.argmin())
            assert errors[n] < 8, f"a {size} image that is no frame of the clip (off by {errors[n]:.1f})"
            return Seen(f"frame {n}", self.clip.person_at(n), self.clip.boxes[n], size, n)
        for photo, whole in self._photos:
            if small.shape[0] > whole.shape[0] or small.shape[1] > whole.shape[1]:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(whole, small.shape).squeeze(2)
            errors = np.abs(windows - small).mean(axis=(2, 3, 4))
            if errors.min() < 20:
                dy, dx = (4 * int(i) for i in np.unravel_index(errors.argmin(), errors.shape))
                b = photo.box
                box = Box(b.left - dx, b.top - dy, b.right - dx, b.bottom - dy).clipped(*size)
                return Seen(photo.path.name, photo.person, box, size)
        raise AssertionError(f"a {size} image that is neither a frame nor a photo of the test")

    def answered(self) -> None:
        """Every answer queued was taken."""
        for stubber in self.stubbers:
            stubber.assert_no_pending_responses()


def _small(pixels: NDArray[np.uint8]) -> NDArray[np.float32]:
    """``pixels`` at a quarter of their size, each pixel the mean of 4x4: quick to compare."""
    h, w = pixels.shape[0] // 4 * 4, pixels.shape[1] // 4 * 4
    small: NDArray[np.float32] = (
        pixels[:h, :w].reshape(h // 4, 4, w // 4, 4, 3).mean(axis=(1, 3), dtype=np.float32)
    )
    return small


def _ratios(box: Box, size: tuple[int, int]) -> dict[str, float]:
    """A BoundingBox as Rekognition gives it: fractions of the image's width and height."""
    w, h = size
    return {"Width": box.width / w, "Height": box.height / h, "Left": box.left / w, "Top": box.top / h}


def _face(box: Box, size: tuple[int, int]) -> dict[str, Any]:
    """A ComparedFace as the service sends it (landmarks trimmed to two)."""
    eye = {"X": (box.left + 0.3 * box.width) / size[0], "Y": (box.top + 0.4 * box.height) / size[1]}
    return {
        "BoundingBox": _ratios(box, size),
        "Confidence": 99.99,
        "Landmarks": [
            {"Type": "eyeLeft", **eye},
            {"Type": "nose", "X": eye["X"] + 0.05, "Y": eye["Y"] + 0.05},
        ],
        "Pose": {"Roll": -1.8, "Yaw": 3.2, "Pitch": 6.4},
        "Quality": {"Brightness": 78.5, "Sharpness": 92.2},
    }


def _detail(box: Box, size: tuple[int, int]) -> dict[str, Any]:
    """A FaceDetail as DetectFaces with Attributes=["DEFAULT"] sends it."""
    return {**_face(box, size), "FaceOccluded": {"Value": False, "Confidence": 99.7}}


def _compared(source: Seen, target: Seen, threshold: float) -> dict[str, Any] | None:
    """CompareFaces' answer; None where the service refuses (an image without a face)."""
    if source.box is None or target.box is None:
        return None
    similarity = 99.4 if source.person == target.person else 3.1
    face = _face(target.box, target.size)
    return {
        "SourceImageFace": {"BoundingBox": _ratios(source.box, source.size), "Confidence": 99.99},
        "FaceMatches": [{"Similarity": similarity, "Face": face}] if similarity >= threshold else [],
        "UnmatchedFaces": [face] if similarity < threshold else [],
    }


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> FaceClip:
    """Someone else, the person searched for, no one: 30 frames each, hard cuts."""
    scenes = [Scene(BIDEN, 1.2), Scene(OBAMA, 1.2), Scene(None, 1.2)]
    return make_face_clip(tmp_path_factory.mktemp("rekognition") / "play.mp4", scenes)


@pytest.fixture
def service(clip: FaceClip, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRekognition]:
    """The fake service behind every Rekognition client the job makes, throttling twice."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # one made earlier keeps what it read
    fake = FakeRekognition(
        clip, {("CompareFaces", OBAMA.person): THROTTLED, ("DetectFaces", None): OVER_LIMIT}
    )
    made = rekognition._make_client
    monkeypatch.setattr(rekognition, "_make_client", lambda: fake.attach(made()))
    find_faces.provider.cache_clear()  # the stages make their provider once per process
    yield fake
    find_faces.provider.cache_clear()


def find_face(clip: FaceClip, *args: str) -> tuple[str, list[Any]]:
    """``sprocket find-face`` with the Rekognition provider; its output and its job's events."""
    command = ["find-face", str(clip.path), "--person", str(OBAMA.path), "--provider", "rekognition"]
    job = ["-w", "2", "--chunk-seconds", "2", "--job-dir", "jobs", "--backend", BACKEND]
    result = runner.invoke(app, [*command, *args, *job])
    assert result.exit_code == 0, result.output
    [journal] = Path("jobs").glob("*/journal.jsonl")
    return " ".join(result.output.split()), list(read_journal(journal.parent))


def scenes_of(events: list[Any]) -> list[dict[str, Any]]:
    """What find_faces found in each scene, in order (the facts of its finished tasks)."""
    facts = [
        e.result["meta"]
        for e in events
        if isinstance(e, TaskFinished) and e.result is not None and "sampled" in e.result["meta"]
    ]
    return sorted(facts, key=lambda f: f["scene"])


def check_service(fake: FakeRekognition, events: list[Any]) -> None:
    """Each throttled call was tried again by the provider and answered; nothing left the process."""
    assert not fake.sent
    fake.answered()
    refused = [i for i, c in enumerate(fake.calls) if c.error in (THROTTLED[0], OVER_LIMIT[0])]
    assert [fake.calls[i].error for i in refused] == [THROTTLED[0], OVER_LIMIT[0]]
    for i in refused:
        again = fake.calls[i + 1]
        assert (again.operation, again.request, again.error) == (
            fake.calls[i].operation,
            fake.calls[i].request,
            "",
        )
    # ... by the provider's own backoff, not by the coordinator running the task again.
    assert not [e for e in events if isinstance(e, TaskFailed)]


def test_keep_only_keeps_the_person_scene_and_reports_why_each_scene_was_kept_or_not(
    clip: FaceClip, service: FakeRekognition, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.mp4"
    out, events = find_face(clip, "--keep-only", "-o", str(kept))
    check_service(service, events)

    # The reference photo went through DetectFaces; each sampled frame through CompareFaces,
    # and the frames CompareFaces refused for having no face through DetectFaces.
    first = service.calls[0]
    assert (first.operation, first.image, first.error) == ("DetectFaces", OBAMA.path.name, "")
    refused = [c for c in service.calls if c.error == NO_FACE[0]]
    assert refused and {c.person for c in refused} == {None}

    scenes = scenes_of(events)
    assert [s["outcome"] for s in scenes] == ["no_match", "match", "no_face"]
    for scene, outcome in zip(scenes, ["no_match", "match", "no_face"], strict=True):
        assert scene["sampled"][outcome] == sum(scene["sampled"].values()) >= 5
    assert scenes[0]["closest"] == pytest.approx(1 - 3.1 / 100)
    other, mine, nobody = (sum(s["sampled"].values()) for s in scenes)
    assert "appears in 1 of 3 scenes" in out
    assert f"not matched: faces in {other} of {other} sampled frames, closest at distance 0.97" in out
    assert f"matched in {mine} of {mine} sampled frames, best distance 0.01" in out
    assert f"not matched: no face in {nobody} sampled frames" in out

    # The output is the person's scene and nothing else, each of its frames once, in order.
    truth = next(s for s in clip.scenes if s.person == OBAMA.person)
    frames = read_frames(kept, range(count_frames(kept)))
    shown = [service.look(frames[i]).frame for i in range(len(frames))]
    start = shown[0]
    assert start is not None and shown == list(range(start, start + len(shown)))
    assert abs(start - truth.start) <= 1 and abs(len(shown) - (truth.end - truth.start)) <= 1
    with av.open(str(kept)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        assert float(stream.duration * stream.time_base) == pytest.approx(len(shown) / clip.fps, abs=0.05)


def test_the_person_is_boxed_where_rekognition_saw_them_and_nowhere_else(
    clip: FaceClip, service: FakeRekognition, tmp_path: Path
) -> None:
    boxed = tmp_path / "boxed.mp4"
    out, events = find_face(clip, "-o", str(boxed))
    check_service(service, events)
    assert "appears in 1 of 3 scenes" in out

    drawn = read_frames(boxed, range(clip.frames))
    source = read_frames(clip.path, range(clip.frames))
    for scene in clip.scenes:
        # Away from the cuts, where scene detection may put its cut a frame off.
        for n in range(scene.start + 2, scene.end - 2):
            change = np.abs(drawn[n].astype(int) - source[n].astype(int))
            box = clip.boxes[n]
            if scene.person != OBAMA.person:
                assert change.mean() < 3, n  # coding noise only
                continue
            assert box is not None
            # The outline runs along the box Rekognition reported (the true face box): the pixels
            # on its edges change, the face inside it stays as it was.
            edges = np.concatenate([
                change[box.top : box.bottom, max(box.left - 3, 0) : box.left + 4].ravel(),
                change[max(box.top - 3, 0) : box.top + 4, box.left : box.right].ravel(),
            ])  # fmt: skip
            inside = change[box.top + 10 : box.bottom - 10, box.left + 10 : box.right - 10]
            assert edges.mean() > 40 and inside.mean() < 6, (n, edges.mean(), inside.mean())


def count_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))
