"""The ladder past ``filter --ladder``: a pipespec whose encode node has one (``sprocket run``)
writes the same stream folder, under the same folder rules; and a phone's rotated clip is
laddered as displayed, each rung the size plain ffmpeg gives for ``-vf scale=-2:H``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sprocket_cli.media.ffmpeg import ffmpeg_exe
from sprocket_cli.media.probe import probe
from tests.conftest import ClipMaker
from tests.e2e.test_codecs import CHUNKS, assert_refused, sprocket
from tests.e2e.test_ladder import frames_and_size, joined, variants

#: builtin_pipelines/filter.json with a ladder on its encode node.
LADDER_SPEC = {
    "name": "ladder",
    "nodes": [
        {"name": "decode", "stage": "decode"},
        {"name": "filter", "stage": "filter", "config": {"vf": "hue=s=0"}},
        {"name": "encode", "stage": "encode", "config": {"ladder": [240, 120]}},
    ],
    "streams": [
        {"src": "input_0:chunks", "dst": "decode:chunks"},
        {"src": "decode:frames", "dst": "filter:frames"},
        {"src": "filter:frames", "dst": "encode:frames"},
        {"src": "encode:chunks", "dst": "output_0:chunks"},
    ],
}


@pytest.fixture(scope="module")
def source(make_clip: ClipMaker) -> Path:
    """4 s of testsrc2 at 320x240, 25 fps, a keyframe a second, with AAC audio."""
    return make_clip(seconds=4, size="320x240", keyint=25)


@pytest.fixture(scope="module")
def rotated(make_clip: ClipMaker, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A phone's portrait clip: 320x180 as coded, stream-copied with a 90° display rotation
    (this ffmpeg's ``-display_rotation`` input option; ``-metadata:s:v rotate=`` it ignores),
    so that players and plain ffmpeg show 180x320."""
    flat = make_clip(seconds=4, size="320x180", keyint=25)
    dest = tmp_path_factory.mktemp("rotated") / "portrait.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-display_rotation", "90", "-i", str(flat),
         "-c", "copy", "-y", str(dest)],
        check=True,
    )  # fmt: skip
    info = probe(str(dest))
    assert (info.width, info.height, info.rotation % 180, info.display_height) == (320, 180, 90, 320)
    return dest


def run_ladder(spec_dir: Path, source: Path, *args: str) -> tuple[int, str, dict[str, object]]:
    """``sprocket run`` of :data:`LADDER_SPEC` on ``source``, in 1 s chunks."""
    spec = spec_dir / "ladder.json"
    spec.write_text(json.dumps(LADDER_SPEC))
    return sprocket("run", str(spec), "--input", f"input_0={source}", *args, *CHUNKS)


def refusal(output: str) -> str:
    """The one error line of a refused command."""
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_run_with_a_ladder_writes_the_stream_folder(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output, started = run_ladder(tmp_path, source, "-o", f"{out}/")
    assert code == 0, output
    assert started["chunks"] == 4
    listed = variants((out / "master.m3u8").read_text())
    assert [(v["RESOLUTION"], uri) for v, uri in listed] == [
        ("320x240", "stream.m3u8"),
        ("160x120", "h120/stream.m3u8"),
    ]
    frames = frames_and_size(source)[0]
    for attrs, uri in listed:
        width, height = map(int, attrs["RESOLUTION"].split("x"))
        got = frames_and_size(joined(out / uri, tmp_path / f"{height}.mp4"))
        assert got == (frames, width, height, "h264")
    assert (out / "stream.mpd").is_file() and (out / "audio" / "media_0.m3u8").is_file()


def test_run_with_a_ladder_and_no_output_writes_a_folder(source: Path, tmp_path: Path) -> None:
    """The default output is a folder named after the input and the pipeline, not a file."""
    code, output, _ = run_ladder(tmp_path, source)
    assert code == 0, output
    assert (tmp_path / f"{source.stem}-ladder" / "master.m3u8").is_file()  # the test runs in tmp_path


def test_run_with_a_ladder_into_a_file_is_refused_in_one_line(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.mp4"
    code, output, started = run_ladder(tmp_path, source, "-o", str(dest))
    assert code == 2, output
    assert not started and not dest.exists()
    error = refusal(output)
    assert "--ladder" in error and "out.mp4 is a file" in error, error


def test_run_with_a_ladder_into_a_folder_with_files_needs_overwrite(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, output, started = run_ladder(tmp_path, source, "-o", f"{out}/")
    assert code == 6 and not started, output
    error = refusal(output)
    assert "not empty" in error and "--overwrite" in error, error
    code, output, _ = run_ladder(tmp_path, source, "-o", f"{out}/", "--overwrite")
    assert code == 0, output
    assert (out / "master.m3u8").is_file() and (out / "notes.txt").read_text() == "mine"


def test_run_with_a_rung_above_the_source_is_refused_in_one_line(source: Path, tmp_path: Path) -> None:
    code, output, started = run_ladder(tmp_path, source, "-o", "out/", "--set", "encode.ladder=[480,240]")
    assert code == 2 and not started, output
    assert "480: above the source's 240 lines" in refusal(output)


def test_a_rotated_clip_is_laddered_as_displayed_like_plain_ffmpeg(rotated: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output, _ = sprocket(
        "filter", str(rotated), "--vf", "null", "--ladder", "320,240", "-o", f"{out}/", *CHUNKS
    )
    assert code == 0, output
    listed = variants((out / "master.m3u8").read_text())
    assert [uri for _, uri in listed] == ["stream.m3u8", "h240/stream.m3u8"]
    for height, (attrs, uri) in zip((320, 240), listed, strict=True):
        plain = tmp_path / f"plain{height}.mp4"
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(rotated),
             "-vf", f"scale=-2:{height}", "-c:v", "libx264", "-preset", "ultrafast", "-an", "-y", str(plain)],
            check=True,
        )  # fmt: skip
        want = frames_and_size(plain)  # upright: 180x320, 136x240
        assert frames_and_size(joined(out / uri, tmp_path / f"{height}.mp4")) == want
        assert attrs["RESOLUTION"] == f"{want[1]}x{want[2]}"


def test_a_rung_above_a_rotated_clip_as_displayed_is_refused_in_one_line(rotated: Path) -> None:
    needles = ("--ladder", "360: above the source's 320 lines as displayed (rotated 90")
    assert_refused(rotated, ["-o", "out/", "--ladder", "360"], 2, needles)
