"""A face's box on every frame, not just on the frames the detector looked at.

Detection runs on every n-th frame (it costs 0.1-10 s a frame); between those, dlib's
correlation tracker (DSST, Danelljan et al. 2014: a correlation filter with a scale search)
follows the last matched face for a few milliseconds a frame. Each stretch from one detection
to the next is then bent so that it ends on the next detection, and the whole smoothed over a
few frames: the box neither jumps at a sample (where the tracker's drift would be corrected at
once) nor glides in a straight line across a turn (as interpolating between samples did).

A sample that finds no face at all does not end the track (the detector missed a face the
tracker still holds: the box stays instead of flickering off); one that finds faces, none of
them the person, does, and so does the tracker losing its hold.
"""

from __future__ import annotations

from dataclasses import astuple
from typing import TYPE_CHECKING, Any

from sprocket_cli.faces.base import Box

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    #: A grayscale frame: ``uint8`` array of shape (height, width), C-contiguous.
    Gray = NDArray[np.uint8]

#: Peak-to-sidelobe ratio under which the tracker has lost the face. Measured on the test clips:
#: 17-29 while it holds a face, 4-6 in the frames after a cut away from it.
MIN_PSR = 8.0

#: Frames on either side that each box is averaged with: the tracker's scale search makes its
#: box breathe by a few pixels from frame to frame, and detections jump between the sizes of
#: HOG's image pyramid. Measured on a 2 s zoom over a real face, detections every 10th frame:
#: the largest step from one frame to the next falls from 8 px to 2, and the boxes' mean
#: overlap with the true face rises a little (IoU 0.861 -> 0.866).
SMOOTHING = 2

#: A stretch of frames showing a box: (first pts, pts where it stops showing, [(pts, box)]).
Run = tuple[int, int, list[tuple[int, Box]]]


def tracker_available() -> bool:
    """Whether dlib is installed (the ``faces`` extra); without it boxes are interpolated."""
    import importlib.util

    return importlib.util.find_spec("dlib") is not None


class FaceTrack:
    """The boxes of one face through one scene, fed its frames in order."""

    def __init__(self) -> None:
        import dlib

        self._dlib = dlib
        self._tracker: Any = None
        self._size = (0, 0)
        #: Runs that have ended.
        self._runs: list[Run] = []
        #: The current run's boxes up to the last detection, and the tracked ones since.
        self._anchored: list[tuple[int, Box]] = []
        self._since: list[tuple[int, Box]] = []

    def detected(self, pts: int, gray: Gray, box: Box) -> None:
        """A sampled frame in which the person was found at ``box``."""
        if self._tracker is not None:
            # Where the tracker would have put the face here: its drift since the last detection.
            held = self._tracker.update(gray) >= MIN_PSR
            self._anchored += _bend(self._since, box, self._position()) if held else self._since
        self._since = []
        self._anchored.append((pts, box))
        self._size = (gray.shape[1], gray.shape[0])
        self._tracker = self._dlib.correlation_tracker()
        self._tracker.start_track(
            gray, self._dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
        )

    def missed(self, pts: int, gray: Gray, *, others: bool) -> None:
        """A sampled frame without the person: ``others`` other faces were seen there, which
        ends the track; with no face seen at all, the tracker decides."""
        if others:
            self._end(pts)
        else:
            self.frame(pts, gray)

    def frame(self, pts: int, gray: Gray) -> None:
        """A frame between samples."""
        if self._tracker is None:
            return
        if self._tracker.update(gray) < MIN_PSR:
            self._end(pts)
            return
        self._since.append((pts, self._position()))

    def _position(self) -> Box:
        p = self._tracker.get_position()  # inclusive edges, in fractions of a pixel
        box = Box(round(p.left()), round(p.top()), round(p.right()) + 1, round(p.bottom()) + 1)
        return box.clipped(*self._size)

    def runs(self, end_pts: int) -> list[Run]:
        """Every stretch that showed a box, the last one ending at ``end_pts`` (the scene's end)."""
        self._end(end_pts)
        return self._runs

    def _end(self, pts: int) -> None:
        """The box stops showing at ``pts``: what was tracked since the last detection stays as
        it was (there is no later detection to bend it to)."""
        boxes = self._anchored + self._since
        if self._tracker is not None and boxes:
            self._runs.append((boxes[0][0], pts, _smooth(boxes)))
        self._tracker = None
        self._anchored, self._since = [], []


def _bend(tracked: list[tuple[int, Box]], found: Box, predicted: Box) -> list[tuple[int, Box]]:
    """``tracked``, the frames between two detections, shifted so that they lead to ``found``
    (the second detection) where the tracker ``predicted`` it: the drift, made up in equal
    shares per frame, so that the box arrives without a jump."""
    gap = [f - p for f, p in zip(astuple(found), astuple(predicted), strict=True)]
    steps = len(tracked) + 1
    out = []
    for k, (pts, box) in enumerate(tracked, start=1):
        edges = (round(v + g * k / steps) for v, g in zip(astuple(box), gap, strict=True))
        out.append((pts, Box(*edges)))
    return out


def _smooth(boxes: list[tuple[int, Box]]) -> list[tuple[int, Box]]:
    """Each box's edges averaged over :data:`SMOOTHING` frames either side (fewer at the ends)."""
    edges = [astuple(box) for _, box in boxes]
    out = []
    for i, (pts, _) in enumerate(boxes):
        near = edges[max(0, i - SMOOTHING) : i + SMOOTHING + 1]
        out.append((pts, Box(*(round(sum(e[j] for e in near) / len(near)) for j in range(4)))))
    return out
