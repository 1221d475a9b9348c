"""Editor-grade output: each encoder in the container -o names, against plain ffmpeg.

The clip has motion, a keyframe every second and 1 s chunks: four chunks, three joins. Lossy
encoders give other pixels in chunks than over the whole file, so the comparison with plain
ffmpeg (same binary, same encoder) is of what joins can break: the frame count and every
frame's timestamp.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.conftest import ClipMaker

runner = CliRunner()
CHUNKS = ["--chunk-seconds", "1", "--first-chunk-seconds", "1", "-w", "2"]


@pytest.fixture(scope="module")
def source(make_clip: ClipMaker) -> Path:
    """4 s of testsrc2 at 320x180, 25 fps, a keyframe a second, 48 kHz AAC."""
    return make_clip(seconds=4, size="320x180", keyint=25)


@dataclass(frozen=True)
class Case:
    codec: str
    suffix: str
    plain: tuple[str, ...]
    """The same encoder for plain ffmpeg (the fast end of its speeds)."""
    video: str
    pix_fmt: str
    playlist_codec: str
    """How the HLS master playlist names the codec (RFC 6381), up to the first dot."""
    audio: str


CASES = [
    Case("x264", ".mov", ("-c:v", "libx264"), "h264", "yuv420p", "avc1", "aac"),
    Case("x265", ".mkv", ("-c:v", "libx265"), "hevc", "yuv420p", "hvc1", "aac"),
    Case("av1", ".mp4", ("-c:v", "libsvtav1", "-preset", "12"), "av1", "yuv420p", "av01", "aac"),
    Case(
        "vp9", ".webm", ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"),
        "vp9", "yuv420p", "vp09", "opus",
    ),
    Case("prores", ".mov", ("-c:v", "prores_ks"), "prores", "yuv422p10le", "apch", "pcm_s16le"),
    Case(
        "dnxhr", ".mov", ("-c:v", "dnxhd", "-profile:v", "dnxhr_hq"), "dnxhd", "yuv422p", "AVdh", "pcm_s16le"
    ),
]  # fmt: skip


@dataclass(frozen=True)
class Decoded:
    container: str
    video: str
    pix_fmt: str
    colour: tuple[int, int, int]
    """Primaries, transfer, matrix (ffmpeg's numbers: 1 is BT.709)."""
    pts: list[Fraction]
    """Seconds of each decoded frame, from the first."""
    audio: str | None
    audio_seconds: float
    """Decoded samples / rate."""


def container_of(path: Path) -> str:
    """What the file's first bytes say it is (the suffix could lie)."""
    head = path.read_bytes()[:64]
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska, or its WebM subset
        return "webm" if b"webm" in head else "matroska"
    return "unknown"


def decode(path: Path) -> Decoded:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        pts = [Fraction(frame.pts) * Fraction(frame.time_base) for frame in container.decode(stream)]
        colour = (int(ctx.color_primaries), int(ctx.color_trc), int(ctx.colorspace))
        video, pix_fmt = ctx.codec.canonical_name, str(ctx.pix_fmt)
    audio, seconds = None, 0.0
    with av.open(str(path)) as container:
        if container.streams.audio:
            astream = container.streams.audio[0]
            audio = astream.codec_context.codec.canonical_name
            samples = sum(frame.samples for frame in container.decode(astream))
            seconds = samples / astream.codec_context.sample_rate
    return Decoded(container_of(path), video, pix_fmt, colour, [p - pts[0] for p in pts], audio, seconds)


def sprocket(*args: str) -> tuple[int, str, dict[str, object]]:
    """Exit code, output and the JobStarted event of a ``sprocket`` run with --json."""
    result = runner.invoke(app, [*args, "--json"])
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    started = next((e for e in events if e.get("kind") == "job_started"), {})
    return result.exit_code, result.output, started


@pytest.mark.parametrize("case", CASES, ids=[c.codec for c in CASES])
def test_codec_in_its_container_joins_like_plain_ffmpeg(case: Case, source: Path, tmp_path: Path) -> None:
    dest = tmp_path / f"out{case.suffix}"
    code, output, started = sprocket(
        "filter", str(source), "--vf", "hue=s=0", "--codec", case.codec, "-o", str(dest), *CHUNKS
    )
    assert code == 0, output
    assert started["chunks"] == 4
    plain = tmp_path / f"plain{case.suffix}"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(source),
         "-vf", "hue=s=0", *case.plain, "-an", "-y", str(plain)],
        check=True,
    )  # fmt: skip
    got, want, src = decode(dest), decode(plain), decode(source)

    assert got.container == {".mov": "mov", ".mp4": "mp4", ".mkv": "matroska", ".webm": "webm"}[case.suffix]
    assert (got.video, got.pix_fmt) == (case.video, case.pix_fmt)
    assert len(got.pts) == len(want.pts) == len(src.pts) == 100
    assert all(a < b for a, b in zip(got.pts, got.pts[1:], strict=False)), "timestamps go back or repeat"
    assert got.pts == want.pts, "a join moved, dropped or doubled a frame"
    assert got.audio == case.audio
    assert got.audio_seconds == pytest.approx(src.audio_seconds, abs=0.025)  # within an AAC frame
    playlist = (Path(str(started["job_dir"])) / "stream" / "master.m3u8").read_text()
    assert f'CODECS="{case.playlist_codec}' in playlist


