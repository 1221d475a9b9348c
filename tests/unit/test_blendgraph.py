"""The blend graph, run by real ffmpeg over chunks of frame-coded clips, checked on every frame.

Clip a carries its frame index in its top half, clip b in its bottom half, both black elsewhere,
so ``lighten``/``addition`` (and green-screen keying) keep both codes readable in the output.
The expected pairing is computed here from the clips' own timestamps with exact fractions:
output frame k of a (time t) shows the b frame on screen at ``t - offset`` on b's clock (the
latest one at or before it), or no b at all before b's first frame and from the end of its last.
"""

from __future__ import annotations

import bisect
import itertools
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest

from sprocket_cli.cli import boundary
from sprocket_cli.errors import UsageError
from sprocket_cli.media.blendgraph import VideoShape, chunk_blend, output_duration, output_end_pts
from sprocket_cli.media.blendoptions import BLEND_MODES, DURATIONS, BlendOptions
from sprocket_cli.media.ffmpeg import ffmpeg_exe, run_ffmpeg
from sprocket_cli.media.probe import MediaInfo, probe
from tests.framecode import (
    BOTTOM,
    TOP,
    CodedFrame,
    UnreadableCode,
    assert_every_frame,
    expected_frames,
    frame_times,
    make_framecode_clip,
    read_codes,
)


@dataclass(frozen=True)
class Pair:
    """Two coded clips and how to blend them."""

    a: Path
    b: Path
    options: BlendOptions
    chunk_keyframes: tuple[int, ...]
    """Indices into a's keyframe list where chunks start (0 = the first keyframe)."""


def run_chunk(
    pair: Pair, a: MediaInfo, b: MediaInfo, start: int, end: int, dest: Path, *, last: bool
) -> Path:
    """One chunk the way a worker runs it: seek a to its keyframe, trim by pts, blend, encode."""
    options = pair.options
    plan = chunk_blend(VideoShape.of(a), VideoShape.of(b), options, start, end)
    seek = a.keyframe_pts[bisect.bisect_right(a.keyframe_pts, start) - 1]
    a_args = ["-ss", repr(float(seek * a.time_base)), "-noaccurate_seek", "-seek_timestamp", "1"]
    # The decode stage's trim: the last chunk is not trimmed at the end.
    trim = f"trim=start_pts={start}" + ("" if last else f":end_pts={end}")
    args = ["-copyts", *a_args, "-i", str(pair.a)]
    if plan.b is not None:
        args += [*plan.b.input_args(), "-i", str(pair.b)]
    args += [
        "-filter_complex", f"[0:v]{trim}[a];{plan.filter_complex}", "-map", "[v]",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
        "-enc_time_base:v", "filter", "-video_track_timescale", str(a.time_base.denominator),
        "-y", str(dest),
    ]  # fmt: skip
    run_ffmpeg(args, what=f"blend chunk {dest.name}")
    return dest


def run_chunks(pair: Pair, out: Path, *, whole: bool = False) -> list[CodedFrame]:
    """Blend a in chunks (or in one piece) and read the codes of every output frame in order."""
    a, b = probe(str(pair.a)), probe(str(pair.b))
    end = output_end_pts(VideoShape.of(a), VideoShape.of(b), pair.options)
    starts = [a.start_pts] if whole else [a.keyframe_pts[i] for i in pair.chunk_keyframes]
    bounds = [*starts, end]
    frames: list[CodedFrame] = []
    for i, (start, stop) in enumerate(itertools.pairwise(bounds)):
        dest = run_chunk(pair, a, b, start, stop, out / f"chunk{i}.mp4", last=i == len(starts) - 1)
        frames += read_codes(dest, (TOP, BOTTOM))
    return frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("blend-clips")


@pytest.fixture(scope="module")
def a25(clips: Path) -> Path:
    """4 s at 25 fps, a keyframe every 0.8 s, code in the top half."""
    return make_framecode_clip(clips / "a25.mp4", seconds=4, fps=25, keyint=20, region=TOP)


