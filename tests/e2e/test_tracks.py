"""Every track of the source survives ``sprocket filter``: three audio tracks in three codecs,
a subtitle track, two chapters and a start timecode, with their language and title tags, as
plain ``ffmpeg -map 0 -c:a copy`` keeps them; ``--map`` chooses as ffmpeg's does.

The source is a camera-like MOV made here: AAC (eng, "English"), AC-3 (fra, "Français"),
PCM ("Music", untagged language), mov_text subtitles (eng, "Subs"), chapters at 0 and 1.5 s,
timecode 01:00:00:00 (a tmcd track), global tags (TAGS).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.media.audioplan import AudioPlan
from sprocket_cli.media.containers import MP4, WEBM, audio_target, subtitle_target
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from sprocket_cli.media.probe import SubtitleInfo, probe

runner = CliRunner()
Stream = tuple[str, str, str | None, str | None]
"""(type, codec, language, title) of an audio or subtitle stream."""
SOURCE: list[Stream] = [
    ("audio", "aac", "eng", "English"),
    ("audio", "ac3", "fra", "Français"),
    ("audio", "pcm_s16le", None, "Music"),
    ("subtitle", "mov_text", "eng", "Subs"),
]
TIMECODE = "01:00:00:00"
CHAPTERS = ";FFMETADATA1\n" + "".join(
    f"[CHAPTER]\nTIMEBASE=1/1000\nSTART={start}\nEND={end}\ntitle={title}\n"
    for start, end, title in ((0, 1500, "Opening"), (1500, 3000, "Close"))
)
TAGS = {"title": "Take 3", "comment": "Graded", "artist": "Unit B", "creation_time": "2024-05-06T07:08:09Z"}
SUBTITLES = "1\n00:00:00,500 --> 00:00:01,500\nHello\n\n2\n00:00:02,000 --> 00:00:02,800\nWorld\n"


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_camera(tmp_path_factory.mktemp("tracks"))


def make_camera(folder: Path) -> Path:
    """The camera-like MOV of this module's docstring, in ``folder``."""
    (folder / "chapters.txt").write_text(CHAPTERS)
    (folder / "subs.srt").write_text(SUBTITLES)
    dest = folder / "camera.mov"
    tone = "sine=f={}:d=3:r=48000"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=3",
        *(arg for f in (440, 660, 880) for arg in ("-f", "lavfi", "-i", tone.format(f))),
        "-i", str(folder / "subs.srt"), "-f", "ffmetadata", "-i", str(folder / "chapters.txt"),
        "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:a", "-map", "4:s", "-map_chapters", "5",
        "-c:v", "libx264", "-g", "25", "-c:a:0", "aac", "-c:a:1", "ac3", "-c:a:2", "pcm_s16le",
        "-c:s", "mov_text",
        "-metadata:s:a:0", "language=eng", "-metadata:s:a:0", "title=English",
        "-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "title=Français",
        "-metadata:s:a:2", "title=Music",
        "-metadata:s:s:0", "language=eng", "-metadata:s:s:0", "title=Subs",
        *(arg for key, value in TAGS.items() for arg in ("-metadata", f"{key}={value}")),
        "-timecode", TIMECODE, str(dest),
    )  # fmt: skip
    return dest


def sprocket(src: Path, dest: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["filter", str(src), "--vf", "hue=s=0", "-o", str(dest), "--chunk-seconds", "1", "-w", "2",
         "--json", "--job-dir", str(dest.parent / "jobs"), *extra],
    )  # fmt: skip
    return result.exit_code, result.output


def plain(src: Path, dest: Path) -> None:
    """What plain ffmpeg keeps with every stream mapped and the audio copied (data streams
    left to the muxer, which writes the chapters and the tmcd track anew). Into Matroska the
    subtitles become ASS, its muxer's default; MP4 and MOV name no default (ffmpeg fails,
    "Encoder not found"), so there they are copied, as sprocket copies mov_text."""
    subtitles = () if dest.suffix == ".mkv" else ("-c:s", "copy")
    ffmpeg(
        "-i", str(src), "-map", "0", "-map", "-0:d", "-vf", "hue=s=0", "-c:a", "copy", *subtitles, str(dest)
    )


