"""The face provider interface and the values every provider speaks.

A provider finds faces in RGB frames and tells how far each is from one person. The person is
turned into a :class:`PersonRef` once, on the coordinator, and shipped to every worker as JSON,
so a worker never needs the user's photos (and the local provider never re-embeds them).

Importing this module is cheap: numpy, dlib and boto3 are needed only by the providers.
"""

from __future__ import annotations

import base64
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from sprocket_cli.errors import UsageError
from sprocket_cli.faces.errors import (
    ForeignReferenceError,
    NamesNotSupportedError,
    NoFaceError,
    ReferenceImageError,
    SeveralFacesError,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

#: An RGB frame: ``uint8`` array of shape (height, width, 3).
Frame: TypeAlias = "NDArray[np.uint8]"


@dataclass(frozen=True)
class Box:
    """A face's rectangle in pixels of the frame it was found in; right and bottom are exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return max(0, self.right - self.left)

    @property
    def height(self) -> int:
        return max(0, self.bottom - self.top)

    @property
    def area(self) -> int:
        return self.width * self.height

    def iou(self, other: Box) -> float:
        """Intersection over union: 1.0 for the same box, 0.0 for disjoint ones."""
        inter = Box(
            max(self.left, other.left),
            max(self.top, other.top),
            min(self.right, other.right),
            min(self.bottom, other.bottom),
        ).area
        union = self.area + other.area - inter
        return inter / union if union else 0.0

    def clipped(self, width: int, height: int) -> Box:
        """This box cut to a ``width`` x ``height`` frame (detectors report boxes that overhang)."""
        return Box(
            min(max(self.left, 0), width),
            min(max(self.top, 0), height),
            min(max(self.right, 0), width),
            min(max(self.bottom, 0), height),
        )

    @classmethod
    def from_ratios(cls, left: float, top: float, width: float, height: float, size: tuple[int, int]) -> Box:
        """A box from fractions of the frame (as services report them); ``size`` is (width, height)."""
        w, h = size
        return cls(
            round(left * w), round(top * h), round((left + width) * w), round((top + height) * h)
        ).clipped(w, h)


@dataclass(frozen=True)
class Face:
    """One face found in a frame."""

    box: Box
    #: How sure the detector is; higher is surer. The scale is the provider's: Rekognition 0-1,
    #: dlib's HOG detector an SVM margin (about 0-3), not a probability.
    confidence: float
    #: The provider's identity vector (local: dlib's 128-d embedding); None where not computed.
    embedding: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Match:
    """A face and how far it is from the person searched for."""

    face: Face
    #: 0.0 is the same face; larger is less alike. Local: Euclidean distance of embeddings
    #: (same person below about 0.6); Rekognition: 1 - similarity/100.
    distance: float
    #: ``distance`` is within the provider's threshold (and, for a name, the name matched).
    is_match: bool
    #: The name the provider recognised this face as (celebrity recognition), if any.
    seen_as: str | None = None

    def to_json(self) -> dict[str, Any]:
        box = self.face.box
        return {
            "box": [box.left, box.top, box.right, box.bottom],
            "confidence": self.face.confidence,
            "distance": self.distance,
            "is_match": self.is_match,
            "seen_as": self.seen_as,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Match:
        face = Face(Box(*(int(v) for v in data["box"])), float(data["confidence"]))
        return cls(face, float(data["distance"]), bool(data["is_match"]), data.get("seen_as"))


@dataclass(frozen=True)
class PersonRef:
    """What a provider needs to recognise one person: made once, shipped to workers as JSON."""

    #: For messages: the name given, or the first reference image's file name.
    name: str
    #: ``NAME`` of the provider that made it; another provider cannot use it.
    provider: str
    #: Mean of the reference images' embeddings (local provider).
    embedding: tuple[float, ...] = ()
    #: Each reference image as JPEG bytes (Rekognition compares frames against these).
    images: tuple[bytes, ...] = ()
    #: ``name`` is a celebrity's name to recognise, not a label for photos.
    celebrity: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "provider": self.provider,
            "embedding": list(self.embedding),
            "images": [base64.b64encode(image).decode("ascii") for image in self.images],
            "celebrity": self.celebrity,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PersonRef:
        return cls(
            name=str(data["name"]),
            provider=str(data["provider"]),
            embedding=tuple(float(v) for v in data.get("embedding", ())),
            images=tuple(base64.b64decode(image) for image in data.get("images", ())),
            celebrity=bool(data.get("celebrity", False)),
        )


@dataclass(frozen=True, eq=False)
class LabelledImage:
    """A reference photo and where it came from, so an error can name the file."""

    #: The path or URL as the user gave it.
    source: str
    pixels: Frame


class FaceProvider(ABC):
    """Finds faces in frames and measures them against one person.

    Subclasses set :attr:`NAME` (the ``sprocket.faces`` entry point name) and
    :attr:`DEFAULT_THRESHOLD`; optional abilities are the concrete methods below, with a flag
    the CLI can read before calling them.
    """

    NAME: ClassVar[str]
    #: The largest :attr:`Match.distance` that still counts as the same person.
    DEFAULT_THRESHOLD: ClassVar[float]
    #: :meth:`reference_by_name` works (a celebrity's name instead of photos).
    RECOGNIZES_NAMES: ClassVar[bool] = False
    #: The names the constructor's ``detector=`` takes, the first the default; with none, the
    #: provider has one detector and takes no ``detector=`` nor ``min_face=`` (a service's own).
    DETECTORS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, threshold: float | None = None) -> None:
        chosen = self.DEFAULT_THRESHOLD if threshold is None else threshold
        if not (math.isfinite(chosen) and chosen >= 0):
            raise UsageError(f"face match threshold must be a distance >= 0, not {threshold}")
        self.threshold = chosen

    @abstractmethod
    def detect(self, frame: Frame) -> list[Face]:
        """Every face in ``frame`` (boxes and confidence; no embeddings), in no set order."""

    @abstractmethod
    def reference(self, images: Sequence[LabelledImage], *, name: str | None = None) -> PersonRef:
        """One person from one or more photos of them, each with exactly one face.

        Raises :class:`NoFaceError` or :class:`SeveralFacesError` (or, with both kinds of fault,
        :class:`ReferenceImageError`) naming every offending file, in one line.
        """

    @abstractmethod
    def find(self, frame: Frame, ref: PersonRef) -> list[Match]:
        """Every face in ``frame`` with its distance to ``ref``."""

    def find_again(self, frame: Frame, ref: PersonRef, before: Sequence[Match]) -> list[Match]:
        """As :meth:`find`, for the next sample of a scene whose previous sample gave ``before``:
        a provider may carry a face's distance over rather than measure it again."""
        return self.find(frame, ref)

    def smallest_face(self, height: int) -> int | None:
        """About the smallest face height, in pixels, found in a frame ``height`` pixels high;
        None where the provider does not say."""
        return None

    def detector_choice(self, height: int) -> tuple[str, int] | None:
        """(detector, doublings of the frame before detection: negative for halvings) used on
        a frame ``height`` pixels high; None where the provider does not say."""
        return None

    def reference_by_name(self, name: str) -> PersonRef:
        """A person known to the provider by name (only where :attr:`RECOGNIZES_NAMES`)."""
        raise NamesNotSupportedError(
            f"the {self.NAME!r} face provider recognises people from photos, not names: give "
            f"--person an image file or URL (or use a provider that knows celebrities' names)"
        )

    def close(self) -> None:  # noqa: B027 (a safe default: most providers hold nothing to release)
        """Release models or clients; the provider is not used afterwards."""

    def _own(self, ref: PersonRef) -> PersonRef:
        """``ref`` if this provider made it; a clear error otherwise."""
        if ref.provider != self.NAME:
            raise ForeignReferenceError(
                f"{ref.name!r} was prepared by the {ref.provider!r} face provider; "
                f"the {self.NAME!r} provider cannot use it (prepare it again with {self.NAME!r})"
            )
        return ref


def one_face_each(images: Sequence[LabelledImage], found: Sequence[list[Face]], hint: str = "") -> list[Face]:
    """The only face of each reference image (``found[i]`` holds image i's faces).

    One error names every image without exactly one face, so that a folder of photos is fixed in
    one go rather than one file per run. ``hint``: why a face may have been missed.
    """
    pairs = list(zip(images, found, strict=True))
    bad = [(image.source, len(faces)) for image, faces in pairs if len(faces) != 1]
    if not bad:
        return [faces[0] for faces in found]
    missed = any(count == 0 for _, count in bad)
    crowded = any(count > 1 for _, count in bad)
    kind = NoFaceError if not crowded else SeveralFacesError if not missed else ReferenceImageError
    advice = [hint] if missed and hint else []
    advice += ["crop group photos to the one person"] if crowded else []
    note = f" ({'; '.join(advice)})" if advice else ""
    if len(bad) == 1:
        source, count = bad[0]
        what = "no face found" if not count else f"{count} faces found"
        raise kind(f"{source}: {what} in this reference image{note}")
    problems = "; ".join(f"{source}: {f'{count} faces' if count else 'no face'}" for source, count in bad)
    raise kind(f"{len(bad)} of {len(images)} reference images need exactly one face: {problems}{note}")


def person_label(images: Sequence[LabelledImage], name: str | None) -> str:
    """``name``, else the first photo's file name; refuses a person with no photo."""
    if not images:
        raise UsageError("a person needs at least one reference image")
    if name:
        return name
    return os.path.basename(images[0].source.rstrip("/")) or images[0].source
