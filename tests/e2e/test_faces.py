"""``sprocket find-face`` on clips of real faces (person A, no one, person B, A again, with hard
cuts at known frames): scene cuts within a frame, the right scenes matched, boxes on the true
face, a box drawn in the video, and a clear message for a video with no faces."""

from __future__ import annotations

import json
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.faces.base import Box
from tests.facemedia import ASTRONAUT, OBAMA, FaceClip, Scene, make_face_clip, read_frames

runner = CliRunner()
A = str(ASTRONAUT.path)


@pytest.fixture(scope="module")
def play(tmp_path_factory: pytest.TempPathFactory) -> FaceClip:
    scenes = [Scene(ASTRONAUT, 2.0), Scene(None, 1.5), Scene(OBAMA, 2.0), Scene(ASTRONAUT, 1.5)]
    return make_face_clip(tmp_path_factory.mktemp("faces") / "play.mp4", scenes)


def find_face(*args: str) -> str:
    result = runner.invoke(app, ["find-face", *args, "-w", "2", "--chunk-seconds", "2", "--job-dir", "jobs"])
    assert result.exit_code == 0, result.output
    return result.output


def frame_of(pts: int, scene: dict[str, object], fps: int) -> int:
    num, den = scene["tb"]  # type: ignore[misc]
    return round((pts - scene["origin_pts"]) * num / den * fps)  # type: ignore[operator]


def test_report_finds_the_scenes_of_person_a_with_boxes_on_the_face(play: FaceClip, tmp_path: Path) -> None:
    report = tmp_path / "scenes.json"
    out = find_face(str(play.path), "--person", A, "--report", str(report))
    scenes = json.loads(report.read_text())

    starts = [frame_of(s["start_pts"], s, play.fps) for s in scenes]
    assert len(starts) == len(play.scenes)
    assert all(abs(got - truth.start) <= 1 for got, truth in zip(starts, play.scenes, strict=True))
    assert [s["matched"] for s in scenes] == [t.person == ASTRONAUT.person for t in play.scenes]

    ious = []
    for scene in scenes:
        for sample in scene["samples"]:
            if sample["box"] is not None:
                truth = play.boxes[frame_of(sample["pts"], scene, play.fps)]
                assert truth is not None
                ious.append(Box(*sample["box"]).iou(truth))
    assert ious and min(ious) > 0.5
    assert "appears in 2 of 4 scenes" in out


def test_video_has_a_box_around_the_face_only_in_person_a_scenes(play: FaceClip, tmp_path: Path) -> None:
    boxed = tmp_path / "boxed.mp4"
    find_face(str(play.path), "--person", A, "-o", str(boxed))
    frames = read_frames(boxed, [25, 110])  # inside A's first scene, inside B's scene
    original = read_frames(play.path, [25, 110])
    a_box = play.boxes[25]
    assert a_box is not None
    # The box's outline is drawn near A's true face box: the pixels on its edges turn yellow.
    edge = frames[25][a_box.top : a_box.bottom, max(0, a_box.left - 12) : a_box.left + 12]
    yellow = (edge[..., 0] > 180) & (edge[..., 1] > 180) & (edge[..., 2] < 90)
    assert yellow.sum() > 50
    # B's scene is left as it was (no box): only coding noise differs.
    diff = np.abs(frames[110].astype(int) - original[110].astype(int))
    assert diff.mean() < 3
    # On every frame of A's first scene, sampled or not, the box is on the face (tracked
    # between samples) and moves from one frame to the next by a few pixels, never a jump.
    first = play.scenes[0]
    drawn = [yellow_box(frame) for frame in read_frames(boxed, range(first.start, first.end)).values()]
    for n, box in enumerate(drawn, start=first.start):
        truth = play.boxes[n]
        assert box is not None and truth is not None and box.iou(truth) > 0.75, (n, box, truth)
    edges = np.array([astuple(box) for box in drawn if box is not None])
    assert np.abs(np.diff(edges, axis=0)).max() <= 4


def yellow_box(frame: NDArray[np.uint8]) -> Box | None:
    """The rectangle the drawn box's yellow outline spans, if one is drawn."""
    yellow = (frame[..., 0] > 180) & (frame[..., 1] > 180) & (frame[..., 2] < 90)
    ys, xs = np.nonzero(yellow)
    if len(xs) < 50:
        return None
    return Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


#: A tone per scene of the keep-only clip, so that the audio shows where it was cut.
TONES = (300.0, 500.0, 700.0, 900.0)


@pytest.fixture(scope="module")
def toned(tmp_path_factory: pytest.TempPathFactory) -> FaceClip:
    scenes = [Scene(ASTRONAUT, 2.0), Scene(None, 1.5), Scene(OBAMA, 2.0), Scene(ASTRONAUT, 1.5)]
    return make_face_clip(tmp_path_factory.mktemp("faces") / "toned.mp4", scenes, tones=TONES)


