"""Benchmark: scene-cut accuracy and speed, ffmpeg's scdet (our SceneChange) against PySceneDetect.

Clips with hard cuts at known frames, all made here with ffmpeg (25 fps, H.264):

- ``shots``: the unit test's lavfi patterns (tests/unit/test_scenes.py ``SHOTS``), 160x120;
- ``faces``: bench/faces.py's 8 scenes of 3 s (real photos with a slow zoom and pan, and
  ``testsrc2``), made with tests/facemedia.py at 320x240;
- ``faces-long``: 11 scenes of 2-5 s at 640x360, including a cut from a wide shot of a face to
  a close-up of the same face, and cuts between the two look-alike suit-and-flag portraits;
- ``traps``: 7 scenes at 640x360 with three camera-flash-like brightness jumps (1, 2 and 3
  frames of ``eq=brightness``) and two fast pans (the view crosses its own width in under a
  second) inside scenes: none of those is a cut.

Detectors:

- ``SceneChange (1 chunk)``: sprocket's stage (scdet, threshold 10) over the whole clip;
- ``SceneChange (2 s chunks)``: the same stage over ``plan_chunks(probe(clip), 2.0)``, one
  chunk after another as the unit test runs it (seconds: the sum, i.e. the work; the pipeline
  spreads it over its workers);
- PySceneDetect's ``ContentDetector`` and ``AdaptiveDetector`` with default settings, and the
  tuned settings in ``TUNED``, on its PyAV backend, frames auto-downscaled (its default).

A found cut is a true positive when it is within one frame of a true cut (each true cut
matched once); ``exact`` counts those on the true cut's own frame. Seconds: median of
``--runs`` (3) wall times, detectors taking turns so that drift in the machine's load hits all
alike. The errors of each row are listed under the table.

Run from the project root: ``PYTHONPATH=. python3 bench/scene_detectors.py`` (about 2 minutes
on 2 cores). Needs PySceneDetect, which sprocket itself does not: ``pip install scenedetect``.
"""

from __future__ import annotations

import argparse
import bisect
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.media.probe import probe
from sprocket_cli.stages.base import Span
from sprocket_cli.stages.scenes import SceneChange, SceneChangeConfig
from sprocket_cli.tasks import ChunkRef
from tests.facemedia import ASTRONAUT, BIDEN, OBAMA, Scene, make_face_clip

try:
    import scenedetect
except ImportError:
    scenedetect = None

FPS = 25
CHUNK_SECONDS = 2.0
#: Frames either side of a true cut that still count as finding it.
TOLERANCE = 1

#: The unit test's shots (tests/unit/test_scenes.py): (lavfi source, seconds).
SHOTS = (("testsrc2", 1.2), ("smptebars", 0.8), ("rgbtestsrc", 1.6), ("testsrc", 1.4))
#: bench/faces.py's clip.
FACES = [
    Scene(ASTRONAUT, 3.0), Scene(None, 3.0), Scene(OBAMA, 3.0), Scene(ASTRONAUT, 3.0),
    Scene(BIDEN, 3.0), Scene(None, 3.0), Scene(ASTRONAUT, 3.0), Scene(OBAMA, 3.0),
]  # fmt: skip
CLOSE_UP = (1.8, 2.0)
FACES_LONG = [
    Scene(ASTRONAUT, 4.0), Scene(ASTRONAUT, 3.0, zoom=CLOSE_UP), Scene(None, 3.0), Scene(OBAMA, 5.0),
    Scene(BIDEN, 2.5), Scene(OBAMA, 3.5, zoom=CLOSE_UP), Scene(None, 2.0), Scene(BIDEN, 4.0),
    Scene(ASTRONAUT, 3.0), Scene(None, 2.5), Scene(OBAMA, 3.0),
]  # fmt: skip
#: Fast pans: 2.5x zoomed in, the view's centre travels 60% of the photo's width in 1.2 s,
#: about 32 pixels a frame at 640 wide.
ZOOMED = (2.5, 2.5)
TRAPS = [
    Scene(ASTRONAUT, 3.0), Scene(OBAMA, 1.2, zoom=ZOOMED, drift=(0.6, 0.0)), Scene(BIDEN, 3.0),
    Scene(None, 2.0), Scene(OBAMA, 3.0), Scene(ASTRONAUT, 1.2, zoom=ZOOMED, drift=(-0.6, 0.1)),
    Scene(BIDEN, 2.5),
]  # fmt: skip
#: Flashes in TRAPS: (scene index, first frame within the scene, frames lit).
FLASHES = ((0, 37, 1), (2, 30, 3), (4, 40, 2))
FLASH = "eq=brightness=0.45:contrast=0.8"

