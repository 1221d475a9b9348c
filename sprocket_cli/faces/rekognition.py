"""Amazon Rekognition as a face provider: DetectFaces, CompareFaces and RecognizeCelebrities.

Every call passes a client-side token bucket first (Rekognition's per-account limits are a few
calls per second per operation) and is retried with jittered exponential backoff when the
service throttles or fails on its side. boto3 is imported lazily: the local path never needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar, TypeVar

from sprocket_cli.errors import UsageError
from sprocket_cli.faces.base import (
    Box,
    Face,
    FaceProvider,
    Frame,
    LabelledImage,
    Match,
    PersonRef,
    one_face_each,
    person_label,
)
from sprocket_cli.faces.errors import FaceServiceError
from sprocket_cli.faces.images import encode_jpeg, rgb_frame
from sprocket_cli.faces.pacing import Backoff, TokenBucket

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_rekognition.type_defs import BoundingBoxTypeDef, ComparedFaceTypeDef

T = TypeVar("T")

#: Error codes worth another try: the service asks us to slow down.
RETRYABLE_CODES = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException"})
#: Margin kept around the face when a reference photo is cropped, as a fraction of the face size.
_REF_MARGIN = 0.5
#: Faces of two CompareFaces answers about one frame are the same face above this overlap.
_SAME_FACE_IOU = 0.5


class RekognitionFaceProvider(FaceProvider):
    """Rekognition in the account and region of boto3's standard chain (env, profile, role)."""

    NAME: ClassVar[str] = "rekognition"
    #: 1 - 80/100: CompareFaces's own default similarity threshold is 80%.
    DEFAULT_THRESHOLD: ClassVar[float] = 0.2
    RECOGNIZES_NAMES: ClassVar[bool] = True

    def __init__(
        self,
        *,
        threshold: float | None = None,
        client: RekognitionClient | None = None,
        requests_per_second: float = 5.0,
        backoff: Backoff | None = None,
        bucket: TokenBucket | None = None,
    ) -> None:
        """``client``: a ready boto3 Rekognition client (tests pass a Stubber'ed one); without
        it one is made with botocore's own retries off, so a throttled call is not retried twice.

        ``requests_per_second`` applies to this provider object, i.e. to one worker process.
        ``bucket`` replaces it outright (tests pass one with a fake clock).
        """
        super().__init__(threshold=threshold)
        self.client = client if client is not None else _make_client()
        self.bucket = bucket if bucket is not None else TokenBucket(requests_per_second)
        self.backoff = backoff if backoff is not None else Backoff()

    def detect(self, frame: Frame) -> list[Face]:
        image = rgb_frame(frame)
        return self._detect(encode_jpeg(image), (image.shape[1], image.shape[0]))

    def _detect(self, jpeg: bytes, size: tuple[int, int]) -> list[Face]:
        answer = self._call(
            "DetectFaces", lambda: self.client.detect_faces(Image={"Bytes": jpeg}, Attributes=["DEFAULT"])
        )
        return [
            Face(_box(d.get("BoundingBox"), size), d.get("Confidence", 0.0) / 100)
            for d in answer.get("FaceDetails", [])
        ]

    def reference(self, images: Sequence[LabelledImage], *, name: str | None = None) -> PersonRef:
        label = person_label(images, name)
        faces = one_face_each(images, [self.detect(image.pixels) for image in images])
        crops = [encode_jpeg(_around(i.pixels, f.box)) for i, f in zip(images, faces, strict=True)]
        return PersonRef(name=label, provider=self.NAME, images=tuple(crops))

    def reference_by_name(self, name: str) -> PersonRef:
        """A celebrity, recognised by RecognizeCelebrities; nothing is checked until frames come."""
        tidy = " ".join(name.split())
        if not tidy:
            raise UsageError("a person's name cannot be empty")
        return PersonRef(name=tidy, provider=self.NAME, celebrity=True)

    def find(self, frame: Frame, ref: PersonRef) -> list[Match]:
        self._own(ref)
        image = rgb_frame(frame)
        jpeg = encode_jpeg(image)
        size = (image.shape[1], image.shape[0])
        if ref.celebrity:
            return self._celebrities(jpeg, size, ref)
        return self._compare(jpeg, size, ref)

    def _celebrities(self, jpeg: bytes, size: tuple[int, int], ref: PersonRef) -> list[Match]:
        answer = self._call(
            "RecognizeCelebrities", lambda: self.client.recognize_celebrities(Image={"Bytes": jpeg})
        )
        wanted = ref.name.casefold()
        out = []
        for celeb in answer.get("CelebrityFaces", []):
            seen = " ".join(celeb.get("Name", "").split())
            face = _face(celeb.get("Face", {}), size)
            if seen.casefold() == wanted:
                distance = 1.0 - celeb.get("MatchConfidence", 0.0) / 100
                out.append(Match(face, distance, distance <= self.threshold, seen))
            else:
                out.append(Match(face, 1.0, False, seen or None))
        out += [Match(_face(f, size), 1.0, False) for f in answer.get("UnrecognizedFaces", [])]
        return out

    def _compare(self, jpeg: bytes, size: tuple[int, int], ref: PersonRef) -> list[Match]:
        # One CompareFaces per reference photo; a face's similarity is the mean over the photos
        # (a photo's answer that lacks the face counts 0), the service's way of "averaging".
        faces: list[Face] = []
        totals: list[float] = []
        for source in ref.images:
            scored = self._compare_one(source, jpeg, size)
            if scored is None:
                return []  # no face in the frame: every other photo would be refused alike
            for face, similarity in scored:
                same = next((i for i, f in enumerate(faces) if f.box.iou(face.box) > _SAME_FACE_IOU), None)
                if same is None:
                    faces.append(face)
                    totals.append(similarity)
                else:
                    totals[same] += similarity
        out = []
        for face, total in zip(faces, totals, strict=True):
            distance = 1.0 - total / len(ref.images) / 100
            out.append(Match(face, distance, distance <= self.threshold))
        return out

    def _compare_one(
        self, source: bytes, jpeg: bytes, size: tuple[int, int]
    ) -> list[tuple[Face, float]] | None:
        """Every face of the frame ``jpeg`` with its similarity (percent) to the photo ``source``;
        None when the frame has no face."""
        try:
            answer = self._call(
                "CompareFaces",
                # Threshold 0: every face comes back with its similarity, not only the close ones.
                lambda: self.client.compare_faces(
                    SourceImage={"Bytes": source}, TargetImage={"Bytes": jpeg}, SimilarityThreshold=0.0
                ),
            )
        except FaceServiceError as error:
            # CompareFaces refuses an image without a face as InvalidParameterException. The
            # photo has one (reference() made sure), so DetectFaces tells, as AWS advises, whether
            # the frame has none: an answer ("no face"), not a failure of the job.
            if _refusal(error) != "InvalidParameterException" or self._detect(jpeg, size):
                raise
            return None
        matched = answer.get("FaceMatches", [])
        scored = [(_face(m.get("Face", {}), size), m.get("Similarity", 0.0)) for m in matched]
        return scored + [(_face(face, size), 0.0) for face in answer.get("UnmatchedFaces", [])]

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        """``call()`` paced by the bucket, retried with backoff while the service throttles."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        for attempt in range(self.backoff.attempts):
            self.bucket.acquire()
            try:
                return call()
            except ClientError as error:
                if not _retryable(error) or attempt + 1 == self.backoff.attempts:
                    raise _service_error(operation, error, attempt + 1) from error
            except NoCredentialsError as error:
                raise FaceServiceError(
                    "Rekognition needs AWS credentials: set AWS_PROFILE or the AWS_ACCESS_KEY_ID "
                    "variables, or run `aws configure`"
                ) from error
            except BotoCoreError as error:
                raise FaceServiceError(f"Rekognition {operation} failed: {error}") from error
            self.backoff.wait(attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _make_client() -> RekognitionClient:
    import boto3  # lazy: only the Rekognition provider needs it
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    try:
        # Our own backoff does the retrying (it honours the token bucket); botocore's would add
        # its own attempts on top of ours.
        return boto3.client("rekognition", config=Config(retries={"total_max_attempts": 1}))
    except NoRegionError as error:
        raise FaceServiceError(
            "Rekognition is regional and no AWS region is configured: set AWS_REGION "
            "(or a region in your AWS profile)"
        ) from error


def _retryable(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in RETRYABLE_CODES or status >= 500


def _refusal(error: FaceServiceError) -> str:
    """The service's error code behind ``error`` ("" when it came from elsewhere)."""
    from botocore.exceptions import ClientError

    cause = error.__cause__
    return cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""


