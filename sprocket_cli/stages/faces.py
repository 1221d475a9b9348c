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

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import astuple
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from sprocket_cli.errors import UsageError
from sprocket_cli.media.ffmpeg import Stopped
from sprocket_cli.pipeline.registry import face_provider_class
from sprocket_cli.stages.base import Binding, PythonStage, Span, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.faces.base import FaceProvider, Match
    from sprocket_cli.faces.tracking import FaceTrack, Gray
    from sprocket_cli.media.probe import MediaInfo


class FindFacesConfig(StageConfig):
    person: tuple[str, ...] = Field(min_length=1)
    """Photos of the person (files, folders of them, URLs; all are averaged), or a name
    (rekognition). One plain string is one value (``--set faces.person=kid.jpg``)."""
    provider: str = "local"
    """Face provider: ``local`` (dlib, offline) or ``rekognition`` (AWS)."""
    threshold: float | None = Field(default=None, ge=0)
    """Largest face distance that counts as the person (default: the provider's own)."""
    every: int = Field(default=5, ge=1)
    """Look at every n-th frame of a scene (1: every frame)."""
    detector: str | None = None
    """Face detector, where the provider offers a choice (local: hog, cnn or auto)."""
    min_face: int | None = Field(default=None, ge=1)
    """Smallest face height to find, in pixels (local: default from a first pass)."""
    upsample: int | None = Field(default=None, ge=-3, le=3)
    """Doublings of each frame before detection, negative for halvings (local); without it or
    ``min_face``, the first pass chooses them when the job is planned."""
    first_pass: dict[str, Any] | None = None
    """What the first pass saw and chose (``FirstPass`` JSON), for the report and the summary."""
    track: bool = True
    """Follow the matched face on every frame between samples (``track`` in the facts), for
    ``draw``; pipelines that draw no box turn it off (it costs a few ms a frame)."""
    reference: dict[str, Any] | None = None
    """The person as the provider knows them (``PersonRef`` JSON), made once when the job is
    planned, so that workers never need the user's photos (nor re-read them per task)."""

    @field_validator("person", mode="before")
    @classmethod
    def _one_string_is_one_person(cls, value: Any) -> Any:
        # A pipespec written by hand, or --set faces.person=kid.jpg, gives one photo as a plain
        # string, which pydantic would refuse as no tuple.
        return (value,) if isinstance(value, str) else value


