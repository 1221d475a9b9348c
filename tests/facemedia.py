"""Clips of real faces with known ground truth: who is on screen in which frames, and where.

Each face scene is a still photo from ``tests/data/faces`` (see its README for sources and
licences) with a slow zoom and pan, so the face moves and grows a little within the scene; a
scene of no one is ffmpeg's ``testsrc2`` pattern. Scenes are joined with hard cuts and carry a
sine tone. The true face box in every frame follows from the photo's face box (measured once
with the local provider, stored below) and the same zoom and pan arithmetic ffmpeg's
``zoompan`` applies.

:func:`make_small_face_clip` makes the other kind: one shot of a photo scaled down until its
face is a given height (real footage's far-away faces, 40-60 pixels), gliding over a noisy
moving gradient, as in a low-resolution clip.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

from sprocket_cli.faces.base import Box
from sprocket_cli.media.ffmpeg import run_ffmpeg

FACES = Path(__file__).parent / "data" / "faces"


@dataclass(frozen=True)
class FaceImage:
    """A photo of one person and where their face is in it."""

    path: Path
    person: str
    #: The face in the photo's pixels, as dlib's HOG detector draws it.
    box: Box


# Each box: the median of LocalFaceProvider's detections over a 2 s default scene of the photo,
# mapped back to photo pixels, averaged over upsample 0 and 1. HOG boxes come in pyramid-level
# sizes, so a box measured on the photo once is off by up to 25% on the zoomed frames.
ASTRONAUT = FaceImage(FACES / "astronaut.jpg", "Eileen Collins", Box(138, 62, 263, 190))
OBAMA = FaceImage(FACES / "obama.jpg", "Barack Obama", Box(158, 61, 276, 179))
BIDEN = FaceImage(FACES / "biden.jpg", "Joe Biden", Box(178, 63, 307, 191))


@dataclass(frozen=True)
class Scene:
    """One shot of the clip."""

    #: Who is shown; None: nobody (a test pattern).
    image: FaceImage | None
    seconds: float
    #: Zoom at the first and last frame; 1.0 shows the whole photo, 2.0 its middle half.
    zoom: tuple[float, float] = (1.05, 1.2)
    #: How far the view's centre travels over the scene, as fractions of the photo's width
    #: and height (centred on the photo's middle).
    drift: tuple[float, float] = (0.04, 0.02)


@dataclass(frozen=True)
class SceneTruth:
    #: First frame of the scene.
    start: int
    #: First frame after it.
    end: int
    #: Who is on screen; None for no one.
    person: str | None


@dataclass(frozen=True)
class FaceClip:
    path: Path
    #: (width, height) in pixels.
    size: tuple[int, int]
    fps: int
    scenes: tuple[SceneTruth, ...]
    #: The true face box of every frame; None where no one is on screen.
    boxes: tuple[Box | None, ...]

    @property
    def frames(self) -> int:
        return len(self.boxes)

    @property
    def cuts(self) -> tuple[int, ...]:
        """Frames where a new scene starts (hard cuts), the first frame excluded."""
        return tuple(scene.start for scene in self.scenes[1:])

    def person_at(self, frame: int) -> str | None:
        return next(s.person for s in self.scenes if s.start <= frame < s.end)


def make_face_clip(
    dest: Path,
    scenes: Sequence[Scene],
    *,
    size: tuple[int, int] = (320, 240),
    fps: int = 25,
    keyint: int | None = 50,
    tones: Sequence[float] | None = None,
) -> FaceClip:
    """Render ``scenes`` with hard cuts into an H.264/AAC MP4 at ``dest``; return its ground truth.

    ``keyint``: frames between keyframes (None: only the first frame is one). ``tones``: a sine
    frequency per scene, changing at the cuts (None: one 440 Hz tone throughout).
    """
    width, height = size
    args: list[str] = []
    chains: list[str] = []
    truths: list[SceneTruth] = []
    boxes: list[Box | None] = []
    for index, scene in enumerate(scenes):
        count = round(scene.seconds * fps)
        if count < 1:
            raise ValueError(f"scene {index} is shorter than a frame")
        seconds = f"{(count + 1) / fps:.6f}"
        if scene.image is None:
            args += ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
            view = ""
            boxes += [None] * count
        else:
            args += ["-loop", "1", "-framerate", str(fps), "-t", seconds, "-i", str(scene.image.path)]
            photo = _photo_size(scene.image.path)
            view = _zoompan(scene, count, size, fps) + ","
            boxes += [_true_box(scene, photo, size, i, count) for i in range(count)]
        start = truths[-1].end if truths else 0
        truths.append(SceneTruth(start, start + count, scene.image.person if scene.image else None))
        chains.append(
            f"[{index}:v]format=yuv420p,{view}trim=end_frame={count},setpts=PTS-STARTPTS,setsar=1[v{index}]"
        )
    spans = [(t.end - t.start) / fps for t in truths] if tones is not None else [len(boxes) / fps]
    for frequency, length in zip(tones or [440], spans, strict=True):
        args += ["-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=48000:duration={length:.6f}"]
    sounds = "".join(f"[{len(scenes) + i}:a]" for i in range(len(spans)))
    joined = "".join(f"[v{i}]" for i in range(len(scenes)))
    graph = ";".join([
        *chains,
        f"{joined}concat=n={len(scenes)}:v=1:a=0,format=yuv420p[v]",
        f"{sounds}concat=n={len(spans)}:v=0:a=1[a]",
    ])  # fmt: skip
    gop = str(keyint if keyint is not None else 100_000)
    args += [
        "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
        "-c:v", "libx264", "-preset", "veryfast", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k", "-shortest", "-y", str(dest),
    ]  # fmt: skip
    run_ffmpeg(args, what=f"making face clip {dest}")
    return FaceClip(dest, size, fps, tuple(truths), tuple(boxes))


def read_frames(path: Path, wanted: Iterable[int]) -> dict[int, NDArray[np.uint8]]:
    """The frames numbered ``wanted`` (0-based, in decode order) as RGB arrays."""
    todo = set(wanted)
    found: dict[int, NDArray[np.uint8]] = {}
    with av.open(str(path), mode="r") as container:
        for number, frame in enumerate(container.decode(video=0)):
            if number in todo:
                found[number] = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                if len(found) == len(todo):
                    break
    missing = todo - found.keys()
    assert not missing, f"{path} has no frames {sorted(missing)}"
    return found


def _photo_size(path: Path) -> tuple[int, int]:
    with av.open(str(path), mode="r") as container:
        stream = container.streams.video[0]
        return stream.codec_context.width, stream.codec_context.height


def _zoompan(scene: Scene, count: int, size: tuple[int, int], fps: int) -> str:
    """ffmpeg's zoompan for ``scene``: the same arithmetic as :func:`_view`, in its expression language."""
    (z0, z1), (dx, dy) = scene.zoom, scene.drift
    u = f"on/{max(count - 1, 1)}"
    zoom = f"({z0}+({z1 - z0})*{u})"
    x = f"iw/2+{dx}*iw*({u}-0.5)-iw/{zoom}/2"
    y = f"ih/2+{dy}*ih*({u}-0.5)-ih/{zoom}/2"
    # zoompan clips x and y to the photo itself, as _view does.
    return f"zoompan=z='{zoom}':x='{x}':y='{y}':d=1:s={size[0]}x{size[1]}:fps={fps}"


