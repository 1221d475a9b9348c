"""The final file's video stream tags and subtitle codecs, as plain ffmpeg writes them on the same
binary: ``ffmpeg -i src -vf hue=s=0 -c:a copy out.X`` (and ``-map 0`` into Matroska).

Plain ffmpeg copies the source video stream's tags (language, title, handler_name, a comment)
to its filtered video, bar ``encoder``, which its encoder writes anew; ``-map_metadata -1``
drops them and ``-filter_complex`` copies none. With no ``-c:s`` it encodes text subtitles to
the muxer's default subtitle codec: ASS in Matroska. Its MP4 and MOV muxers name no default, so
plain ffmpeg leaves subtitles out of them (``-map 0`` fails: "Encoder not found"); sprocket
keeps them in mov_text, the one text codec those take, as ``-c:s mov_text`` writes them.

Tags are read with PyAV (the same libavformat reading as ``ffprobe -show_streams``; the
imageio-ffmpeg binary comes without ffprobe).
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
from tests.e2e.test_tracks import SUBTITLES, ffmpeg

runner = CliRunner()
VIDEO_TAGS = {"language": "deu", "title": "Camera A", "handler_name": "Cam handler", "comment": "take"}
#: The subtitle codec each source is made with.
SOURCES = {".mkv": "subrip", ".mp4": "mov_text", ".mov": "mov_text"}
MATROSKA = "as ffmpeg writes text subtitles in Matroska"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """3 s of picture and tone with English subtitles and tagged video, in each of SOURCES."""
    folder = tmp_path_factory.mktemp("tagged")
    (folder / "subs.srt").write_text(SUBTITLES)
    made = {}
    for suffix, codec in SOURCES.items():
        made[suffix] = folder / f"tagged{suffix}"
        ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=3", "-f", "lavfi", "-i", "sine=f=440:d=3",
            "-i", str(folder / "subs.srt"), "-c:v", "libx264", "-g", "25", "-c:a", "aac",
            "-c:s", "srt" if codec == "subrip" else codec, "-metadata:s:s:0", "language=eng",
            *(arg for key, value in VIDEO_TAGS.items() for arg in ("-metadata:s:v:0", f"{key}={value}")),
            str(made[suffix]),
        )  # fmt: skip
    return made


def sprocket(dest: Path, *args: str) -> list[dict[str, Any]]:
    """``sprocket filter ARGS -o dest`` in 1 s chunks on 2 workers: its --json events."""
    result = runner.invoke(
        app,
        ["filter", *args, "-o", str(dest), "--chunk-seconds", "1", "-w", "2", "--json",
         "--job-dir", str(dest.parent / "jobs")],
    )  # fmt: skip
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def event(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(e for e in events if e["kind"] == kind)


def video_tags(path: Path) -> tuple[dict[str, str], str]:
    """The first video stream's tags bar ``encoder``, and that."""
    with av.open(str(path)) as container:
        tags = dict(container.streams.video[0].metadata)
    encoder = [tags.pop(key) for key in list(tags) if key.lower() == "encoder"]
    return tags, encoder[0] if encoder else ""


def same_video_tags(ours: Path, theirs: Path) -> dict[str, str]:
    """Assert ``ours`` has the video tags of ``theirs``: every one but ``encoder``, which names
    each file's encoder; the workers encode bit-exactly (chunks share one init segment), so
    theirs names libavcodec's version and ours does not. Return ours."""
    (tags, encoder), (plain_tags, plain_encoder) = video_tags(ours), video_tags(theirs)
    assert tags == plain_tags
    assert (
        encoder == "Lavc libx264" and plain_encoder.startswith("Lavc") and plain_encoder.endswith(" libx264")
    )
    return tags


def subtitles(path: Path) -> tuple[list[str], bytes]:
    """The subtitle streams' codecs, and the first one decoded to SubRip (text and timing)."""
    with av.open(str(path)) as container:
        codecs = [s.codec_context.codec.canonical_name for s in container.streams.subtitles]
    if not codecs:
        return codecs, b""
    srt = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:s:0", "-f", "srt", "-"],
        capture_output=True,
        check=True,
    )
    return codecs, srt.stdout