class FindFaces(PythonStage[FindFacesConfig]):
    NAME: ClassVar[str] = "find_faces"
    DESCRIPTION: ClassVar[str] = "Find a person's face in each scene (every n-th frame)"
    INPUTS: ClassVar[tuple[str, ...]] = ("cuts",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("faces",)
    Config: ClassVar[type[StageConfig]] = FindFacesConfig
    # On Lambda, frames come from the bundle's ffmpeg, not PyAV (faces/frames.py), so that dlib
    # and its models fit the arm64 bundle; only a deployment that carries them runs this stage
    # (LambdaBackend.runs).
    REMOTE: ClassVar[bool] = True

    def bind(self, config: FindFacesConfig, inputs: Sequence[MediaInfo]) -> Binding:
        if config.reference is not None:
            return Binding(config)
        from sprocket_cli.faces.local import LocalFaceProvider
        from sprocket_cli.faces.person import person_reference

        searcher = provider(
            config.provider, config.threshold, config.detector, config.min_face, config.upsample
        )
        ref = person_reference(searcher, config.person)
        update: dict[str, Any] = {"reference": ref.to_json()}
        notice = ""
        if isinstance(searcher, LocalFaceProvider) and config.min_face is None and config.upsample is None:
            from sprocket_cli.faces.firstpass import first_pass
            from sprocket_cli.plan.facecost import detector_line

            media = inputs[0]
            looked = first_pass(searcher, media)
            update |= {"upsample": looked.upsample, "first_pass": looked.to_json()}
            size = (media.width, media.height)
            cost = detector_line(searcher.detector, looked.upsample, size, config.every)
            notice = f"{looked.describe()}; {cost}"
        return Binding(config.model_copy(update=update), notice=notice)

    def run(self, config: FindFacesConfig, span: Span) -> dict[str, Any]:
        from sprocket_cli.faces.base import PersonRef
        from sprocket_cli.faces.frames import scene_frames
        from sprocket_cli.faces.tracking import FaceTrack, tracker_available

        if config.reference is None:
            raise ValueError("find_faces' config was not bound to a person")
        searcher = provider(
            config.provider, config.threshold, config.detector, config.min_face, config.upsample
        )
        ref = PersonRef.from_json(config.reference)
        chunk = span.chunk
        # Without dlib (a Rekognition-only install) draw moves the box between samples instead.
        track = FaceTrack() if config.track and tracker_available() else None
        samples: list[dict[str, Any]] = []
        smallest: int | None = None
        choice: tuple[str, int] | None = None
        size: list[int] | None = None
        before: list[Match] = []
        with contextlib.closing(scene_frames(span.path, chunk)) as frames:
            for n, (pts, picture) in enumerate(frames):
                seen = None
                if n % config.every == 0:
                    if span.stop():
                        raise Stopped
                    frame = picture.rgb()
                    # Each REFRESH-th sample measures every face afresh; the ones between carry
                    # a face's distance over from the sample before where it has not moved.
                    fresh = len(samples) % REFRESH == 0
                    before = searcher.find(frame, ref) if fresh else searcher.find_again(frame, ref, before)
                    seen = sample(pts, before)
                    samples.append(seen)
                    smallest = searcher.smallest_face(frame.shape[0])
                    choice = searcher.detector_choice(frame.shape[0])
                    size = [frame.shape[1], frame.shape[0]]
                    span.report("computing", n)
                if track is not None:
                    follow(track, pts, picture.gray(), seen)
        closest = [s["closest"] for s in samples if s["closest"] is not None]
        facts = {
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
            # (detector, doublings) and the frame's size: the summary's cost line.
            "detector": choice,
            "size": size,
            "first_pass": config.first_pass,
            "samples": samples,
        }
        if track is not None:
            facts["track"] = [
                [first, end, [[pts, *astuple(box)] for pts, box in boxes]]
                for first, end, boxes in track.runs(chunk.end_pts)
            ]
        return facts


#: Every REFRESH-th sample of a scene embeds each face it finds; the others reuse the distance of
#: a face that overlaps one of the sample before (an embedding costs ~75 ms a face on one core).
REFRESH = 4

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
    name: str,
    threshold: float | None,
    detector: str | None = None,
    min_face: int | None = None,
    upsample: int | None = None,
) -> FaceProvider:
    """The face provider, made once per process (models load once) and reused by its tasks."""
    kind = face_provider_class(name)
    if detector is None and min_face is None and upsample is None:
        return kind(threshold=threshold)
    if not kind.DETECTORS:
        raise UsageError(
            f"the {name!r} face provider uses its own detector: --detector and --min-face "
            "apply to the local provider"
        )
    if detector is not None and detector not in kind.DETECTORS:
        raise UsageError(f"unknown face detector {detector!r}; {name!r} has {', '.join(kind.DETECTORS)}")
    options: dict[str, Any] = {"detector": detector or kind.DETECTORS[0], "min_face": min_face}
    options["upsample"] = upsample
    return kind(threshold=threshold, **options)


def follow(track: FaceTrack, pts: int, gray: Gray, seen: dict[str, Any] | None) -> None:
    """Tell ``track`` of a frame: between samples (``seen`` None), or sampled, as ``seen``."""
    from sprocket_cli.faces.base import Box

    if seen is None:
        track.frame(pts, gray)
    elif seen["box"] is not None:
        track.detected(pts, gray, Box(*seen["box"]))
    else:
        track.missed(pts, gray, others=seen["faces"] > 0)