def _view(scene: Scene, photo: tuple[int, int], i: int, count: int) -> tuple[float, float, float, float]:
    """The part of the photo frame ``i`` of the scene shows: (x, y, width, height) in photo pixels."""
    (z0, z1), (dx, dy) = scene.zoom, scene.drift
    u = i / max(count - 1, 1)
    zoom = z0 + (z1 - z0) * u
    pw, ph = photo
    # zoompan truncates the view to whole pixels and its corner to even ones (4:2:0 chroma).
    vw, vh = int(pw / zoom), int(ph / zoom)
    x = min(max(pw / 2 + dx * pw * (u - 0.5) - pw / zoom / 2, 0.0), float(max(pw - vw, 0)))
    y = min(max(ph / 2 + dy * ph * (u - 0.5) - ph / zoom / 2, 0.0), float(max(ph - vh, 0)))
    return float(int(x) & ~1), float(int(y) & ~1), float(vw), float(vh)


def _true_box(scene: Scene, photo: tuple[int, int], size: tuple[int, int], i: int, count: int) -> Box:
    assert scene.image is not None
    x, y, vw, vh = _view(scene, photo, i, count)
    sx, sy = size[0] / vw, size[1] / vh
    b = scene.image.box
    return Box(
        round((b.left - x) * sx),
        round((b.top - y) * sy),
        round((b.right - x) * sx),
        round((b.bottom - y) * sy),
    ).clipped(*size)


