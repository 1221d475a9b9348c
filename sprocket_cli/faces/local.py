"""Offline face recognition with dlib: HOG (or CNN) detection, landmarks, 128-d ResNet embeddings.

The models are the files of the ``face-recognition-models`` package, found on disk without
importing it: its ``__init__`` imports ``pkg_resources``, which current setuptools no longer
ships. dlib is imported in the constructor, so importing this module stays cheap.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from dataclasses import astuple
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
    one_face_each,
    person_label,
)
from sprocket_cli.faces.errors import FaceModelMissingError
from sprocket_cli.faces.images import halved, rgb_frame

_MODELS_PACKAGE = "face_recognition_models"
_INSTALL_HINT = "install the faces extra: pip install 'sprocket[faces]'"
#: Pixels (after upsampling) up to which a reference photo with no face found is tried again at
#: one more doubling: a 2000x2000 photo, about half a second of HOG.
_RETRY_PIXELS = 4_000_000
#: Pixels the CNN is given of a reference photo in which HOG found no face: about 9 s of it.
_CNN_PIXELS = 1_000_000
#: Landmark model per point count. The 68-point model was trained on iBUG 300-W, whose licence
#: excludes commercial use; the 5-point one (dlib's own data) has no such limit, hence the default.
_LANDMARK_MODELS = {5: "shape_predictor_5_face_landmarks.dat", 68: "shape_predictor_68_face_landmarks.dat"}

#: The detectors ``detector=`` takes: dlib's HOG, its MMOD CNN, or HOG with the CNN where HOG
#: found nothing.
DETECTORS = ("hog", "cnn", "auto")
#: Face height in pixels that both dlib detectors need before upsampling: HOG scans an 80x80
#: window, and the MMOD model was trained on faces of about that size. Measured on the test
#: faces, HOG finds ~60 px faces at best and nothing at 48 px.
WINDOW = 80
#: Frames under this height are upsampled once unless told otherwise: in such footage a face of
#: a ninth of the frame is under the window, and a doubled 360p frame costs what a 720p one does
#: (HOG, one core: 0.03 -> 0.12 s at 360p). At 720p doubling would cost 0.14 -> 0.5 s per
#: frame, so larger frames are doubled only when --min-face asks.
SMALL_FRAME = 720
#: Smallest ``min_face``: dlib's embedding of a face under ~20 px says little about who it is,
#: and finding one takes 3 doublings (64x the pixels).
SMALLEST_FACE = 16
#: Face height a halved frame must still leave the smallest face: a quarter over the window,
#: since faces elsewhere in the video may be a little smaller than the ones measured. A 1080p
#: frame halved twice costs HOG ~10 ms instead of ~130 (gray, one core).
SHRUNK_FACE = 100
#: Most halvings: a 1080p frame halved three times is 240x135, about the smallest HOG scans.
MOST_HALVINGS = 3


def upsample_for(min_face: int) -> int:
    """Doublings that bring a face ``min_face`` pixels high up to the detectors' window; negative:
    halvings that leave it at least :data:`SHRUNK_FACE` pixels (large faces need no full frame)."""
    doublings = 0
    while min_face << doublings < WINDOW:
        doublings += 1
    if doublings:
        return doublings
    while doublings > -MOST_HALVINGS and min_face >> -(doublings - 1) >= SHRUNK_FACE:
        doublings -= 1
    return doublings


def face_floor(doublings: int) -> int:
    """About the smallest face height, in pixels, found with ``doublings`` (negative: halvings)."""
    return WINDOW >> doublings if doublings >= 0 else WINDOW << -doublings


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
    DETECTORS: ClassVar[tuple[str, ...]] = DETECTORS

    def __init__(
        self,
        *,
        threshold: float | None = None,
        detector: str = "hog",
        min_face: int | None = None,
        upsample: int | None = None,
        landmarks: Literal[5, 68] = 5,
        jitters: int = 1,
    ) -> None:
        """``detector``: ``hog`` (dlib's HOG: ~0.15 s per 720p frame on one core, frontal faces),
        ``cnn`` (dlib's MMOD CNN: finds turned and partly hidden faces too, but ~8 s per 720p
        frame on one core, dlib-bin being built without BLAS), or ``auto`` (HOG, then the CNN on
        frames where HOG found nothing: CNN's price on every frame without a face).

        Both see faces of about 80 pixels and up; each doubling of the frame (``upsample``)
        halves that (40, 20, ...) at about 4x the time, and a negative ``upsample`` halves the
        frame instead (faces from 160, 320 px at a quarter, a sixteenth of the time).
        ``min_face``: the smallest face height to find, in pixels; the doublings follow from it.
        With neither, frames under 720 pixels high are doubled once and larger ones not (faces
        down to about a ninth of the frame); find_faces' first pass chooses for a job.

        ``jitters``: re-samples per embedding of a reference photo (more is steadier and slower;
        frames always use one).
        """
        super().__init__(threshold=threshold)
        if detector not in DETECTORS:
            raise UsageError(
                f"unknown face detector {detector!r}; the local provider has {', '.join(DETECTORS)}"
            )
        if min_face is not None and upsample is not None:
            raise UsageError("give the smallest face size or the upsampling, not both")
        if min_face is not None and min_face < SMALLEST_FACE:
            raise UsageError(f"the smallest face to find must be >= {SMALLEST_FACE} pixels, not {min_face}")
        if (upsample is not None and upsample < -MOST_HALVINGS) or jitters < 1:
            raise UsageError(
                f"upsample must be >= {-MOST_HALVINGS} and jitters >= 1 (got {upsample}, {jitters})"
            )
        if landmarks not in _LANDMARK_MODELS:
            raise UsageError(f"landmarks must be 5 or 68, not {landmarks}")
        try:
            import dlib
        except ImportError as error:
            raise FaceModelMissingError(f"the local face provider needs dlib: {_INSTALL_HINT}") from error
        self.detector = detector
        self.min_face = min_face
        #: Doublings for every frame (negative: halvings), or None to choose them by each frame's
        #: height.
        self.upsample = upsample_for(min_face) if min_face is not None else upsample
        self.jitters = jitters
        self._dlib = dlib
        # HOG is loaded for the CNN detector too: reference photos are searched with it first.
        self._hog: Any = dlib.get_frontal_face_detector()
        self._mmod: Any = (
            None
            if detector == "hog"
            else dlib.cnn_face_detection_model_v1(str(model_path("mmod_human_face_detector.dat")))
        )
        self._shape: Any = dlib.shape_predictor(str(model_path(_LANDMARK_MODELS[landmarks])))
        self._embedder: Any = dlib.face_recognition_model_v1(
            str(model_path("dlib_face_recognition_resnet_model_v1.dat"))
        )

    def upsample_for_height(self, height: int) -> int:
        """Doublings used on a frame ``height`` pixels high."""
        if self.upsample is not None:
            return self.upsample
        return 1 if height < SMALL_FRAME else 0

    def smallest_face(self, height: int) -> int:
        return face_floor(self.upsample_for_height(height))

    def detector_choice(self, height: int) -> tuple[str, int]:
        return self.detector, self.upsample_for_height(height)

    def detect(self, frame: Frame) -> list[Face]:
        image = rgb_frame(frame)
        return self._detect(image, self.upsample_for_height(image.shape[0]))

    def detect_hog(self, frame: Frame, upsample: int) -> list[Face]:
        """HOG's faces in ``frame`` doubled ``upsample`` times (negative: halved), whatever the
        detector chosen: the first pass's quick look (:mod:`sprocket_cli.faces.firstpass`)."""
        return self._run_hog(rgb_frame(frame), upsample)

    def _detect(self, image: Frame, upsample: int) -> list[Face]:
        faces = [] if self.detector == "cnn" else self._run_hog(image, upsample)
        if faces or self._mmod is None:
            return faces
        return self._run_cnn(image, upsample)

    def _run_hog(self, image: Frame, upsample: int) -> list[Face]:
        # On gray: HOG takes the strongest gradient of the three colours, which on faces is
        # brightness's almost everywhere: the same recall on the test faces, ~1.3x faster
        # (2.5 ms to convert a 1080p frame, 130 ms of HOG instead of 155).
        small, factor = halved(self._dlib.as_grayscale(image), upsample)
        # run() rather than __call__: it also returns each detection's score.
        rects, scores, _ = self._hog.run(small, max(upsample, 0), 0.0)
        return [_scaled(r, float(s), factor, image) for r, s in zip(rects, scores, strict=True)]

    def _run_cnn(self, image: Frame, upsample: int) -> list[Face]:
        small, factor = halved(image, upsample)
        found = self._mmod(small, max(upsample, 0))
        return [_scaled(d.rect, float(d.confidence), factor, image) for d in found]

    def find_again(self, frame: Frame, ref: PersonRef, before: Sequence[Match]) -> list[Match]:
        """Each face that overlaps one of ``before`` by :data:`SAME_FACE` takes its distance
        instead of a new embedding (~75 ms a face on one core, more than the detection of a
        halved 1080p frame); the others are embedded."""
        self._own(ref)
        faces = self.detect(frame)
        out: list[Match | None] = []
        for face in faces:
            same = max(before, key=lambda m: m.face.box.iou(face.box), default=None)
            kept = same is not None and same.face.box.iou(face.box) >= SAME_FACE
            out.append(Match(face, same.distance, same.is_match) if kept and same else None)
        new = [face for face, known in zip(faces, out, strict=True) if known is None]
        fresh = iter(self.match(self.embed(frame, new), ref) if new else [])
        return [known if known is not None else next(fresh) for known in out]

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
        pixels = [rgb_frame(image.pixels) for image in images]
        found = [self._reference_faces(p) for p in pixels]
        # The least doubled photo bounds the faces missed: a hint that holds for each of them.
        smallest = WINDOW >> min(upsample for _, upsample in found)
        hint = f"faces under about {smallest} pixels, or turned away, are not found"
        faces = one_face_each(images, [f for f, _ in found], hint)
        vectors = [
            self.embed(p, [face], jitters=self.jitters)[0].embedding
            for p, face in zip(pixels, faces, strict=True)
        ]
        # The mean of one person's embeddings lies near each of their photos and far from other
        # people; it is what the issue asks for ("several images of one person are averaged").
        mean = np.mean(np.array(vectors, dtype=np.float64), axis=0)
        return PersonRef(name=label, provider=self.NAME, embedding=tuple(float(v) for v in mean))

    def _reference_faces(self, pixels: Frame) -> tuple[list[Face], int]:
        """The faces of a reference photo, and the upsampling that found them (or last tried).

        A portrait's face is large and frontal: HOG without doubling first, so that small faces
        in the background do not make the photo ambiguous; then one doubling more at a time
        while nothing is found (a thumbnail from a URL), within a budget of pixels. The CNN, if
        chosen, looks only when HOG found nothing, on the photo thinned to at most a megapixel:
        at ~9 s per megapixel it is no detector to sweep a 12-megapixel phone photo with.
        """
        upsample = 0
        faces = self._run_hog(pixels, upsample)
        while not faces and pixels.shape[0] * pixels.shape[1] * 4 ** (upsample + 1) <= _RETRY_PIXELS:
            upsample += 1
            faces = self._run_hog(pixels, upsample)
        if not faces and self._mmod is not None:
            return self._thinned_cnn(pixels), 0
        return faces, upsample

    def _thinned_cnn(self, pixels: Frame) -> list[Face]:
        """The CNN's faces in ``pixels`` with every n-th pixel kept, boxes in ``pixels``' own."""
        height, width = pixels.shape[:2]
        step = max(1, math.ceil(math.sqrt(height * width / _CNN_PIXELS)))
        found = self._run_cnn(rgb_frame(pixels[::step, ::step]), 0)
        return [
            Face(Box(*(v * step for v in astuple(f.box))).clipped(width, height), f.confidence) for f in found
        ]

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


#: Overlap (IoU) with a face of the scene's previous sample past which a face is taken to be the
#: same one: between samples 5 frames apart a face moves a few pixels (IoU 0.6-0.9 on the test
#: clips), and two people do not swap places within a scene in that time.
SAME_FACE = 0.5


def _scaled(rect: Any, score: float, factor: int, image: Frame) -> Face:
    """A face found in ``image`` shrunk ``factor`` times, in ``image``'s pixels."""
    # dlib rectangles are inclusive and may overhang the frame.
    box = Box(rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)
    box = Box(*(v * factor for v in astuple(box))) if factor > 1 else box
    return Face(box.clipped(image.shape[1], image.shape[0]), score)
