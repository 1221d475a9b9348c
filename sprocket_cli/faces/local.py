"""Offline face recognition with dlib: HOG (or CNN) detection, landmarks, 128-d ResNet embeddings.

The models are the files of the ``face-recognition-models`` package, found on disk without
importing it: its ``__init__`` imports ``pkg_resources``, which current setuptools no longer
ships. dlib is imported in the constructor, so importing this module stays cheap.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from sprocket_cli.errors import UsageError
from sprocket_cli.faces.base import (
    Box,
    Face,
    FaceProvider,
    Frame,
    LabelledImage,
    Match,
    PersonRef,
    one_face,
    person_label,
)
from sprocket_cli.faces.errors import FaceModelMissingError
from sprocket_cli.faces.images import rgb_frame

_MODELS_PACKAGE = "face_recognition_models"
_INSTALL_HINT = "install the faces extra: pip install 'sprocket[faces]'"
#: Landmark model per point count. The 68-point model was trained on iBUG 300-W, whose licence
#: excludes commercial use; the 5-point one (dlib's own data) has no such limit, hence the default.
#: Pixels (after upsampling) up to which a reference photo with no face found is tried once more
#: at one more doubling: a 2000x2000 photo, about half a second of HOG.
_RETRY_PIXELS = 4_000_000
_LANDMARK_MODELS = {5: "shape_predictor_5_face_landmarks.dat", 68: "shape_predictor_68_face_landmarks.dat"}


def model_path(name: str) -> Path:
    """A file of the ``face-recognition-models`` package, located without importing it."""
    spec = importlib.util.find_spec(_MODELS_PACKAGE)  # finds a top-level package, runs none of it
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / "models" / name
        if path.is_file():
            return path
    raise FaceModelMissingError(f"the local face provider needs the model file {name}: {_INSTALL_HINT}")


class LocalFaceProvider(FaceProvider):
    """dlib on this machine: no network, no account; about as good as a 2017 laptop model gets."""

    NAME: ClassVar[str] = "local"
    #: dlib's own advice for its ResNet embeddings: same person below 0.6 (99.38% on LFW).
    DEFAULT_THRESHOLD: ClassVar[float] = 0.6

    def __init__(
        self,
        *,
        threshold: float | None = None,
        upsample: int = 0,
        cnn: bool = False,
        landmarks: Literal[5, 68] = 5,
        jitters: int = 1,
    ) -> None:
        """``upsample``: times a frame is doubled before detecting. The HOG detector finds faces
        of about 80 pixels and up; each doubling halves that (40, 20, ...) at about 4x the time:
        0 suits faces in medium shots, 1 or 2 people far from the camera.

        ``cnn``: dlib's MMOD CNN detector instead of HOG: finds turned and partly hidden faces
        too, but costs seconds per frame on a CPU. ``jitters``: re-samples per embedding of a
        reference photo (more is steadier and slower; frames always use one).
        """
        super().__init__(threshold=threshold)
        if upsample < 0 or jitters < 1:
            raise UsageError(f"upsample must be >= 0 and jitters >= 1 (got {upsample}, {jitters})")
        if landmarks not in _LANDMARK_MODELS:
            raise UsageError(f"landmarks must be 5 or 68, not {landmarks}")
        try:
            import dlib
        except ImportError as error:
            raise FaceModelMissingError(f"the local face provider needs dlib: {_INSTALL_HINT}") from error
        self.upsample = upsample
        self.cnn = cnn
        self.jitters = jitters
        self._dlib = dlib
        self._hog: Any = None if cnn else dlib.get_frontal_face_detector()
        self._mmod: Any = (
            dlib.cnn_face_detection_model_v1(str(model_path("mmod_human_face_detector.dat"))) if cnn else None
        )
        self._shape: Any = dlib.shape_predictor(str(model_path(_LANDMARK_MODELS[landmarks])))
        self._embedder: Any = dlib.face_recognition_model_v1(
            str(model_path("dlib_face_recognition_resnet_model_v1.dat"))
        )

    def detect(self, frame: Frame) -> list[Face]:
        return self._detect(rgb_frame(frame), self.upsample)

    def _detect(self, image: Frame, upsample: int) -> list[Face]:
        height, width = image.shape[:2]
        if self._mmod is not None:
            found = self._mmod(image, upsample)
            return [Face(_box(d.rect, width, height), float(d.confidence)) for d in found]
        # run() rather than __call__: it also returns each detection's score.
        rects, scores, _ = self._hog.run(image, upsample, 0.0)
        return [Face(_box(r, width, height), float(s)) for r, s in zip(rects, scores, strict=True)]

    def embed(self, frame: Frame, faces: Sequence[Face], *, jitters: int = 1) -> list[Face]:
        """``faces`` of ``frame`` with their 128-d embeddings filled in."""
        image = rgb_frame(frame)
        dlib = self._dlib
        out = []
        for face in faces:
            b = face.box
            shape = self._shape(image, dlib.rectangle(b.left, b.top, b.right - 1, b.bottom - 1))
            vector = self._embedder.compute_face_descriptor(image, shape, jitters)
            out.append(Face(face.box, face.confidence, tuple(float(v) for v in vector)))
        return out

    def reference(self, images: Sequence[LabelledImage], *, name: str | None = None) -> PersonRef:
        import numpy as np

        label = person_label(images, name)
        vectors: list[tuple[float, ...] | None] = []
        for image in images:
            pixels = rgb_frame(image.pixels)
            faces, upsample = self._reference_faces(pixels)
            hint = f" (faces under about {80 >> upsample} pixels, or turned away, are not found)"
            face = one_face(image, faces, hint)
            vectors += [f.embedding for f in self.embed(pixels, [face], jitters=self.jitters)]
        # The mean of one person's embeddings lies near each of their photos and far from other
        # people; it is what the issue asks for ("several images of one person are averaged").
        mean = np.mean(np.array(vectors, dtype=np.float64), axis=0)
        return PersonRef(name=label, provider=self.NAME, embedding=tuple(float(v) for v in mean))

    def _reference_faces(self, pixels: Frame) -> tuple[list[Face], int]:
        """The faces of a reference photo, and the upsampling that found them (or last tried)."""
        # A reference photo is detected once, so a small one (a thumbnail from a URL) is worth
        # one more doubling before its face is declared missing.
        faces = self._detect(pixels, self.upsample)
        if faces or pixels.shape[0] * pixels.shape[1] * 4 ** (self.upsample + 1) > _RETRY_PIXELS:
            return faces, self.upsample
        return self._detect(pixels, self.upsample + 1), self.upsample + 1

    def match(self, faces: Sequence[Face], ref: PersonRef) -> list[Match]:
        """Each embedded face's Euclidean distance to ``ref``'s embedding."""
        import numpy as np

        target = np.array(self._own(ref).embedding, dtype=np.float64)
        out = []
        for face in faces:
            if face.embedding is None:
                raise ValueError("match() needs faces with embeddings: call embed() first")
            distance = float(np.linalg.norm(np.array(face.embedding, dtype=np.float64) - target))
            out.append(Match(face, distance, distance <= self.threshold))
        return out

    def find(self, frame: Frame, ref: PersonRef) -> list[Match]:
        self._own(ref)
        return self.match(self.embed(frame, self.detect(frame)), ref)


def _box(rect: Any, width: int, height: int) -> Box:
    # dlib rectangles are inclusive and may overhang the frame.
    return Box(rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1).clipped(width, height)
