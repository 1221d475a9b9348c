"""Benchmark: the face pipeline on a 720p clip of real faces, local provider (dlib, HOG).

The clip (tests/facemedia.py): 8 scenes with hard cuts, 24 s at 1280x720, 25 fps: Eileen Collins,
no one, Barack Obama, Collins again, ... For ``--every`` 1, 5 and 15 it runs
``sprocket find-face CLIP --person astronaut.jpg --report`` on 2 local workers and prints:

- frames/s: the clip's frames over the job's wall time (scene detection, recognition, all);
- baseline: plain ``ffmpeg -i CLIP -f null -`` (decode only) on the same clip, the floor;
- scene cuts: found within one frame of the truth;
- scene precision / recall for "Collins is in this scene";
- mean IoU of the reported boxes against the true face boxes.

Run from the project root: ``PYTHONPATH=. python bench/faces.py`` (about 3 minutes on 2 cores;
the clip is made with the tests' own helper, tests/facemedia.py).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from sprocket_cli.faces.base import Box
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.facemedia import ASTRONAUT, BIDEN, OBAMA, Scene, make_face_clip

SIZE = (1280, 720)
SCENES = [
    Scene(ASTRONAUT, 3.0), Scene(None, 3.0), Scene(OBAMA, 3.0), Scene(ASTRONAUT, 3.0),
    Scene(BIDEN, 3.0), Scene(None, 3.0), Scene(ASTRONAUT, 3.0), Scene(OBAMA, 3.0),
]  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sprocket-faces-bench-") as tmp:
        folder = Path(tmp)
        clip = make_face_clip(folder / "clip.mp4", SCENES, size=SIZE)
        t0 = time.perf_counter()
        subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(clip.path), "-f", "null", "-"], check=True)
        decode = time.perf_counter() - t0
        rows = [("ffmpeg decode only (baseline)", clip.frames / decode, "-", "-", "-", "-")]
        for every in (1, 5, 15):
            report = folder / f"every{every}.json"
            t0 = time.perf_counter()
            subprocess.run(
                ["sprocket", "find-face", str(clip.path), "--person", str(ASTRONAUT.path),
                 "--every", str(every), "--report", str(report), "-w", "2", "--json",
                 "--job-dir", str(folder / "jobs")],
                check=True, capture_output=True,
            )  # fmt: skip
            wall = time.perf_counter() - t0
            scenes = json.loads(report.read_text())
            rows.append((f"find-face --every {every}", clip.frames / wall, *quality(clip, scenes)))
    print(f"{clip.frames} frames, {SIZE[0]}x{SIZE[1]}, {len(SCENES)} scenes, 2 workers")
    header = ("run", "frames/s", "cuts ±1", "precision", "recall", "mean IoU")
    print(f"| {header[0]:<30} | " + " | ".join(f"{h:>9}" for h in header[1:]) + " |")
    print(f"|{'-' * 32}|" + "|".join("-" * 11 for _ in header[1:]) + "|")
    for name, fps, *cells in rows:
        print(f"| {name:<30} | {fps:>9.1f} | " + " | ".join(f"{c:>9}" for c in cells) + " |")


def quality(clip: object, scenes: list[dict[str, object]]) -> tuple[str, str, str, str]:
    from tests.facemedia import FaceClip

    assert isinstance(clip, FaceClip)

    def frame(pts: object, scene: dict[str, object]) -> int:
        num, den = scene["tb"]  # type: ignore[misc]
        return round((pts - scene["origin_pts"]) * num / den * clip.fps)  # type: ignore[operator]

    found = [frame(s["start_pts"], s) for s in scenes][1:]
    hits = sum(1 for cut in clip.cuts if any(abs(cut - f) <= 1 for f in found))
    truth = {i for i, s in enumerate(clip.scenes) if s.person == ASTRONAUT.person}
    said = {i for i, s in enumerate(scenes) if s["matched"]}
    precision = len(said & truth) / len(said) if said else 0.0
    recall = len(said & truth) / len(truth)
    ious = [
        Box(*sample["box"]).iou(box)
        for s in scenes
        for sample in s["samples"]  # type: ignore[attr-defined]
        if sample["box"] is not None and (box := clip.boxes[frame(sample["pts"], s)]) is not None
    ]
    mean = sum(ious) / len(ious) if ious else 0.0
    return f"{hits}/{len(clip.cuts)}", f"{precision:.2f}", f"{recall:.2f}", f"{mean:.2f}"


if __name__ == "__main__":
    main()