def said(source: str, suffix: str) -> str:
    """The summary's line on the subtitles of a ``source`` file in a ``suffix`` output."""
    codec, target = SOURCES[source], "ass" if suffix == ".mkv" else "mov_text"
    if codec == target:
        return f"subtitle 0 of input 0 (eng): {codec}, copied"
    why = MATROSKA if suffix == ".mkv" else f"{suffix[1:].upper()} takes mov_text"
    return f"subtitle 0 of input 0 (eng): {codec} -> {target} ({why})"


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
@pytest.mark.parametrize("source", list(SOURCES))
def test_video_tags_and_subtitle_codec_as_plain_ffmpeg(
    sources: dict[str, Path], tmp_path: Path, source: str, suffix: str
) -> None:
    src, dest, plain = sources[source], tmp_path / f"out{suffix}", tmp_path / f"plain{suffix}"
    events = sprocket(dest, str(src), "--vf", "hue=s=0")
    ffmpeg("-i", str(src), "-vf", "hue=s=0", "-c:a", "copy", str(plain))
    tags = same_video_tags(dest, plain)
    assert "Cam handler" in tags.values()  # the source's, not the segments' "VideoHandler"
    line = said(source, suffix)
    assert event(events, "job_finished")["tracks"] == ["audio 0 (untagged): aac, copied", line]
    converted = [n for n in event(events, "job_started")["notices"] if "subtitle" in n]
    assert converted == ([] if line.endswith("copied") else [f"{src}: {line.replace(' of input 0', '')}"])
    ours = subtitles(dest)
    if suffix == ".mkv":
        assert ours == subtitles(plain)
        assert ours[0] == ["ass"]
    else:
        assert subtitles(plain) == ([], b"")  # left out: the premise of the reference below
        ffmpeg("-i", str(src), "-vf", "hue=s=0", "-c:a", "copy", "-c:s", "mov_text", str(plain))
        assert ours == subtitles(plain)
        assert ours[0] == ["mov_text"]
    cues = ours[1].decode().split()
    assert cues[:5] == ["1", "00:00:00,500", "-->", "00:00:01,500", "Hello"] and "World" in cues


@pytest.mark.parametrize("source", list(SOURCES))
def test_map_0_into_matroska_as_plain_ffmpeg(sources: dict[str, Path], tmp_path: Path, source: str) -> None:
    src, dest, plain = sources[source], tmp_path / "out.mkv", tmp_path / "plain.mkv"
    sprocket(dest, str(src), "--vf", "hue=s=0", "--map", "0")
    ffmpeg("-i", str(src), "-map", "0", "-vf", "hue=s=0", "-c:a", "copy", str(plain))
    assert "Cam handler" in same_video_tags(dest, plain).values()
    assert subtitles(dest) == subtitles(plain)
    assert subtitles(dest)[0] == ["ass"]


@pytest.mark.parametrize(
    ("suffix", "args", "plain_args"),
    [
        (".mp4", (), ()),
        (".mov", (), ()),
        (".mkv", (), ()),
        # No track and no tag read: the output's video is all the file holds.
        (".mp4", ("--map", "-0:a", "--map", "-0:s"), ("-an", "-sn")),
    ],
)
def test_map_metadata_minus_one_drops_the_video_tags_as_plain_ffmpeg(
    sources: dict[str, Path], tmp_path: Path, suffix: str, args: tuple[str, ...], plain_args: tuple[str, ...]
) -> None:
    src, dest, plain = sources[".mkv"], tmp_path / f"out{suffix}", tmp_path / f"plain{suffix}"
    sprocket(dest, str(src), "--vf", "hue=s=0", "--map-metadata", "-1", *args)
    cs = () if suffix == ".mkv" else ("-c:s", "mov_text")
    ffmpeg(
        "-i", str(src), "-vf", "hue=s=0", "-c:a", "copy", *cs, "-map_metadata", "-1", *plain_args, str(plain)
    )
    tags = same_video_tags(dest, plain)
    assert not set(tags.values()) & set(VIDEO_TAGS.values())


def test_a_graph_over_two_inputs_takes_no_video_tags_as_plain_filter_complex(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    first, second = str(sources[".mkv"]), str(sources[".mp4"])
    dest, plain = tmp_path / "out.mkv", tmp_path / "plain.mkv"
    graph = "[0:v][1:v]hstack"
    sprocket(dest, first, second, "--filter-complex", graph)
    ffmpeg("-i", first, "-i", second, "-filter_complex", graph, "-c:a", "copy", str(plain))
    tags = same_video_tags(dest, plain)
    assert not set(tags.values()) & set(VIDEO_TAGS.values())