#: PySceneDetect settings tried besides the defaults: name -> (detector class, keyword arguments).
#: ContentDetector's default threshold (27) is under the fast pans' frame scores (up to 34), so
#: it merges a cut into a pan with the pan's end; 40 is between those and the weakest true cut
#: (about 50, wide shot to close-up of the same face). Chosen from these clips' stats files.
TUNED: dict[str, tuple[str, dict[str, Any]]] = {
    "ContentDetector thr 40": ("ContentDetector", {"threshold": 40.0}),
}


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    #: Frames where a new scene starts, the first frame excluded.
    cuts: tuple[int, ...]
    frames: int
    #: (width, height) in pixels.
    size: tuple[int, int]


@dataclass(frozen=True)
class Detector:
    name: str
    #: clip -> frames where it found a cut.
    find: Callable[[Clip], list[int]]


@dataclass(frozen=True)
class Score:
    found: list[int]
    hits: int
    #: Hits on the true cut's own frame.
    exact: int
    missed: list[int]
    extra: list[int]


# ------------------------------------------------------------------------------------ clips


def make_clips(folder: Path) -> list[Clip]:
    clips = [make_shots(folder / "shots.mp4")]
    faces = make_face_clip(folder / "faces.mp4", FACES)
    clips.append(Clip("faces", faces.path, faces.cuts, faces.frames, faces.size))
    long = make_face_clip(folder / "faces-long.mp4", FACES_LONG, size=(640, 360))
    clips.append(Clip("faces-long", long.path, long.cuts, long.frames, long.size))
    plain = make_face_clip(folder / "traps-plain.mp4", TRAPS, size=(640, 360))
    lit = " + ".join(
        f"between(n,{plain.scenes[s].start + first},{plain.scenes[s].start + first + count - 1})"
        for s, first, count in FLASHES
    )
    traps = folder / "traps.mp4"
    run_ffmpeg(
        ["-i", str(plain.path), "-vf", f"{FLASH}:enable='{lit}'", "-c:v", "libx264", "-preset", "veryfast",
         "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-c:a", "copy", "-y", str(traps)],
        what="adding flashes to the traps clip",
    )  # fmt: skip
    clips.append(Clip("traps", traps, plain.cuts, plain.frames, plain.size))
    return clips


def make_shots(dest: Path) -> Clip:
    args: list[str] = []
    for source, seconds in SHOTS:
        args += ["-f", "lavfi", "-i", f"{source}=s=160x120:r={FPS}:d={seconds}"]
    joined = "".join(f"[{i}]" for i in range(len(SHOTS))) + f"concat=n={len(SHOTS)}:v=1[v]"
    args += ["-filter_complex", joined, "-map", "[v]", "-c:v", "libx264", "-g", "25", "-keyint_min", "25",
             "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-y", str(dest)]  # fmt: skip
    run_ffmpeg(args, what="making the shots clip")
    starts = [0]
    for _, seconds in SHOTS:
        starts.append(starts[-1] + round(seconds * FPS))
    return Clip("shots", dest, tuple(starts[1:-1]), starts[-1], (160, 120))


# -------------------------------------------------------------------------------- detectors


def scene_change(target_seconds: float) -> Callable[[Clip], list[int]]:
    """Our stage over the chunk plan for ``target_seconds`` (a huge target: one chunk)."""

    def find(clip: Clip) -> list[int]:
        info = probe(str(clip.path))
        plan = plan_chunks(info, target_seconds)
        found: list[int] = []
        for chunk in plan.chunks:
            span = Span(ChunkRef.of(chunk), str(clip.path), {}, lambda _p, _f: None, lambda: False)
            found += SceneChange().run(SceneChangeConfig(), span)["cuts"]
        return [bisect.bisect_left(info.frame_pts, pts) for pts in found]

    return find


def pyscenedetect(kind: str, **settings: Any) -> Callable[[Clip], list[int]]:
    def find(clip: Clip) -> list[int]:
        assert scenedetect is not None
        video = scenedetect.open_video(str(clip.path), backend="pyav")
        # open_video falls back to OpenCV silently: make sure PyAV decoded.
        assert video.BACKEND_NAME == "pyav", video.BACKEND_NAME
        manager = scenedetect.SceneManager()
        manager.add_detector(getattr(scenedetect, kind)(**settings))
        manager.detect_scenes(video)
        return [round(start.seconds * FPS) for start, _ in manager.get_scene_list()[1:]]

    return find


def detectors() -> list[Detector]:
    found = [
        Detector("SceneChange (1 chunk)", scene_change(1e9)),
        Detector(f"SceneChange ({CHUNK_SECONDS:g} s chunks)", scene_change(CHUNK_SECONDS)),
        Detector("ContentDetector", pyscenedetect("ContentDetector")),
        Detector("AdaptiveDetector", pyscenedetect("AdaptiveDetector")),
    ]
    for name, (kind, settings) in TUNED.items():
        found.append(Detector(name, pyscenedetect(kind, **settings)))
    return found


