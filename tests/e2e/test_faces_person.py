"""``--person`` from the command line: a folder of photos, a name the local provider cannot use,
and ``sprocket run``'s ``--set faces.person=PHOTO`` as a plain string."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.facemedia import ASTRONAUT, FaceClip, Scene, make_face_clip

runner = CliRunner()
JOB = ["-w", "2", "--chunk-seconds", "2", "--job-dir", "jobs"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> FaceClip:
    return make_face_clip(tmp_path_factory.mktemp("person") / "a.mp4", [Scene(ASTRONAUT, 1.0)])


def matched(report: Path) -> list[bool]:
    return [scene["matched"] for scene in json.loads(report.read_text())]


def test_a_folder_of_photos_is_the_person(clip: FaceClip, tmp_path: Path) -> None:
    # The folder's photos are the reference (which ones, and their mean, the unit tests check).
    folder, report = tmp_path / "eileen", tmp_path / "eileen.json"
    folder.mkdir()
    shutil.copy(ASTRONAUT.path, folder / "front.jpg")
    (folder / "notes.txt").write_text("not a photo: left alone")
    args = ["find-face", str(clip.path), "--person", str(folder), "--report", str(report), *JOB]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert matched(report) == [True]
    assert f"{folder} appears in 1 of 1 scenes" in " ".join(result.output.split())


def test_a_name_for_the_local_provider_is_refused_in_one_line(clip: FaceClip) -> None:
    result = runner.invoke(
        app, ["find-face", str(clip.path), "--person", "Eileen Collins", "--report", "x.json"]
    )
    assert result.exit_code == 4, result.output  # an input problem, found before any task ran
    words = " ".join(result.output.split())
    assert "Eileen Collins: neither a file nor a folder" in words
    assert "give an image of them (a file, a folder of images, or an http(s) URL)" in words
    assert "Traceback" not in result.output


def test_set_takes_the_person_as_a_plain_string(clip: FaceClip, tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    args = ["run", "face_scenes", "--input", f"input_0={clip.path}", "--output", f"output_0={report}"]
    result = runner.invoke(app, [*args, "--set", f"faces.person={ASTRONAUT.path}", *JOB])
    assert result.exit_code == 0, result.output
    assert matched(report) == [True]