def test_keep_only_joins_person_a_scenes_boxed_with_their_audio(toned: FaceClip, tmp_path: Path) -> None:
    kept, boxed = tmp_path / "kept.mp4", tmp_path / "boxed.mp4"
    out = find_face(str(toned.path), "--person", A, "--keep-only", "-o", str(kept))
    find_face(str(toned.path), "--person", A, "-o", str(boxed))
    mine = [s for s in toned.scenes if s.person == ASTRONAUT.person]
    first, second = mine
    frames, pts, seconds = video_frames(kept)
    # Only A's scenes, each within a frame of its true length, one after another with no gap.
    assert abs(len(frames) - (first.end - first.start) - (second.end - second.start)) <= len(mine)
    assert len(set(np.diff(pts).tolist())) == 1
    # Each kept frame is the boxed video's frame at its source time: the same picture, the
    # same box (only coding noise differs), and the box is on A's face.
    joined = first.end - first.start
    places = {10: first.start + 10, joined - 5: first.end - 5, joined + 10: second.start + 10}
    same = read_frames(boxed, places.values())
    for at, source in places.items():
        assert np.abs(frames[at].astype(int) - same[source].astype(int)).mean() < 3, (at, source)
        box, truth = yellow_box(frames[at]), toned.boxes[source]
        assert box is not None and truth is not None and box.iou(truth) > 0.75, (at, box, truth)
    # The audio is as long as the video (a frame per scene) and changes tone where the video cuts.
    samples, rate = audio_samples(kept)
    assert abs(len(samples) / rate - seconds) <= len(mine) / toned.fps
    cut = joined / toned.fps
    assert tone(samples, rate, 0.2, cut - 0.2) == TONES[0]
    assert tone(samples, rate, cut + 0.2, seconds - 0.1) == TONES[3]
    assert "appears in 2 of 4 scenes" in out


def test_keep_only_without_the_person_writes_nothing_and_says_so(tmp_path: Path) -> None:
    empty = make_face_clip(tmp_path / "nobody.mp4", [Scene(None, 2.0), Scene(OBAMA, 1.0)])
    kept = tmp_path / "kept.mp4"
    out = find_face(str(empty.path), "--person", A, "--keep-only", "-o", str(kept))
    assert "no scene shows" in out and "nothing to keep" in out
    # Obama's face was seen, and the report says so rather than "no face".
    assert "faces found but none matched" in " ".join(out.split())
    assert not kept.exists()


def video_frames(path: Path) -> tuple[list[NDArray[np.uint8]], list[int], float]:
    """Every frame as RGB, their pts, and the stream's length in seconds."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = list(container.decode(stream))
        assert stream.duration is not None
        seconds = float(stream.duration * stream.time_base)
    return [f.to_ndarray(format="rgb24") for f in decoded], [int(f.pts or 0) for f in decoded], seconds


def audio_samples(path: Path) -> tuple[NDArray[np.float32], int]:
    """The first audio channel, decoded, and its sample rate."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [f.to_ndarray()[0] for f in container.decode(stream)]
        return np.concatenate(chunks).astype(np.float32), stream.rate


def tone(samples: NDArray[np.float32], rate: int, start: float, end: float) -> float:
    """The loudest frequency between ``start`` and ``end`` seconds, to the nearest 100 Hz."""
    window = samples[round(start * rate) : round(end * rate)]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    peak = float(np.fft.rfftfreq(len(window), 1 / rate)[int(np.argmax(spectrum))])
    return round(peak / 100) * 100.0


def test_a_video_without_faces_reports_no_scenes_clearly(tmp_path: Path) -> None:
    empty = make_face_clip(tmp_path / "empty.mp4", [Scene(None, 2.0), Scene(None, 1.0)])
    report = tmp_path / "none.json"
    out = find_face(str(empty.path), "--person", A, "--report", str(report))
    assert "no scene shows" in out
    assert "no face found in any sampled frame" in " ".join(out.split())
    assert all(s["outcome"] == "no_face" for s in json.loads(report.read_text()))


def test_reference_photo_without_a_face_is_a_clear_error(play: FaceClip, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    frame = np.zeros((120, 160, 3), dtype=np.uint8)
    import av

    with av.open(str(blank), "w") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "rgb24"
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    result = runner.invoke(app, ["find-face", str(play.path), "--person", str(blank), "--report", "x.json"])
    assert result.exit_code == 4  # an input problem, found before any task ran
    assert "no face" in result.output and "blank.png" in result.output
    assert "Traceback" not in result.output
