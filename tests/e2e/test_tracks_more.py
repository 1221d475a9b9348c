"""What else of the source survives ``sprocket filter``, each as plain ffmpeg keeps it on the same
binary: the start timecode when the filter drops the first frames, the global tags
(``--map-metadata``), attachments (``--map 0:t``) and the second input's subtitles.

Sources: the camera-like MOV of :mod:`tests.e2e.test_tracks` (three audio tracks, subtitles,
chapters, timecode 01:00:00:00, global tags), its font-carrying Matroska clip, and a second
clip with German subtitles and tags of its own.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import av
import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.e2e.test_tracks import FONT, SUBTITLES, TAGS, chapters, ffmpeg, make_camera, make_styled, timecodes

runner = CliRunner()


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_camera(tmp_path_factory.mktemp("camera"))


@pytest.fixture(scope="module")
def styled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_styled(tmp_path_factory.mktemp("styled"))


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of another picture, same size and rate, with SubRip subtitles (deu) and its own tags."""
    folder = tmp_path_factory.mktemp("second")
    (folder / "subs.srt").write_text(SUBTITLES)
    dest = folder / "second.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", "mandelbrot=s=160x120:r=25", "-i", str(folder / "subs.srt"), "-t", "3",
        "-map", "0:v", "-map", "1:s", "-c:v", "libx264", "-g", "25", "-c:s", "srt",
        "-metadata:s:s:0", "language=deu", "-metadata", "title=Second", "-metadata", "comment=B roll",
        str(dest),
    )  # fmt: skip
    return dest


def sprocket(dest: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    """``sprocket filter ARGS -o dest`` in 1 s chunks on 2 workers: exit code and --json events."""
    result = runner.invoke(
        app,
        ["filter", *args, "-o", str(dest), "--chunk-seconds", "1", "-w", "2", "--json",
         "--job-dir", str(dest.parent / "jobs")],
    )  # fmt: skip
    assert "Traceback" not in result.output, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return result.exit_code, events


def notices(events: list[dict[str, Any]]) -> list[str]:
    started = next(e for e in events if e["kind"] == "job_started")
    return list(started["notices"])


def global_tags(path: Path) -> dict[str, str]:
    """The file's global tags bar ``encoder`` (the muxer's own name and version), keys folded."""
    with av.open(str(path)) as container:
        return {k.lower(): v for k, v in container.metadata.items() if k.lower() != "encoder"}


def stream_tags(path: Path) -> list[tuple[str, str | None, str | None]]:
    """(type, language, title) of each audio and subtitle stream."""
    with av.open(str(path)) as container:
        found = []
        for s in container.streams:
            if s.type in ("audio", "subtitle"):
                tags = {k.lower(): v for k, v in s.metadata.items()}
                found.append((s.type, tags.get("language"), tags.get("title") or tags.get("name")))
        return found


def subtitle_cues(path: Path) -> list[tuple[float, float, str]]:
    """(start, duration, text) of each cue of the first subtitle stream."""
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        return [
            (round(float(p.pts * p.time_base), 3), round(float(p.duration * p.time_base), 3),
             bytes(p).decode().rsplit(",", 1)[-1].strip())
            for p in container.demux(stream) if p.size
        ]  # fmt: skip


def attachments(path: Path) -> list[tuple[str | None, str | None, bytes]]:
    """(filename, mimetype, bytes) of each attachment, the bytes as ffmpeg dumps them."""
    with av.open(str(path)) as container:
        named = [
            (s.metadata.get("filename"), s.metadata.get("mimetype"))
            for s in container.streams
            if s.type == "attachment"
        ]
    found = []
    for i, (filename, mimetype) in enumerate(named):
        dump = path.parent / f"dump{i}.bin"
        # ffmpeg dumps the attachment while opening its input, then finds no output: exit 1.
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-y", f"-dump_attachment:t:{i}", str(dump), "-i", str(path)]
        )
        found.append((filename, mimetype, dump.read_bytes()))
    return found


@pytest.mark.parametrize(
    ("vf", "suffix"),
    [
        ("trim=start_frame=10,setpts=PTS-STARTPTS", ".mov"),
        ("trim=start_frame=10,setpts=PTS-STARTPTS", ".mkv"),
        ("select='gte(n,10)'", ".mp4"),
    ],
)
def test_the_start_timecode_stays_the_sources_when_the_first_frames_are_cut(
    camera: Path, tmp_path: Path, vf: str, suffix: str
) -> None:
    # Plain ffmpeg writes the source's timecode as it is, whatever the filter drops first.
    dest, plain = tmp_path / f"out{suffix}", tmp_path / f"plain{suffix}"
    code, events = sprocket(dest, str(camera), "--vf", vf)
    assert code == 0, events
    ffmpeg("-i", str(camera), "-vf", vf, str(plain))
    assert timecodes(dest) == timecodes(plain) == ["01:00:00:00"] * len(timecodes(plain))
    assert timecodes(plain)