# ---------------------------------------------------------------------------------- scoring


def score(truth: Sequence[int], found: Sequence[int]) -> Score:
    """Match each true cut to at most one found cut within :data:`TOLERANCE` frames."""
    left = sorted(found)
    missed: list[int] = []
    exact = 0
    for cut in truth:
        near = [f for f in left if abs(f - cut) <= TOLERANCE]
        if near:
            best = min(near, key=lambda f: abs(f - cut))
            exact += best == cut
            left.remove(best)
        else:
            missed.append(cut)
    return Score(sorted(found), len(truth) - len(missed), exact, missed, left)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per clip and detector")
    args = parser.parse_args(argv)
    if scenedetect is None:
        print("scene_detectors: PySceneDetect is not installed (pip install scenedetect)", file=sys.stderr)
        return 2
    chosen = detectors()
    rows: list[tuple[Clip, Detector, Score, float]] = []
    with tempfile.TemporaryDirectory(prefix="sprocket-scenes-bench-") as tmp:
        clips = make_clips(Path(tmp))
        for clip in clips:
            walls: dict[str, list[float]] = {d.name: [] for d in chosen}
            results: dict[str, list[int]] = {}
            for _ in range(args.runs):
                for detector in chosen:
                    t0 = time.perf_counter()
                    found = detector.find(clip)
                    walls[detector.name].append(time.perf_counter() - t0)
                    if results.setdefault(detector.name, found) != found:
                        raise SystemExit(f"{detector.name} found different cuts in {clip.name} on a rerun")
            for detector in chosen:
                median = statistics.median(walls[detector.name])
                rows.append((clip, detector, score(clip.cuts, results[detector.name]), median))

    print(
        f"PySceneDetect {scenedetect.__version__} (PyAV {av.__version__} backend), {FPS} fps clips, "
        f"±{TOLERANCE} frame, seconds: median of {args.runs}"
    )
    for clip in clips:
        size = f"{clip.size[0]}x{clip.size[1]}"
        print(f"  {clip.name:<11} {size:>7}, {clip.frames:>4} frames, {len(clip.cuts):>2} cuts")
    header = ("clip", "detector", "cuts", "found", "TP ±1", "exact", "precision", "recall", "seconds")
    print(f"| {header[0]:<10} | {header[1]:<26} | " + " | ".join(f"{h:>9}" for h in header[2:]) + " |")
    print(f"|{'-' * 12}|{'-' * 28}|" + "|".join("-" * 11 for _ in header[2:]) + "|")
    for clip, detector, s, wall in rows:
        precision = s.hits / len(s.found) if s.found else 0.0
        recall = s.hits / len(clip.cuts)
        cells = (
            len(clip.cuts),
            len(s.found),
            s.hits,
            s.exact,
            f"{precision:.2f}",
            f"{recall:.2f}",
            f"{wall:.2f}",
        )
        print(f"| {clip.name:<10} | {detector.name:<26} | " + " | ".join(f"{c:>9}" for c in cells) + " |")
    print()
    print("Errors (frames):")
    for clip, detector, s, _ in rows:
        if s.missed or s.extra:
            print(f"  {clip.name:<10} {detector.name:<26} missed {s.missed or '-'}, extra {s.extra or '-'}")
    print()
    print(verdict(rows))
    return 0


def verdict(rows: Sequence[tuple[Clip, Detector, Score, float]]) -> str:
    """One line: the detectors with the best F1 over all clips, against ours."""
    hits: dict[str, int] = {}
    said: dict[str, int] = {}
    cuts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for clip, detector, s, wall in rows:
        hits[detector.name] = hits.get(detector.name, 0) + s.hits
        said[detector.name] = said.get(detector.name, 0) + len(s.found)
        cuts[detector.name] = cuts.get(detector.name, 0) + len(clip.cuts)
        seconds[detector.name] = seconds.get(detector.name, 0.0) + wall
    f1 = {n: 2 * hits[n] / (said[n] + cuts[n]) for n in hits}
    top = max(f1.values())
    best = " = ".join(f"{n} ({seconds[n]:.1f} s)" for n in f1 if f1[n] == top)
    ours = "SceneChange (1 chunk)"
    perfect = sorted({c.name for c, *_ in rows} - {c.name for c, _, s, _ in rows if s.missed or s.extra})
    exact = ", ".join(perfect) or "no clip"
    return (
        f"Verdict: most accurate {best}, F1 {top:.2f} over all clips, against {ours}'s "
        f"F1 {f1[ours]:.2f} in {seconds[ours]:.1f} s; all detectors exact on {exact}."
    )


if __name__ == "__main__":
    sys.exit(main())