def ten_bit_bt709(src: Path) -> Path:
    """A 3 s 10-bit clip tagged BT.709 (primaries, transfer, matrix, limited range) at ``src``."""
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
         "-i", "testsrc2=size=320x180:rate=25:duration=3",
         "-vf", "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
         "-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-g", "25", "-y", str(src)],
        check=True,
    )  # fmt: skip
    return src


def test_ten_bit_bt709_stays_ten_bit_bt709_through_x265(tmp_path: Path) -> None:
    src = ten_bit_bt709(tmp_path / "ten.mp4")
    dest = tmp_path / "out.mkv"
    code, output, _ = sprocket(
        "filter", str(src), "--vf", "null", "--codec", "x265", "-o", str(dest), *CHUNKS
    )
    assert code == 0, output
    got = decode(dest)
    assert (got.video, got.pix_fmt, got.colour) == ("hevc", "yuv420p10le", (1, 1, 1))
    assert len(got.pts) == 75


def hdr_side_data(path: Path) -> dict[str, bytes]:
    """The first frame's HDR10 side data (mastering display, content light level), raw."""
    with av.open(str(path)) as container:
        frame = next(container.decode(container.streams.video[0]))
        wanted = ("MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL")
        # PyAV 16 made side_data a mapping (type -> data); before, a list of data with a .type.
        data = frame.side_data
        pairs = data.items() if hasattr(data, "items") else [(sd.type, sd) for sd in data]
        return {kind.name: bytes(sd) for kind, sd in pairs if kind.name in wanted}


@pytest.mark.parametrize("target", [[], ["--target-vmaf", "90"]], ids=["crf", "target-vmaf"])
def test_hdr10_through_x265_keeps_its_mastering_display_and_light_levels(
    target: list[str], tmp_path: Path
) -> None:
    """With a target too: its final encode reads the lossless reference, not the source."""
    src = tmp_path / "hdr10.mp4"
    hdr10 = "hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
         "-i", "testsrc2=size=320x180:rate=25:duration=3",
         "-vf", "setparams=color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc:range=tv",
         "-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-g", "25",
         "-x265-params", f"log-level=0:{hdr10}:max-cll=1000,400", "-y", str(src)],
        check=True,
    )  # fmt: skip
    want = hdr_side_data(src)
    assert set(want) == {"MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL"}
    dest = tmp_path / "out.mkv"
    code, output, _ = sprocket(
        "filter", str(src), "--vf", "null", "--codec", "x265", *target, "-o", str(dest), *CHUNKS
    )
    assert code == 0, output
    got, source = decode(dest), decode(src)
    assert (got.video, got.pix_fmt, got.colour) == ("hevc", "yuv420p10le", (9, 16, 9))
    assert hdr_side_data(dest) == want
    assert got.pts == source.pts


