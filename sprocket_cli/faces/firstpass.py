"""The first pass: a quick look at a few frames of the whole video that picks the detector's
scale for the job, before any scene is searched.

HOG scans an 80-pixel window, so a frame is doubled for small faces (4x the cost each time)
and can be halved for large ones (a quarter of it): 1080p footage of faces 400 px high is
searched at 480x270 for ~10 ms a frame instead of ~130. The frame size alone cannot tell which
footage is which; a few frames looked at closely can. The pass looks at :data:`FRAMES` frames
spread over the video at the scale that finds faces of :data:`SEARCH_FACE` px, and the job
then uses the scale its smallest face needs. Where it sees no face, the frame size decides
(:meth:`LocalFaceProvider.upsample_for_height`). ``--min-face`` skips it.

It guesses from a sample: a scene of smaller faces that none of its frames fell on is searched
at the coarser scale. Its choice is in the job's notice, the report and the summary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sprocket_cli.faces.images import rgb_frame
from sprocket_cli.faces.local import face_floor, upsample_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sprocket_cli.faces.base import Frame
    from sprocket_cli.faces.local import LocalFaceProvider
    from sprocket_cli.media.probe import MediaInfo

#: Frames looked at: at 1080p each costs ~0.5 s of HOG on the doubled frame, on the coordinator,
#: before the job starts; five catch most footage's typical face size.
FRAMES = 5
#: The smallest face the pass looks for, pixels high: the issue's "down to about 40 px".
SEARCH_FACE = 40
#: Detections scoring under this (an SVM margin) do not count: HOG's doubled frames show
#: faint false faces (0.1 on the test clips' backgrounds), real faces of 48 px score 0.8-1.1.
MIN_SCORE = 0.5


@dataclass(frozen=True)
class FirstPass:
    """What the first pass saw and chose."""

    frames: int
    """Frames looked at."""
    faces: int
    """Faces found in them."""
    smallest: int | None
    """Height of the smallest, pixels; None: no face found."""
    upsample: int
    """Doublings of each frame for the job (negative: halvings)."""

    @property
    def smallest_found(self) -> int:
        """About the smallest face height the job finds, pixels."""
        return face_floor(self.upsample)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line for the user: what was seen, and what follows."""
        seen = (
            f"smallest face {self.smallest} px of {self.faces} found"
            if self.smallest is not None
            else "no face found, so the frame size decides"
        )
        found = f"faces down to about {self.smallest_found} px are searched for"
        return f"first pass on {self.frames} frames: {seen}; {found}"


def first_pass(searcher: LocalFaceProvider, media: MediaInfo, count: int = FRAMES) -> FirstPass:
    """Look at ``count`` frames spread over ``media`` and choose the job's doublings."""
    search = upsample_for(SEARCH_FACE)
    frames = 0
    heights = []
    for frame in spread_frames(media, count):
        frames += 1
        heights += [f.box.height for f in searcher.detect_hog(frame, search) if f.confidence >= MIN_SCORE]
    smallest = min(heights, default=None)
    if smallest is None:
        chosen = searcher.upsample_for_height(media.height)
    else:
        # Never finer than the pass looked: it cannot have seen the faces that would need it.
        chosen = min(upsample_for(smallest), search)
    return FirstPass(frames, len(heights), smallest, chosen)


def spread_frames(media: MediaInfo, count: int) -> Iterator[Frame]:
    """The frames at ``count`` times spread evenly over ``media``: a seek to the keyframe at or
    before each, and a decode up to it (a keyframe alone would do where keyframes are frequent,
    but a file with one keyframe would give one frame)."""
    import av  # lazy: on the coordinator only, where PyAV is installed

    pts = media.frame_pts
    wanted = sorted({pts[int((i + 0.5) / count * len(pts))] for i in range(count)}) if pts else []
    with av.open(media.source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for target in wanted:
            container.seek(target, stream=stream, backward=True)
            frame = next((f for f in container.decode(stream) if f.pts is not None and f.pts >= target), None)
            if frame is not None:
                yield rgb_frame(frame.to_ndarray(format="rgb24"))