@pytest.fixture(scope="module")
def b30(clips: Path) -> Path:
    """2.5 s at 30 fps, 192x144, a keyframe every 0.3 s (never on a's), code in the bottom half.

    With the offset below, a's chunk at 0.8 s needs b's frame 8 (0.267 s), the last before b's
    keyframe 9 (0.3 s): a seek that lands on keyframe 9 instead of 0 loses it.
    """
    return make_framecode_clip(
        clips / "b30.mp4", seconds=2.5, fps=30, keyint=9, size=(192, 144), region=BOTTOM
    )


# b from 0.52 s to 3.02 s on a's timeline. Chunks start on a's keyframes 0, 0.8, 2.4 and 3.2 s:
# b starts inside the first chunk, ends inside the third, and is absent from the fourth.
# 0.52 s puts a b frame exactly on every fifth a frame (0.52 + j/30 = k/25), so ties are tested.
CHUNKS_25 = (0, 1, 3, 4)


# 0.5200001 moves every b frame a hair after those ties: b's shift onto a's ticks must round up.
@pytest.mark.parametrize("offset", [0.52, 0.5200001])
def test_chunks_pair_by_presentation_time(a25: Path, b30: Path, tmp_path: Path, offset: float) -> None:
    pair = Pair(a25, b30, BlendOptions(mode="lighten", offset=offset), CHUNKS_25)
    expected = expected_frames(pair.a, pair.b, pair.options.offset)
    assert {b for _, (_, b) in expected} >= {None, 1, 74}  # absent, early and last frame of b all occur
    # a frame 13 + 5m meets b frame 6m at the same instant; a hair later, b's previous frame shows.
    ties = [expected[13 + 5 * m][1][1] for m in range(13)]
    assert ties == (
        [6 * m for m in range(13)] if offset == 0.52 else [None, *(6 * m - 1 for m in range(1, 13))]
    )
    assert_every_frame(run_chunks(pair, tmp_path), expected)


def test_whole_range_in_one_process_matches_chunks(a25: Path, b30: Path, tmp_path: Path) -> None:
    pair = Pair(a25, b30, BlendOptions(mode="lighten", offset=0.52), CHUNKS_25)
    assert_every_frame(
        run_chunks(pair, tmp_path, whole=True), expected_frames(pair.a, pair.b, pair.options.offset)
    )


def test_negative_offset_late_start_and_longest_holds_a(clips: Path, tmp_path: Path) -> None:
    """24 fps a (MP4, 1/12288 s ticks, first frame at 0.1 s) with 25 fps b (Matroska, 1 ms ticks,
    first frame at 0.2 s).

    The offset -0.3 s skips 0.3 s into b; b outlasts a, so ``longest`` holds a's last frame.
    """
    a = make_framecode_clip(clips / "a24.mp4", seconds=3, fps=24, keyint=18, region=TOP, start=0.1)
    b = make_framecode_clip(clips / "b25.mkv", seconds=4, fps=25, keyint=25, region=BOTTOM, start=0.2)
    pair = Pair(a, b, BlendOptions(mode="addition", offset=-0.3, duration="longest", fit="crop"), (0, 1, 3))
    a_end = frame_times(a)[1]
    end = a_end + Fraction(7, 10)  # b's end: 4 s of b, less the 0.3 s skipped, after a's 3 s
    expected = expected_frames(pair.a, pair.b, pair.options.offset, end=end)
    assert len(expected) == 72 + 17 and expected[-1][1] == (71, 99)
    assert_every_frame(run_chunks(pair, tmp_path), expected)