def test_a_pipespec_sets_the_codec(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.mov"
    code, output, _ = sprocket(
        "run", "filter", "--input", f"input_0={source}", "-o", str(dest),
        "--set", "filter.vf=hue=s=0", "--set", "encode.codec=dnxhr", *CHUNKS,
    )  # fmt: skip
    assert code == 0, output
    got = decode(dest)
    assert (got.video, got.audio, len(got.pts)) == ("dnxhd", "pcm_s16le", 100)


def test_a_pipespec_whose_codec_its_container_cannot_hold_fails_before_any_work(
    source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "out.webm"
    code, output, started = sprocket(
        "run", "filter", "--input", f"input_0={source}", "-o", str(dest), "--job-dir", str(tmp_path / "jobs"),
        "--set", "filter.vf=hue=s=0", "--set", "encode.codec=prores", *CHUNKS,
    )  # fmt: skip
    assert code == 2, output
    assert not started and not dest.exists() and not (tmp_path / "jobs").exists()
    assert "--codec prores_ks cannot go in a WebM file" in output


def test_an_encoder_argument_ffmpeg_rejects_fails_on_the_first_frame(source: Path) -> None:
    args = ["--codec", "x265", "--encoder-args", "-crf abc", "-o", "out.mp4"]
    assert_refused(source, args, 2, ("encoder libx265", '"crf" option value "abc"'))


def test_overwrite_as_ffmpeg_spells_it(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.mp4"
    dest.write_bytes(b"old")
    code, output, _ = sprocket("filter", str(source), "--vf", "null", "-o", str(dest), "-y", *CHUNKS)
    assert code == 0, output
    assert decode(dest).video == "h264"


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        pytest.param("--codec prores -o out.webm", ("--codec prores_ks", "WebM"), id="prores-in-webm"),
        pytest.param("--codec av1 -o out.mov", ("--codec libsvtav1", "MOV"), id="av1-in-mov"),
        pytest.param(
            "--codec prores --crf 20 -o out.mov", ("--crf", "prores_ks", "profile"), id="crf-for-prores"
        ),
        pytest.param("--codec x265 --crf 60 -o out.mp4", ("--crf 60", "0 to 51"), id="crf-out-of-range"),
        pytest.param(
            "--codec av1 --preset turbo -o out.mp4", ("--preset 'turbo'", "-2 to 13"), id="unknown-preset"
        ),
        pytest.param(
            "--codec x265 --encoder-args=-crf=abc -o out.mp4",
            ("--encoder-args", "pairs"),
            id="args-not-pairs",
        ),
        pytest.param(
            "--codec libnothing -o out.mp4", ("--codec 'libnothing'", "(libx265)"), id="unknown-encoder"
        ),
    ],
)
def test_a_choice_that_cannot_work_fails_at_once_in_one_line(
    args: str, needles: tuple[str, ...], source: Path
) -> None:
    assert_refused(source, args.split(), 2, needles)


def test_a_container_sprocket_does_not_write_is_refused(source: Path) -> None:
    assert_refused(source, ["-o", "out.avi"], 6, ("out.avi", ".mkv", ".webm"))


def assert_refused(source: Path, args: list[str], exit_code: int, needles: tuple[str, ...]) -> None:
    """``sprocket filter`` with ``args`` exits with ``exit_code`` and one error line holding
    every needle, before a job starts."""
    code, output, started = sprocket("filter", str(source), "--vf", "null", *args)
    assert code == exit_code, output
    assert not started, "a job started"
    error = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and all(n in error[0] for n in needles), output


@pytest.mark.parametrize(
    ("codec", "suffix", "pix_fmt"),
    [("x264", ".mp4", "yuv444p"), ("x265", ".mkv", "yuv422p10le"), ("vp9", ".webm", "yuv420p10le")],
)
def test_pix_fmt_is_the_output_pixel_format_on_every_chunk(
    codec: str, suffix: str, pix_fmt: str, source: Path, tmp_path: Path
) -> None:
    """``--pix-fmt`` as ffmpeg's ``-pix_fmt``: every chunk encodes to it, and the joins hold."""
    dest = tmp_path / f"out{suffix}"
    code, output, started = sprocket(
        "filter", str(source), "--vf", "hue=s=0", "--codec", codec, "--pix-fmt", pix_fmt, "-o", str(dest),
        *CHUNKS,
    )  # fmt: skip
    assert code == 0, output
    assert started["chunks"] == 4
    got, src = decode(dest), decode(source)
    assert got.pix_fmt == pix_fmt
    assert got.pts == src.pts, "a join moved, dropped or doubled a frame"


def test_a_pix_fmt_the_encoder_lacks_is_one_line_before_any_work(source: Path, tmp_path: Path) -> None:
    """Plain ffmpeg would warn and encode another format; the output would not be what was
    asked, so sprocket says so before any work."""
    dest = tmp_path / "out.mp4"
    code, output, started = sprocket(
        "filter", str(source), "--vf", "null", "--codec", "x264", "--pix-fmt", "rgb48le", "-o", str(dest)
    )
    lines = [line for line in output.splitlines() if line.strip()]
    assert code != 0 and not started and not dest.exists(), output
    assert len(lines) == 1 and "Traceback" not in output, output
    assert lines[0].startswith("error: --pix-fmt 'rgb48le': libx264 takes yuv420p, "), output