def make_small_face_clip(
    dest: Path,
    image: FaceImage | None,
    *,
    face: int = 48,
    size: tuple[int, int] = (640, 360),
    seconds: float = 2.0,
    fps: int = 25,
    turn: float = 0.0,
    sway: int = 0,
) -> FaceClip:
    """One shot of ``image`` scaled so its face is ``face`` pixels high, moving over a background.

    The background is ffmpeg's ``gradients`` (slowly turning colours) with grain, so the
    detector sees texture everywhere, not a flat field. The photo starts left of the centre and
    glides right and down (2 pixels a frame across, 2 every 4 frames down); ``image`` None makes
    the same shot with no one in it. ``turn``: degrees the photo is rotated clockwise in the
    image plane (a tilted head); the true box is then the face's unturned box, moved to where
    its centre turned. ``sway``: pixels the photo swings left and right besides, once every
    two seconds (a sine: the box between two sampled frames is not on the line joining them).
    H.264 at its usual settings, no audio.
    """
    width, height = size
    count = round(seconds * fps)
    duration = f"{(count + 1) / fps:.6f}"
    args = [
        "-f", "lavfi", "-i",
        f"gradients=s={width}x{height}:r={fps}:d={duration}:c0=0x3a5f7a:c1=0xc8b48c:seed=1:speed=0.02",
    ]  # fmt: skip
    background = f"[0:v]format=yuv420p,noise=alls=12:allf=t:all_seed=7,trim=end_frame={count}"
    boxes: list[Box | None] = [None] * count
    if image is None:
        graph = f"{background},setpts=PTS-STARTPTS[v]"
    else:
        pw, ph = _photo_size(image.path)
        # Even sizes and positions: 4:2:0 chroma puts the overlay on even pixels anyway, and the
        # true boxes below assume exactly where it lands.
        sw, sh = _even(pw * face / image.box.height), _even(ph * face / image.box.height)
        angle = math.radians(turn)
        cos, sin = math.cos(angle), math.sin(angle)
        # The turned photo's canvas holds all of it; the corners it uncovers are transparent.
        cw, ch = _even(sw * abs(cos) + sh * abs(sin)), _even(sw * abs(sin) + sh * abs(cos))
        x0, y0 = _even(width * 0.3 - cw / 2), _even(height * 0.45 - ch / 2)
        args += ["-loop", "1", "-framerate", str(fps), "-t", duration, "-i", str(image.path)]
        pixels = f"format=rgba,rotate={angle!r}:ow={cw}:oh={ch}:c=none" if turn else "format=yuv420p"
        graph = (
            f"{background}[bg];[1:v]scale={sw}:{sh}:flags=area,{pixels}[face];"
            f"[bg][face]overlay=x='{x0}+2*n+2*trunc({sway / 2}*sin(2*PI*n/{2 * fps}))':"
            f"y='{y0}+2*trunc(n/4)':eval=frame:shortest=1,"
            f"trim=end_frame={count},setpts=PTS-STARTPTS[v]"
        )
        b, fx, fy = image.box, sw / pw, sh / ph
        # The face's centre from the photo's centre, turned clockwise (y points down) about it.
        dx, dy = (b.left + b.right) / 2 * fx - sw / 2, (b.top + b.bottom) / 2 * fy - sh / 2
        cx, cy = x0 + cw / 2 + dx * cos - dy * sin, y0 + ch / 2 + dx * sin + dy * cos
        w, h = b.width * fx, b.height * fy
        # Where the overlay puts the photo in frame i, from its place in frame 0 (as above).
        moved = [
            (2 * i + 2 * math.trunc(sway / 2 * math.sin(2 * math.pi * i / (2 * fps))), 2 * (i // 4))
            for i in range(count)
        ]
        boxes = [
            Box(
                round(cx + x - w / 2), round(cy + y - h / 2), round(cx + x + w / 2), round(cy + y + h / 2)
            ).clipped(width, height)
            for x, y in moved
        ]
    args += [
        "-filter_complex", graph, "-map", "[v]",
        "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", "-y", str(dest),
    ]  # fmt: skip
    run_ffmpeg(args, what=f"making small-face clip {dest}")
    truth = SceneTruth(0, count, image.person if image is not None else None)
    return FaceClip(dest, size, fps, (truth,), tuple(boxes))


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)
