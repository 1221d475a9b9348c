"""find_faces: whether a person appears in a scene, and where (paper §3.3's FacialRecognition).

One task per scene (the ``scenes`` delivery function groups chunks into scenes). It looks at
every n-th frame only, as the paper did to stay under a service's request rate: a scene holds
the person if any sample matches. Samples keep their boxes, so ``draw`` can move a box
between them and ``--report`` can list them.

Each sample and scene also says why it did or did not match (no face found, faces that were
not the person and how close the nearest came, or a match), with the smallest face the
detector could see in these frames: "not found" has two causes that call for different fixes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from sprocket_cli.errors import InputError, UsageError
from sprocket_cli.media.ffmpeg import Stopped
from sprocket_cli.registry import face_provider_class
from sprocket_cli.stages.base import Binding, PythonStage, Span, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.faces.base import FaceProvider, Frame, Match, PersonRef
    from sprocket_cli.media.probe import MediaInfo
    from sprocket_cli.tasks import ChunkRef


class FindFacesConfig(StageConfig):
    person: tuple[str, ...] = Field(min_length=1)
    """Photos of the person (files or URLs; several are averaged), or a name (rekognition)."""
    provider: str = "local"
    """Face provider: ``local`` (dlib, offline) or ``rekognition`` (AWS)."""
    threshold: float | None = Field(default=None, ge=0)
    """Largest face distance that counts as the person (default: the provider's own)."""
    every: int = Field(default=5, ge=1)
    """Look at every n-th frame of a scene (1: every frame)."""
    detector: str | None = None
    """Face detector, where the provider offers a choice (local: hog, cnn or auto)."""
    min_face: int | None = Field(default=None, ge=1)
    """Smallest face height to find, in pixels (local: default from the frame's height)."""
    reference: dict[str, Any] | None = None
    """The person as the provider knows them (``PersonRef`` JSON), made once when the job is
    planned, so that workers never need the user's photos (nor re-read them per task)."""


class FindFaces(PythonStage[FindFacesConfig]):
    NAME: ClassVar[str] = "find_faces"
    DESCRIPTION: ClassVar[str] = "Find a person's face in each scene (every n-th frame)"
    INPUTS: ClassVar[tuple[str, ...]] = ("cuts",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("faces",)
    Config: ClassVar[type[StageConfig]] = FindFacesConfig
    # dlib and its models would take an x86_64 bundle over Lambda's 250 MB
    # (python -m lambda_bundle.build --faces measures it).
    REMOTE: ClassVar[bool] = False

    def bind(self, config: FindFacesConfig, inputs: Sequence[MediaInfo]) -> Binding:
        if config.reference is not None:
            return Binding(config)
        searcher = provider(config.provider, config.threshold, config.detector, config.min_face)
        ref = person_reference(searcher, config.person)
        return Binding(config.model_copy(update={"reference": ref.to_json()}))

    def run(self, config: FindFacesConfig, span: Span) -> dict[str, Any]:
        from sprocket_cli.faces.base import PersonRef
        if config.reference is None:
            raise ValueError("find_faces' config was not bound to a person")
        searcher = provider(config.provider, config.threshold, config.detector, config.min_face)
        ref = PersonRef.from_json(config.reference)
        chunk = span.chunk
        samples = []
        smallest: int | None = None
        for n, (pts, frame) in enumerate(sample_frames(span.path, chunk, config.every)):
            if span.stop():
                raise Stopped
            samples.append(sample(pts, searcher.find(frame, ref)))
            smallest = searcher.smallest_face(frame.shape[0])
            span.report("computing", n * config.every)
        closest = [s["closest"] for s in samples if s["closest"] is not None]
        return {
            "scene": chunk.index,
            "start_pts": chunk.start_pts,
            "end_pts": chunk.end_pts,
            "tb": [chunk.tb_num, chunk.tb_den],
            "origin_pts": chunk.origin_pts,
            "every": config.every,
            "matched": any(s["box"] is not None for s in samples),
            # The scene's verdict is its best sample's: one match is enough, one face is more
            # than none.
            "outcome": min((s["outcome"] for s in samples), key=OUTCOMES.index, default=NO_FACE),
            "sampled": {o: sum(1 for s in samples if s["outcome"] == o) for o in OUTCOMES},
            "closest": min(closest, default=None),
            "threshold": searcher.threshold,
            "smallest_face": smallest,
            "samples": samples,
        }


#: What a sample (or a scene) showed, the most telling first.
MATCH, NO_MATCH, NO_FACE = "match", "no_match", "no_face"
OUTCOMES = (MATCH, NO_MATCH, NO_FACE)


def sample(pts: int, found: list[Match]) -> dict[str, Any]:
    """One looked-at frame: the matching face's box (drawn), and what was seen when none matched."""
    matches = [m for m in found if m.is_match]
    best = min(matches, key=lambda m: m.distance) if matches else None
    closest = min((m.distance for m in found), default=None)
    return {
        "pts": pts,
        "outcome": MATCH if matches else NO_MATCH if found else NO_FACE,
        "box": None if best is None else best.to_json()["box"],
        "distance": None if best is None else round(best.distance, 4),
        "faces": len(found),
        "matches": len(matches),
        # The nearest any face came to the person, matched or not: how far off a miss was.
        "closest": None if closest is None else round(closest, 4),
    }


@functools.cache
def provider(
    name: str, threshold: float | None, detector: str | None = None, min_face: int | None = None
) -> FaceProvider:
    """The face provider, made once per process (models load once) and reused by its tasks."""
    kind = face_provider_class(name)
    if detector is None and min_face is None:
        return kind(threshold=threshold)
    if not kind.DETECTORS:
        raise UsageError(
            f"the {name!r} face provider uses its own detector: --detector and --min-face "
            "apply to the local provider"
        )
    if detector is not None and detector not in kind.DETECTORS:
        raise UsageError(f"unknown face detector {detector!r}; {name!r} has {', '.join(kind.DETECTORS)}")
    options: dict[str, Any] = {"detector": detector or kind.DETECTORS[0], "min_face": min_face}
    return kind(threshold=threshold, **options)


#: Photo suffixes: a --person like these that does not exist is a missing file, not a name.
_PHOTO = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic")


def person_reference(searcher: FaceProvider, person: tuple[str, ...]) -> PersonRef:
    """The person from their photos (files or URLs), or by name where the provider knows names."""
    from sprocket_cli.faces.images import load_image

    missing = [p for p in person if "://" not in p and not os.path.exists(p)]
    for item in missing:
        if not searcher.RECOGNIZES_NAMES or item.lower().endswith(_PHOTO) or os.sep in item:
            raise InputError(f"{item}: no such file")
    if missing and len(person) == 1:  # not a file, yet a provider that knows names: a name
        return searcher.reference_by_name(person[0])
    return searcher.reference([load_image(p) for p in person])


def sample_frames(path: str, chunk: ChunkRef, every: int) -> Iterator[tuple[int, Frame]]:
    """Every ``every``-th frame of ``chunk`` (its first included), as (pts, RGB pixels)."""
    import av  # lazy: only this stage decodes frames in Python

    from sprocket_cli.faces.images import rgb_frame

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        container.seek(chunk.seek_pts, stream=stream, backward=True)  # the keyframe at or before
        n = 0
        for frame in container.decode(stream):
            if frame.pts is None or frame.pts < chunk.start_pts:
                continue  # pre-roll from the keyframe
            if not chunk.is_last and frame.pts >= chunk.end_pts:
                return
            if n % every == 0:
                yield frame.pts, rgb_frame(frame.to_ndarray(format="rgb24"))
            n += 1
