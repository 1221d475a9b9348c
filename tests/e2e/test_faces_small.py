"""``sprocket find-face`` on low-resolution footage (640x360, faces 48 pixels high, as in the
issue "Faces on real footage"): the face is found by default, boxed where it is, and a search
that finds no one says which of the two reasons it was; a turned face is found with
``--detector auto``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.cli.facecmd import headline
from sprocket_cli.faces.base import Box
from tests.facemedia import ASTRONAUT, OBAMA, FaceClip, make_small_face_clip

runner = CliRunner()
A = str(ASTRONAUT.path)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FaceClip]:
    """The searched person, someone else, and no one, each alone in a 2 s shot."""
    folder = tmp_path_factory.mktemp("small-faces")
    return {
        "astronaut": make_small_face_clip(folder / "astronaut48.mp4", ASTRONAUT, face=48),
        "obama": make_small_face_clip(folder / "obama48.mp4", OBAMA, face=48),
        "nobody": make_small_face_clip(folder / "nobody.mp4", None),
    }


def search(clip: FaceClip, report: Path, *extra: str) -> tuple[str, list[dict[str, Any]]]:
    """The console output and the JSON report of find-face on ``clip``, for the astronaut."""
    args = ["find-face", str(clip.path), "--person", A, "--report", str(report), *extra]
    result = runner.invoke(app, [*args, "-w", "2", "--chunk-seconds", "2", "--job-dir", "jobs"])
    assert result.exit_code == 0, result.output
    # The console wraps long lines at its width; the words are what count.
    return " ".join(result.output.split()), json.loads(report.read_text())


def frame_of(pts: int, scene: dict[str, Any], fps: int) -> int:
    num, den = scene["tb"]
    seconds: float = (pts - scene["origin_pts"]) * num / den
    return round(seconds * fps)


def test_a_48px_face_is_found_and_boxed_by_default(clips: dict[str, FaceClip], tmp_path: Path) -> None:
    clip = clips["astronaut"]
    out, [scene] = search(clip, tmp_path / "a.json")
    assert scene["matched"] and scene["outcome"] == "match"
    assert scene["smallest_face"] == 40  # 360 lines high: doubled once
    samples = scene["samples"]
    assert scene["sampled"] == {"match": len(samples), "no_match": 0, "no_face": 0}
    for sample in samples:
        truth = clip.boxes[frame_of(sample["pts"], scene, clip.fps)]
        assert truth is not None
        assert Box(*sample["box"]).iou(truth) > 0.5, (sample, truth)
        assert sample["faces"] == sample["matches"] == 1
        assert sample["distance"] == sample["closest"] < 0.45
    assert "astronaut.jpg appears in 1 of 1 scenes:" in out
    assert f"matched in {len(samples)} of {len(samples)} sampled frames" in out
    # The first pass saw the 48 px face and chose one doubling; the summary says so and what it costs.
    assert scene["detector"] == ["hog", 1] and scene["first_pass"]["upsample"] == 1
    assert 40 <= scene["first_pass"]["smallest"] <= 56
    assert "detector: hog x2 upsampling, ~" in out and "ms/frame per worker (first pass on 5 frames" in out


def test_plan_prints_what_each_detector_costs(clips: dict[str, FaceClip]) -> None:
    args = ["plan", str(clips["nobody"].path), "--pipeline", "face_scenes", "--backend", "local"]
    result = runner.invoke(app, [*args, "-w", "1", "--fps-per-core", "100"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "find_faces, a sample every 5 frames: hog ms/frame per worker: at 1/4 size" in out
    assert "x2 upsampling (faces from ~40 px) ~" in out and "--detector cnn ~" in out


#: Per clip: the scene's outcome, and what the console says about it.
REASONS = {
    "astronaut": ("match", "appears in 1 of 1 scenes"),
    "obama": ("no_match", "astronaut.jpg: faces found but none matched ("),
    "nobody": ("no_face", "astronaut.jpg: no face found in any sampled frame"),
}


def test_each_clip_gets_its_own_reason(clips: dict[str, FaceClip], tmp_path: Path) -> None:
    headlines = {}
    for name, (outcome, words) in REASONS.items():
        out, [scene] = search(clips[name], tmp_path / f"{name}.json")
        assert scene["outcome"] == outcome, (name, scene)
        assert words in out, out
        headlines[name] = headline([scene], A)
        assert headlines[name] in out
    assert len(set(headlines.values())) == 3, headlines


def test_someone_else_is_seen_and_how_close_they_came_is_told(
    clips: dict[str, FaceClip], tmp_path: Path
) -> None:
    out, [scene] = search(clips["obama"], tmp_path / "b.json")
    assert not scene["matched"]
    assert all(s["faces"] == 1 and s["matches"] == 0 and s["box"] is None for s in scene["samples"])
    assert scene["closest"] > 0.7 and scene["threshold"] == 0.6
    assert f"best distance {scene['closest']:.2f}, a match needs at most 0.60: --threshold to loosen" in out
    assert "closest at distance" in out
    # The distance shown is what to tune by (--tolerance, face_recognition's name, or --threshold).
    _, [loose] = search(
        clips["obama"], tmp_path / "loose.json", "--tolerance", f"{scene['closest'] + 0.01:.3f}"
    )
    assert loose["matched"] and loose["threshold"] > scene["closest"]


def test_no_face_says_so_and_points_at_min_face(clips: dict[str, FaceClip], tmp_path: Path) -> None:
    out, [scene] = search(clips["nobody"], tmp_path / "n.json")
    assert scene["closest"] is None and scene["sampled"]["no_face"] == len(scene["samples"]) > 0
    assert "faces smaller than 40 px are missed: try --min-face" in out
    assert "not matched: no face in" in out


def test_min_face_sets_what_the_detector_looks_for(clips: dict[str, FaceClip], tmp_path: Path) -> None:
    # Asked for faces of 80 px and up, the detector skips the doubling and misses the 48 px face,
    # and the report says why; the symptom, now explained.
    out, [scene] = search(clips["astronaut"], tmp_path / "big.json", "--min-face", "80")
    assert scene["smallest_face"] == 80 and scene["outcome"] == "no_face"
    assert "faces smaller than 80 px are missed: try --min-face" in out


def test_detector_choice_is_checked_against_the_provider(clips: dict[str, FaceClip]) -> None:
    args = ["find-face", str(clips["nobody"].path), "--person", A, "--report", "x.json"]
    result = runner.invoke(app, [*args, "--detector", "yolo"])
    assert result.exit_code == 2, result.output
    assert "unknown face detector 'yolo'" in result.output


def test_a_turned_face_is_found_and_matched_with_the_auto_detector(tmp_path: Path) -> None:
    # Turned 50 degrees, past what HOG finds (tests/unit/test_faces_turned.py): HOG finds
    # nothing in each sample and the CNN pass does. 240 lines and --min-face 80: no doubling,
    # and two samples (frames 0 and 5), so that the CNN costs about two seconds in all.
    clip = make_small_face_clip(
        tmp_path / "turned.mp4", ASTRONAUT, face=100, size=(320, 240), seconds=0.4, turn=50
    )
    out, [scene] = search(clip, tmp_path / "t.json", "--detector", "auto", "--min-face", "80")
    samples = scene["samples"]
    assert scene["sampled"] == {"match": 2, "no_match": 0, "no_face": 0}, scene
    for sample in samples:
        truth = clip.boxes[frame_of(sample["pts"], scene, clip.fps)]
        assert truth is not None and Box(*sample["box"]).iou(truth) > 0.5, (sample, truth)
    assert "astronaut.jpg appears in 1 of 1 scenes:" in out