def _service_error(operation: str, error: ClientError, attempts: int) -> FaceServiceError:
    code = error.response.get("Error", {}).get("Code", "?")
    message = error.response.get("Error", {}).get("Message", "")
    if _retryable(error):
        return FaceServiceError(
            f"Rekognition {operation} still failing after {attempts} attempts ({code}: {message}); "
            "lower the request rate or try later"
        )
    hint = "; the credentials need rekognition:" + operation if code == "AccessDeniedException" else ""
    return FaceServiceError(f"Rekognition {operation} refused: {code}: {message}{hint}")


def _box(box: BoundingBoxTypeDef | None, size: tuple[int, int]) -> Box:
    box = box or {}
    return Box.from_ratios(
        box.get("Left", 0.0), box.get("Top", 0.0), box.get("Width", 0.0), box.get("Height", 0.0), size
    )


def _face(face: ComparedFaceTypeDef, size: tuple[int, int]) -> Face:
    return Face(_box(face.get("BoundingBox"), size), face.get("Confidence", 0.0) / 100)


def _around(frame: Frame, box: Box) -> Frame:
    """The part of ``frame`` around ``box``: less to upload with every CompareFaces call."""
    dx, dy = round(box.width * _REF_MARGIN), round(box.height * _REF_MARGIN)
    height, width = frame.shape[:2]
    near = Box(box.left - dx, box.top - dy, box.right + dx, box.bottom + dy).clipped(width, height)
    return frame[near.top : near.bottom, near.left : near.right]
