"""find_faces: whether a person appears in a scene, and where (paper §3.3's FacialRecognition).

One task per scene (the ``scenes`` delivery function groups chunks into scenes). It looks at
every n-th frame only, as the paper did to stay under a service's request rate: a scene holds
the person if any sample matches. Samples keep their boxes, so ``draw`` can move a box
between them and ``--report`` can list them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from sprocket_cli.errors import InputError
from sprocket_cli.media.ffmpeg import Stopped
from sprocket_cli.registry import face_provider_class
from sprocket_cli.stages.base import Binding, PythonStage, Span, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.faces.base import FaceProvider, Frame, PersonRef
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
    reference: dict[str, Any] | None = None
    """The person as the provider knows them (``PersonRef`` JSON), made once when the job is
    planned, so that workers never need the user's photos (nor re-read them per task)."""


class FindFaces(PythonStage):
    NAME: ClassVar[str] = "find_faces"
    DESCRIPTION: ClassVar[str] = "Find a person's face in each scene (every n-th frame)"
    INPUTS: ClassVar[tuple[str, ...]] = ("cuts",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("faces",)
    Config: ClassVar[type[StageConfig]] = FindFacesConfig
    # dlib and its models would take an x86_64 bundle over Lambda's 250 MB
    # (python -m lambda_bundle.build --faces measures it).
    REMOTE: ClassVar[bool] = False

    def bind(self, config: StageConfig, inputs: Sequence[MediaInfo]) -> Binding:
        assert isinstance(config, FindFacesConfig)
        if config.reference is not None:
            return Binding(config)
        ref = person_reference(provider(config.provider, config.threshold), config.person)
        return Binding(config.model_copy(update={"reference": ref.to_json()}))

    def run(self, config: StageConfig, span: Span) -> dict[str, Any]:
        from sprocket_cli.faces.base import PersonRef

        assert isinstance(config, FindFacesConfig)
        if config.reference is None:
            raise ValueError("find_faces' config was not bound to a person")
        searcher, ref = provider(config.provider, config.threshold), PersonRef.from_json(config.reference)
        chunk = span.chunk
        samples = []
        for n, (pts, frame) in enumerate(sample_frames(span.path, chunk, config.every)):
            if span.stop():
                raise Stopped
            matches = [m for m in searcher.find(frame, ref) if m.is_match]
            best = min(matches, key=lambda m: m.distance) if matches else None
            samples.append(
                {
                    "pts": pts,
                    "box": None if best is None else best.to_json()["box"],
                    "distance": None if best is None else round(best.distance, 4),
                    "faces": len(matches),
                }
            )
            span.report("computing", n * config.every)
        return {
            "scene": chunk.index,
            "start_pts": chunk.start_pts,
            "end_pts": chunk.end_pts,
            "tb": [chunk.tb_num, chunk.tb_den],
            "origin_pts": chunk.origin_pts,
            "every": config.every,
            "matched": any(s["box"] is not None for s in samples),
            "samples": samples,
        }


@functools.cache
def provider(name: str, threshold: float | None) -> FaceProvider:
    """The face provider, made once per process (models load once) and reused by its tasks."""
    return face_provider_class(name)(threshold=threshold)


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