def streams(path: Path) -> list[Stream]:
    found = []
    with av.open(str(path)) as container:
        for s in container.streams:
            if s.type in ("audio", "subtitle"):
                tags = {k.lower(): v for k, v in s.metadata.items()}
                language = tags.get("language")
                title = tags.get("title") or tags.get("name")  # QuickTime keeps it as "name"
                codec = s.codec_context.codec.canonical_name
                found.append((s.type, codec, None if language in (None, "und") else language, title))
    return found


def chapters(path: Path) -> list[tuple[float, float, str]]:
    with av.open(str(path)) as container:
        return [
            (round(float(c["start"] * c["time_base"]), 3), round(float(c["end"] * c["time_base"]), 3),
             c["metadata"].get("title", ""))
            for c in container.chapters()
        ]  # fmt: skip


def timecodes(path: Path) -> list[str]:
    """Every timecode tag of the file: the video's, a tmcd track's, the file's."""
    with av.open(str(path)) as container:
        tags = [container.metadata, *(s.metadata for s in container.streams)]
        return [v for t in tags for k, v in t.items() if k.lower() == "timecode"]


def tmcd_tracks(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for s in container.streams.data if "timecode" in s.metadata)


def samples(path: Path, track: int) -> str:
    """md5 of audio track ``track``'s decoded samples."""
    digest = hashlib.md5()
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.audio[track]):
            digest.update(frame.to_ndarray().tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("suffix", [".mkv", ".mp4", ".mov"])
def test_every_track_kept_as_plain_ffmpeg_keeps_it(source: Path, tmp_path: Path, suffix: str) -> None:
    dest, reference = tmp_path / f"out{suffix}", tmp_path / f"plain{suffix}"
    code, output = sprocket(source, dest)
    assert code == 0, output
    plain(source, reference)
    ours, theirs = streams(dest), streams(reference)
    assert len(ours) == len(theirs) == len(SOURCE)
    # Languages as plain ffmpeg keeps them; titles as the source has them (plain ffmpeg drops
    # QuickTime's "name" on the way into MOV and MP4: sprocket writes it as the title).
    assert [s[2] for s in ours] == [s[2] for s in theirs] == [s[2] for s in SOURCE]
    assert [s[3] for s in ours] == [s[3] for s in SOURCE]
    codecs = [s[1] for s in theirs]
    if suffix == ".mp4":
        # Plain ffmpeg copies PCM into MP4 (ipcm, which few players play); sprocket makes AAC.
        assert codecs[2] == "pcm_s16le"
        codecs[2] = "aac"
    assert [s[1] for s in ours] == codecs
    assert chapters(dest) == chapters(reference) == [(0.0, 1.5, "Opening"), (1.5, 3.0, "Close")]
    assert set(timecodes(dest)) == set(timecodes(reference)) == {TIMECODE}
    if suffix != ".mkv":  # MOV and MP4 carry it as a tmcd track, as editing systems read it
        assert tmcd_tracks(dest) == tmcd_tracks(reference) == 1
    copied = [0, 1] if suffix == ".mp4" else [0, 1, 2]
    for track in copied:
        # (Not the source's count: a MOV's edit list and Matroska's trim differ on AAC's tail.)
        assert samples(dest, track) == samples(reference, track)


def test_map_one_track(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "fra.mkv"
    code, output = sprocket(source, dest, "--map", "0:a:1")
    assert code == 0, output
    assert streams(dest) == [("audio", "ac3", "fra", "Français")]
    ffmpeg("-i", str(source), "-map", "0:a:1", "-c", "copy", str(tmp_path / "plain.mkv"))
    assert samples(dest, 0) == samples(tmp_path / "plain.mkv", 0)
    assert chapters(dest) and timecodes(dest) == [TIMECODE]  # kept whatever the maps, as ffmpeg


def test_negative_map_drops_one(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "no-music.mov"
    code, output = sprocket(source, dest, "--map", "-0:a:2")
    assert code == 0, output
    assert streams(dest) == [SOURCE[0], SOURCE[1], SOURCE[3]]


def test_repeated_maps_keep_their_order(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "subs-first.mkv"
    code, output = sprocket(source, dest, "--map", "0:s", "--map", "0:a:m:language:eng")
    assert code == 0, output
    assert streams(dest) == [("audio", "aac", "eng", "English"), ("subtitle", "ass", "eng", "Subs")]


def test_webm_transcodes_every_audio_track_to_opus_and_says_so(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.webm"
    code, output = sprocket(source, dest, "--codec", "vp9")
    assert code == 0, output
    assert [s[:2] for s in streams(dest)] == [("audio", "opus")] * 3 + [("subtitle", "webvtt")]
    assert [s[2:] for s in streams(dest)] == [s[2:] for s in SOURCE]
    assert chapters(dest) == chapters(source)
    plan = AudioPlan.choose("a", [probe(str(source))])
    said = plan.carried(1, lambda codec: audio_target(WEBM, "vp9", codec), WEBM).said
    assert said == [
        "audio 0 (eng, 'English'): aac -> libopus (WebM takes opus, vorbis)",
        "audio 1 (fra, 'Français'): ac3 -> libopus (WebM takes opus, vorbis)",
        "audio 2 ('Music'): pcm_s16le -> libopus (WebM takes opus, vorbis)",
        "subtitle 0 of input 0 (eng, 'Subs'): mov_text -> webvtt (WebM takes webvtt)",
    ]
    assert plan.notices(WEBM) == [
        f"{source}: subtitle 0 (eng, 'Subs'): mov_text -> webvtt (WebM takes webvtt)"
    ]
    # The job says so: the notice before any work, each track's line at the end.
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    events = {e["kind"]: e for e in lines}
    assert plan.notices(WEBM)[0] in events["job_started"]["notices"]
    assert events["job_finished"]["tracks"] == said


def test_picture_subtitles_in_mp4_are_said_before_work(source: Path) -> None:
    # A Blu-ray's PGS track: MP4 holds text subtitles only.
    info = probe(str(source))
    pgs = SubtitleInfo(1, "hdmv_pgs_subtitle", "deu", None)
    plan = AudioPlan.choose("0:s", [info.__class__(**{**info.__dict__, "subtitles": (*info.subtitles, pgs)})])
    assert plan.notices(MP4) == [
        f"{source}: subtitle 1 (deu): hdmv_pgs_subtitle dropped (pictures; MP4 takes mov_text)"
    ]
    assert subtitle_target(MP4, "hdmv_pgs_subtitle").codec is None


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("0:v", "--map '0:v': the video is the filter's output"),
        ("0:s:3", "--map '0:s:3' matches no stream: "),
        ("1:a", "--map '1:a': there is no input 1"),
        ("0:x", "--map '0:x': no stream kind 'x'"),
        ("0:3", "--map '0:3': name a stream by kind and number"),
    ],
)
def test_maps_that_cannot_work_fail_in_one_line_before_the_job(
    source: Path, tmp_path: Path, spec: str, says: str
) -> None:
    code, output = sprocket(source, tmp_path / "no.mkv", "--map", spec)
    assert code == 2 and says in output and "Traceback" not in output, output
    assert not (tmp_path / "no.mkv").exists() and not (tmp_path / "jobs").exists()


def test_the_record_keeps_the_maps_for_a_resume(source: Path, tmp_path: Path) -> None:
    # The job's record keeps the maps, so that a resume carries the same tracks.
    dest = tmp_path / "kept.mkv"
    code, output = sprocket(source, dest, "--map", "-0:s")
    assert code == 0, output
    record = json.loads(next((tmp_path / "jobs").glob("*/job.json")).read_text())
    assert record["options"]["audio"] == "-0:s"
    assert [s[0] for s in streams(dest)] == ["audio"] * 3


def test_a_font_attachment_is_said_before_work_not_a_crash(tmp_path: Path) -> None:
    # Without a map, as ffmpeg's default stream selection, the attachment is left out: said.
    src = make_styled(tmp_path)
    code, output = sprocket(src, tmp_path / "out.mkv")
    assert code == 0, output
    started = next(json.loads(line) for line in output.splitlines() if '"job_started"' in line)
    assert f"{src}: attachment 0 (DejaVuSans.ttf, font/ttf) not kept" in started["notices"]
    assert [s[0] for s in streams(tmp_path / "out.mkv")] == []


FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # .ci/run installs it


def make_styled(folder: Path) -> Path:
    """A Matroska source carrying the font of its styled subtitles (an anime release, a fansub)."""
    src = folder / "styled.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2", "-attach", str(FONT),
        "-metadata:s:t", "mimetype=font/ttf", "-c:v", "libx264", "-g", "25", str(src),
    )  # fmt: skip
    return src