def test_chroma_key_shows_a_through_the_green(a25: Path, clips: Path, tmp_path: Path) -> None:
    """b's top half is pure green over its code; keyed out, it shows a's code from a's top half."""
    b = make_framecode_clip(
        clips / "b30-green.mp4", seconds=2.5, fps=30, keyint=17, size=(192, 144), region=BOTTOM, green=TOP
    )
    pair = Pair(
        a25, b, BlendOptions(mode="chroma", key_color="0x00FF00", similarity=0.3, offset=0.52), CHUNKS_25
    )
    with pytest.raises(UnreadableCode):  # unkeyed, the green is neither black nor white
        read_codes(b, (TOP,))
    assert_every_frame(run_chunks(pair, tmp_path), expected_frames(pair.a, pair.b, pair.options.offset))


def test_fit_modes_bring_b_to_a_size(tmp_path: Path) -> None:
    """A 16:9 b (black, a white stripe 64 px wide down its middle) over a black 4:3 a.

    pad: b scaled by 160/192 into 160x90 between black bars; crop: scaled by 120/108 to cover,
    sides cut; stretch: x by 160/192, y by 120/108.
    """
    import av

    shape_a = VideoShape(160, 120, Fraction(25), Fraction(1, 25), 0, 4, 5)
    shape_b = VideoShape(192, 108, Fraction(25), Fraction(1, 25), 0, 4, 5)
    seen = {}
    for fit in ("pad", "crop", "stretch"):
        plan = chunk_blend(shape_a, shape_b, BlendOptions(mode="lighten", fit=fit), 0, 5)
        assert plan.b is not None and plan.b.seek is None
        dest = tmp_path / f"{fit}.mkv"
        stripe = "color=black:s=192x108:r=25:d=0.2,drawbox=x=64:y=0:w=64:h=108:color=white:t=fill"
        args = [
            "-copyts", "-f", "lavfi", "-i", "color=black:s=160x120:r=25:d=0.2", "-f", "lavfi", "-i", stripe,
            "-filter_complex", f"[0:v]null[a];{plan.filter_complex}", "-map", "[v]",
            "-c:v", "ffv1", "-y", str(dest),
        ]  # fmt: skip
        run_ffmpeg(args, what=f"fit {fit}")
        with av.open(str(dest)) as container:
            frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
        assert len(frames) == 5 and frames[0].shape == (120, 160)
        white = frames[0] > 128
        seen[fit] = (int(white[:, 80].sum()), int(white[60, :].sum()))  # (rows, columns) of white
    # (white rows, white columns); a column more or less where the scaler blends the stripe's edge
    expected = {"pad": (90, 53), "crop": (120, 71), "stretch": (120, 53)}
    for fit, (rows, columns) in expected.items():
        assert seen[fit][0] == rows and abs(seen[fit][1] - columns) <= 1, (fit, seen[fit])


@pytest.mark.parametrize(
    ("mode", "opacity", "level"),
    [
        ("normal", 0.0, 50),
        ("normal", 0.25, 87.5),
        ("normal", 1.0, 200),
        ("screen", 0.0, 50),
        ("chroma", 0.5, 125),
    ],
)
def test_opacity_is_how_much_of_b_shows(tmp_path: Path, mode: str, opacity: float, level: float) -> None:
    """Gray 50 a, gray 200 b: opacity 0 leaves a, 1 is the full mode, in between mixes linearly.

    For chroma, every pixel counts: ffmpeg's chromakey alone keys out b's gray top row.
    """
    shape = VideoShape(16, 16, Fraction(25), Fraction(1, 25), 0, 2, 3)
    plan = chunk_blend(shape, shape, BlendOptions(mode=mode, opacity=opacity), 0, 3)
    dest = tmp_path / "out.rgb"
    args = [
        "-copyts", "-f", "lavfi", "-i", "color=0x323232:s=16x16:r=25:d=0.12",
        "-f", "lavfi", "-i", "color=0xC8C8C8:s=16x16:r=25:d=0.12",
        "-filter_complex", f"[0:v]null[a];{plan.filter_complex}", "-map", "[v]",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", str(dest),
    ]  # fmt: skip
    run_ffmpeg(args, what=f"{mode} at opacity {opacity}")
    pixels = dest.read_bytes()
    assert len(pixels) == 3 * 16 * 16 * 3
    assert max(abs(p - level) for p in pixels) < 3


