"""Chunked equals whole: ``sprocket filter`` against plain ``ffmpeg -vf`` on the same binary.

Both sides encode losslessly (x264 at quality 0), so decoded frames must be bit-identical:
same count, same timestamps, same pixels. The clip has motion, an NTSC frame rate
(30000/1001) and a keyframe every 40 frames, cut into 2 s chunks: at least three chunk
boundaries, none of them on a whole number of seconds.
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.conftest import ClipMaker

runner = CliRunner()


@pytest.fixture(scope="module")
def ntsc(make_clip: ClipMaker) -> Path:
    return make_clip(seconds=7, size="192x108", fps="30000/1001", keyint=40, audio=False)


def frames(path: Path, *, as_stored: bool = False) -> list[tuple[Fraction, str]]:
    """(seconds from the first frame, or as stored with ``as_stored``, md5) of every decoded
    frame, read from the times stored in the file: framemd5 with passthrough and the stream's
    own time base, which re-stamp nothing."""
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
         "-fps_mode", "passthrough", "-enc_time_base:v", "demux", "-f", "framemd5", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    tb = Fraction(next(line for line in out.splitlines() if line.startswith("#tb 0:")).split(":")[1].strip())
    rows = [line.split(",") for line in out.splitlines() if line and not line.startswith("#")]
    pts = [int(row[2]) * tb for row in rows]
    base = 0 if as_stored else pts[0]
    return [(p - base, row[5].strip()) for p, row in zip(pts, rows, strict=True)]


def plain_ffmpeg(src: Path, vf: str, dest: Path) -> list[tuple[Fraction, str]]:
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(src), "-vf", vf,
         "-c:v", "libx264", "-qp", "0", "-an", "-y", str(dest)],
        check=True,
    )  # fmt: skip
    return frames(dest)


def sprocket(src: Path, vf: str, dest: Path, *extra: str) -> tuple[int, str, dict[str, object]]:
    """Exit code, output and the JobStarted event of a lossless ``sprocket filter`` run."""
    result = runner.invoke(
        app,
        ["filter", str(src), "--vf", vf, "-o", str(dest), "--crf", "0", "-w", "2",
         "--chunk-seconds", "2", "--first-chunk-seconds", "2", "--json",
         "--job-dir", str(dest.parent / "jobs"), *extra],
    )  # fmt: skip
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    started = next((e for e in events if e.get("kind") == "job_started"), {})
    return result.exit_code, result.output, started


def assert_same_as_ffmpeg(src: Path, vf: str, tmp_path: Path) -> dict[str, object]:
    want = plain_ffmpeg(src, vf, tmp_path / "plain.mp4")
    code, output, started = sprocket(src, vf, tmp_path / "sprocket.mp4")
    assert code == 0, output
    got = frames(tmp_path / "sprocket.mp4")
    assert len(got) == len(want), f"{vf}: {len(got)} frames, ffmpeg gives {len(want)}"
    assert [pts for pts, _ in got] == [pts for pts, _ in want], f"{vf}: timestamps differ"
    bad = [i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g[1] != w[1]]
    assert not bad, f"{vf}: frames {bad[:10]} differ from ffmpeg's"
    return started


@pytest.mark.parametrize(
    "vf",
    [
        "hue=s=0,eq=contrast=1.3",  # per-frame
        "drawbox=enable='between(t,1.2,3.1)':c=red:t=fill,fade=t=out:st=5:d=1.5",  # time expressions
        "fps=12",  # a rate change on a fixed grid: each chunk's first frame sits on it
        "scale=96:-2,fps=15",
        "colorbalance=rs=0.3",  # works in RGB: the encoder takes 4:4:4, as in plain ffmpeg
        "setpts=2*PTS",  # a whole-number stretch: each chunk lands at twice its own time
        "hue=s=0,setpts=PTS/0.5,tpad=stop=10",  # padding: only the last chunk keeps it
        # Frame numbers: each chunk counts from its first frame's number in the source.
        "hue=h=n*7,drawbox=enable='lt(mod(n,40),10)':c=red:t=fill",
        "tmix=frames=3,drawtext=text='%{n}':fontsize=24:fontcolor=white",
    ],
)
def test_per_frame_time_and_rate_filters_split_exactly(ntsc: Path, tmp_path: Path, vf: str) -> None:
    started = assert_same_as_ffmpeg(ntsc, vf, tmp_path)
    assert started["chunks"] >= 4
    assert started["notices"] == []


@pytest.mark.parametrize(
    "vf",
    [
        "tmix=frames=5",
        "deflicker=size=7",
        "atadenoise",
        "yadif",
        "bwdif",  # a frame per field: twice the frames, each inside its source frame's time
        "yadif=mode=1",
        "tblend=all_mode=average",  # no frame for the first: the output starts one frame later
        "tmix=frames=3,hue=s=0,deflicker=size=4",  # windows add up
        "lagfun=decay=0.8",  # a recursive decay: exact once the start's share truncates away
    ],
)
def test_windowed_filters_split_with_pre_and_post_roll(ntsc: Path, tmp_path: Path, vf: str) -> None:
    started = assert_same_as_ffmpeg(ntsc, vf, tmp_path)
    assert started["chunks"] >= 4
    assert started["notices"] == []


@pytest.mark.parametrize(
    "vf",
    [
        "fade=in:0:30",
        "fade=t=in:s=100:n=30",  # black until frame 100, across a chunk boundary
        "fade=t=out:s=70:n=40:c=red,hue=h=n*5",  # across a boundary; later chunks all red
        "tmix=frames=3,fade=out:90:20",  # windows and a fade's pre-roll add up
    ],
)
def test_fades_by_frame_count_split_with_a_fade_long_pre_roll(ntsc: Path, tmp_path: Path, vf: str) -> None:
    started = assert_same_as_ffmpeg(ntsc, vf, tmp_path)
    assert started["chunks"] >= 3
    assert started["notices"] == []


@pytest.mark.parametrize(
    "vf",
    [
        "trim=start=1.2:end=6.5,setpts=PTS-STARTPTS",
        # Time expressions count from the cut; windows do not read across it.
        "hue=s=0,trim=start_frame=40:end_frame=170,setpts=PTS-STARTPTS,tmix=frames=3,fade=t=in:st=0:d=1",
        "trim=start=1:duration=4.5,setpts=PTS-STARTPTS,fps=12",  # fps's grid from the cut
    ],
)
def test_a_cut_that_restarts_time_splits_over_the_frames_it_keeps(
    ntsc: Path, tmp_path: Path, vf: str
) -> None:
    started = assert_same_as_ffmpeg(ntsc, vf, tmp_path)
    assert started["chunks"] >= 2
    assert started["notices"] == []


@pytest.mark.parametrize(
    ("vf", "named"),
    [
        ("setpts=0.2*PTS", "setpts=0.2*PTS"),  # faster than 4x (test_fidelity_retime.py)
        ("select='lt(mod(t,2),1)',setpts=N/FRAME_RATE/TB,tmix=frames=5", "select="),  # t: not by n
        ("trim=start=1:end=3", "trim=start=1:end=3"),  # no restart: ffmpeg keeps the source's times
        ("fade=in:0:300", "fade=in:0:300"),  # a fade longer than a chunk is worth decoding twice
        ("reverse", "reverse"),
    ],
)
def test_chains_that_cannot_split_run_on_one_worker_and_say_why(
    ntsc: Path, tmp_path: Path, vf: str, named: str
) -> None:
    started = assert_same_as_ffmpeg(ntsc, vf, tmp_path)
    assert started["chunks"] == 1
    notices = started["notices"]
    assert isinstance(notices, list) and len(notices) == 1
    assert named in notices[0] and "one worker" in notices[0]


def test_no_split_fallback_refuses_before_any_work(ntsc: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.mp4"
    code, output, started = sprocket(ntsc, "hue=s=0,reverse", dest, "--no-split-fallback")
    assert code == 2
    assert "'reverse' is whole-stream" in output
    assert "Traceback" not in output
    assert started == {}
    assert not dest.exists()
    assert not list(tmp_path.glob("jobs/*"))  # no job folder was made


def test_windows_across_sparse_keyframes(make_clip: ClipMaker, tmp_path: Path) -> None:
    """Keyframes every 5 s, chunks of 2 s: the pre-roll starts between keyframes."""
    src = make_clip(seconds=7, size="192x108", fps="30000/1001", keyint=150, audio=False)
    assert_same_as_ffmpeg(src, "tmix=frames=9", tmp_path)


def test_a_chain_that_leaves_no_frame_fails_once_and_says_so(ntsc: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.mp4"
    code, output, _ = sprocket(ntsc, "select=0", dest)
    assert code == 8
    failures = [json.loads(line) for line in output.splitlines() if '"task_failed"' in line]
    assert len(failures) == 1 and failures[0]["will_retry"] is False  # it would fail again
    assert "left no frame to encode" in failures[0]["error"]
    assert not dest.exists()