@pytest.mark.parametrize("suffix", [".mkv", ".mov"])
def test_global_tags_are_the_first_inputs_as_plain_ffmpeg_copies_them(
    camera: Path, tmp_path: Path, suffix: str
) -> None:
    dest, plain = tmp_path / f"out{suffix}", tmp_path / f"plain{suffix}"
    code, events = sprocket(dest, str(camera), "--vf", "hue=s=0")
    assert code == 0, events
    ffmpeg("-i", str(camera), "-vf", "hue=s=0", str(plain))
    ours = global_tags(dest)
    assert ours == global_tags(plain)
    # ffmpeg's default copy leaves creation_time out; the rest is the source's.
    assert {k: ours.get(k) for k in TAGS} == {**TAGS, "creation_time": None}


def test_map_metadata_minus_one_drops_every_tag_as_plain_ffmpeg(camera: Path, tmp_path: Path) -> None:
    dest, plain = tmp_path / "out.mkv", tmp_path / "plain.mkv"
    code, events = sprocket(dest, str(camera), "--vf", "hue=s=0", "--map-metadata", "-1")
    assert code == 0, events
    ffmpeg("-i", str(camera), "-vf", "hue=s=0", "-map", "0", "-map", "-0:d", "-c:a", "copy",
           "-map_metadata", "-1", str(plain))  # fmt: skip
    assert global_tags(dest) == global_tags(plain) == {}
    assert stream_tags(dest) == stream_tags(plain) == [("audio", None, None)] * 3 + [("subtitle", None, None)]
    assert chapters(dest) == chapters(plain) == [(0.0, 1.5, ""), (1.5, 3.0, "")]
    assert timecodes(dest) == timecodes(plain) == []


def test_second_inputs_subtitles_and_tags_as_plain_ffmpeg(camera: Path, second: Path, tmp_path: Path) -> None:
    dest, plain = tmp_path / "out.mkv", tmp_path / "plain.mkv"
    graph = "[0:v][1:v]hstack"
    maps = ("--map", "1:s", "--map-metadata", "1")
    code, events = sprocket(dest, str(camera), str(second), "--filter-complex", graph, *maps)
    assert code == 0, events
    finished = next(e for e in events if e["kind"] == "job_finished")
    assert finished["tracks"] == [
        "subtitle 0 of input 1 (deu): subrip -> ass (as ffmpeg writes text subtitles in Matroska)"
    ]
    ffmpeg("-i", str(camera), "-i", str(second), "-filter_complex", graph, "-map", "1:s",
           "-map_metadata", "1", str(plain))  # fmt: skip
    assert stream_tags(dest) == stream_tags(plain) == [("subtitle", "deu", None)]
    assert subtitle_cues(dest) == subtitle_cues(plain) == [(0.5, 1.0, "Hello"), (2.0, 0.8, "World")]
    assert global_tags(dest) == global_tags(plain)
    assert global_tags(dest)["title"] == "Second"


@pytest.mark.parametrize("spec", ["0", "0:t"])
def test_a_mapped_attachment_is_copied_whole_into_matroska(styled: Path, tmp_path: Path, spec: str) -> None:
    dest, plain = tmp_path / "out.mkv", tmp_path / "plain.mkv"
    code, events = sprocket(dest, str(styled), "--vf", "hue=s=0", "--map", spec)
    assert code == 0, events
    assert notices(events) == []
    ffmpeg("-i", str(styled), "-vf", "hue=s=0", "-map", "0:v", "-map", spec, str(plain))
    font = ("DejaVuSans.ttf", "font/ttf", FONT.read_bytes())
    assert attachments(dest) == attachments(plain) == [font]


def test_an_attachment_keeps_its_name_and_type_under_map_metadata_minus_one(
    styled: Path, tmp_path: Path
) -> None:
    # Plain ffmpeg fails here (Matroska holds no attachment without them); sprocket keeps them.
    dest = tmp_path / "out.mkv"
    code, events = sprocket(dest, str(styled), "--vf", "hue=s=0", "--map", "0:t", "--map-metadata", "-1")
    assert code == 0, events
    assert attachments(dest) == [("DejaVuSans.ttf", "font/ttf", FONT.read_bytes())]
    assert global_tags(dest) == {}


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_attachments_outside_matroska_are_said_before_work(styled: Path, tmp_path: Path, suffix: str) -> None:
    dest = tmp_path / f"out{suffix}"
    codec = ("--codec", "vp9") if suffix == ".webm" else ()
    code, events = sprocket(dest, str(styled), "--vf", "hue=s=0", "--map", "0", *codec)
    assert code == 0, events
    name = "MP4" if suffix == ".mp4" else "WebM"
    assert notices(events) == [
        f"{styled}: attachment 0 (DejaVuSans.ttf, font/ttf) not kept: {name} cannot hold attachments"
    ]
    with av.open(str(dest)) as container:
        assert [s.type for s in container.streams] == ["video"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--map", "0:t"), "--map '0:t' matches no stream: "),
        (("--map-metadata", "1"), "--map-metadata 1: takes -1 (no tags) or an input's number, 0 to 0"),
        (("--map-metadata", "-2"), "--map-metadata -2: takes -1"),
    ],
)
def test_what_cannot_work_fails_in_one_line_before_the_job(
    camera: Path, tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    result = runner.invoke(app, ["filter", str(camera), "--vf", "null", "-o", str(tmp_path / "no.mkv"),
                                 "--job-dir", str(tmp_path / "jobs"), *args])  # fmt: skip
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "jobs").exists()