def test_b_absent_from_a_chunk_is_not_opened() -> None:
    a = VideoShape(160, 120, Fraction(25), Fraction(1, 12800), 0, 99 * 512, 100 * 512)
    b = VideoShape(160, 120, Fraction(30), Fraction(1, 15360), 0, 29 * 512, 30 * 512)  # 1 s
    options = BlendOptions(mode="screen", offset=2)
    assert chunk_blend(a, b, options, 0, 25 * 512).b is None  # 0-1 s: b starts at 2 s
    assert chunk_blend(a, b, options, 75 * 512, 100 * 512).b is None  # 3-4 s: b ended at 3 s
    middle = chunk_blend(a, b, options, 50 * 512, 75 * 512).b  # 2-3 s: from b's start
    assert middle is not None and middle.seek is None and middle.input_args() == []
    late = chunk_blend(a, b, BlendOptions(mode="screen", offset=-0.5), 0, 25 * 512).b
    assert late is not None and late.seek == pytest.approx(0.5 - 3 / 30)  # with pre-roll


@pytest.mark.parametrize(
    ("rule", "expected"), [("first", 4.0), ("shortest", 3.02), ("longest", 4.0)]
)  # fmt: skip
def test_output_duration_rules(rule: str, expected: float) -> None:
    assert output_duration(4.0, 2.5, 0.52, rule) == pytest.approx(expected)


def test_output_end_pts_on_a_timeline() -> None:
    a = VideoShape(160, 120, Fraction(25), Fraction(1, 12800), 0, 99 * 512, 100 * 512)  # 4 s
    b = VideoShape(192, 144, Fraction(30), Fraction(1, 15360), 0, 74 * 512, 75 * 512)  # 2.5 s
    ends = {rule: output_end_pts(a, b, BlendOptions(offset=0.52, duration=rule)) for rule in DURATIONS}
    assert ends == {"first": 51200, "shortest": 38656, "longest": 51200}  # 3.02 s = 38656 ticks
    late = BlendOptions(offset=2, duration="longest")
    assert output_end_pts(a, b, late) == 4.5 * 12800


def test_output_duration_longest_and_shortest_edges() -> None:
    assert output_duration(3.0, 4.0, -0.3, "longest") == pytest.approx(3.7)
    assert output_duration(3.0, 4.0, 5.0, "shortest") == 3.0  # b starts after a: a alone
    with pytest.raises(UsageError, match="before a starts"):
        output_duration(3.0, 1.0, -2.0, "shortest")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "glitter"}, r"unknown blend mode 'glitter'; valid modes: addition, .*overlay.*chroma"),
        ({"opacity": 1.5}, r"--opacity must be in \[0, 1\], not 1.5"),
        ({"opacity": float("nan")}, r"--opacity"),
        ({"similarity": 0.0}, r"--similarity must be in \(0, 1\]"),
        ({"blend_edge": -0.1}, r"--blend-edge"),
        ({"key_color": "green"}, r"--key-color must look like 0x00FF00"),
        ({"fit": "zoom"}, r"--fit 'zoom' is unknown; valid: pad, crop, stretch"),
        ({"duration": "all"}, r"--duration 'all' is unknown"),
        ({"offset": float("inf")}, r"--offset"),
    ],
)
def test_invalid_options_raise_usage_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as info:
        BlendOptions(**kwargs)  # type: ignore[arg-type]
    # As the user reads it: the CLI's boundary names the flag.
    assert re.search(message, boundary.message(info.value))
    assert "\n" not in str(info.value)


def test_blend_modes_match_this_ffmpeg() -> None:
    helptext = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-h", "filter=blend"], capture_output=True, text=True, check=True
    ).stdout
    section = helptext.split("c0_mode", 1)[1].split("c1_mode", 1)[0]
    assert set(re.findall(r"^\s{5}(\w+)\s+\d+\s", section, re.MULTILINE)) == set(BLEND_MODES)
