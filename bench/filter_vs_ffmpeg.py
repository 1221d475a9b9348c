"""Benchmark: ``sprocket filter`` against plain ffmpeg and a hand-written split/parallel/concat.

Three ways to apply ``hue=s=0`` to the same clip, re-encoding with libx264 ``-preset veryfast``
(crf 23, the default of both ffmpeg and sprocket), all with the same ffmpeg binary:

  (a) ffmpeg    one ``ffmpeg -i in -vf hue=s=0 -c:v libx264 -preset veryfast -c:a copy out.mp4``
  (b) split     segment muxer (``-c copy``, 2 s pieces) -> N=2 ffmpeg processes in parallel over
                the pieces (``-an``) -> concat demuxer (``-c copy``) with the source audio muxed
                back in, timed end to end
  (c) sprocket  ``sprocket filter in --vf hue=s=0 -o out.mp4 -w 2 --json``

Runs alternate (a, b, c, a, b, c, ...) so that drift in the machine's load hits every approach
alike. Wall times are measured here with ``time.perf_counter`` around the whole process(es),
so sprocket's interpreter start-up counts against it just as ffmpeg's start-up does.

The clip is generated once and cached under ``bench/.cache/`` (git-ignored). Full run::

    python bench/filter_vs_ffmpeg.py

Quick smoke run::

    python bench/filter_vs_ffmpeg.py --seconds 6 --size 640x360 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from sprocket_cli.media.ffmpeg import ffmpeg_exe
from sprocket_cli.media.testclip import make_test_clip

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
VF = "hue=s=0"
PRESET = "veryfast"
FPS = 25
KEYINT = 50  # frames: a keyframe every 2 s at 25 fps
SEGMENT_SECONDS = 2
PARALLEL = 2  # ffmpeg processes in (b), sprocket workers in (c)

TARGET_C_OVER_A = 1.05
TARGET_C_OVER_B = 1.02
TARGET_FIRST_SEGMENT_PCT = 10.0

#: ffmpeg's own lines of stderr kept in an error message.
_STDERR_TAIL = 15


@dataclass
class Approach:
    key: str
    name: str
    run: Callable[[Path, Path, Path], dict[str, Any]]
    """(source, output, scratch dir) -> extra results; raises on failure."""
    walls: list[float] = field(default_factory=list)
    extras: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------------- helpers


def run_checked(cmd: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (no shell), capturing output; exit with ffmpeg's message when it fails."""
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-_STDERR_TAIL:])
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n  {' '.join(cmd)}\n{tail}")
    return proc


def ffmpeg(*args: str) -> list[str]:
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]


def ffmpeg_version() -> str:
    out = run_checked([ffmpeg_exe(), "-version"], what="ffmpeg -version").stdout
    return out.splitlines()[0] if out else "?"


def nproc() -> str:
    exe = shutil.which("nproc")
    if exe:
        return subprocess.run([exe], capture_output=True, text=True, check=True).stdout.strip()
    return str(len(os.sched_getaffinity(0)))


def cached_clip(seconds: float, size: str) -> Path:
    """The test clip for these settings, generated on first use."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    sec = f"{seconds:g}".replace(".", "p")
    dest = CACHE_DIR / f"testsrc2_{size}_{FPS}fps_{sec}s_k{KEYINT}_x264_aac.mp4"
    if not dest.exists():
        print(f"generating {dest.name} ...", flush=True)
        partial = dest.with_suffix(".partial.mp4")
        started = time.perf_counter()
        make_test_clip(partial, seconds=seconds, size=size, fps=FPS, keyint=KEYINT, audio=True)
        partial.replace(dest)  # atomic: an interrupted run leaves no half clip behind
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return dest


@dataclass(frozen=True)
class FrameCount:
    decoded: int
    declared: int
    """``stream.frames`` from the container (0 when it does not say)."""
    audio: bool


def count_frames(path: Path) -> FrameCount:
    """Decode the first video stream with PyAV and count the frames it yields."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        declared = stream.frames
        decoded = sum(1 for _ in container.decode(stream))
        has_audio = bool(container.streams.audio)
    return FrameCount(decoded=decoded, declared=declared, audio=has_audio)


# ------------------------------------------------------------------------------ approaches


def run_plain_ffmpeg(src: Path, out: Path, scratch: Path) -> dict[str, Any]:
    cmd = ffmpeg(
        "-i", str(src), "-vf", VF, "-c:v", "libx264", "-preset", PRESET, "-c:a", "copy", str(out)
    )  # fmt: skip
    run_checked(cmd, what="(a) ffmpeg")
    return {}


def run_split_parallel(src: Path, out: Path, scratch: Path) -> dict[str, Any]:
    pieces_dir = scratch / "pieces"
    done_dir = scratch / "done"
    pieces_dir.mkdir()
    done_dir.mkdir()

    # 1. Split on keyframes by stream copy (video only: the audio is taken from the source).
    split = ffmpeg(
        "-i", str(src), "-map", "0:v:0", "-c", "copy",
        "-f", "segment", "-segment_time", str(SEGMENT_SECONDS), "-reset_timestamps", "1",
        str(pieces_dir / "p%05d.mp4"),
    )  # fmt: skip
    run_checked(split, what="(b) split")
    pieces = sorted(pieces_dir.glob("p*.mp4"))
    if not pieces:
        raise SystemExit("(b) split produced no pieces")

    # 2. Filter and encode the pieces, PARALLEL ffmpeg processes at a time.
    def encode(piece: Path) -> Path:
        dest = done_dir / piece.name
        cmd = ffmpeg(
            "-i", str(piece), "-vf", VF, "-c:v", "libx264", "-preset", PRESET, "-an", str(dest)
        )  # fmt: skip
        run_checked(cmd, what=f"(b) encode {piece.name}")
        return dest

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        encoded = list(pool.map(encode, pieces))

    # 3. Concat demuxer by stream copy, muxing the source audio back in the same pass.
    listing = scratch / "concat.txt"
    quoted = (str(p.resolve()).replace("'", "'\\''") for p in encoded)  # concat-file quoting
    listing.write_text("".join(f"file '{q}'\n" for q in quoted))
    concat = ffmpeg(
        "-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(src),
        "-map", "0:v:0", "-map", "1:a:0?", "-c", "copy", str(out),
    )  # fmt: skip
    run_checked(concat, what="(b) concat + audio")
    return {"pieces": len(pieces)}


def run_sprocket(src: Path, out: Path, scratch: Path) -> dict[str, Any]:
    exe = shutil.which("sprocket")
    if exe is None:
        raise SystemExit("the `sprocket` command is not on PATH (pip install -e .)")
    cmd = [
        exe, "filter", str(src), "--vf", VF, "-o", str(out), "-w", str(PARALLEL),
        "--json", "--job-dir", str(scratch), "--overwrite",
    ]  # fmt: skip
    proc = run_checked(cmd, what="(c) sprocket")
    finished: dict[str, Any] | None = None
    for line in proc.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("kind") == "job_finished":
            finished = event
    if finished is None:
        raise SystemExit(f"(c) sprocket printed no job_finished event:\n{proc.stdout[-2000:]}")
    return {
        "wall_self": float(finished["wall"]),
        "first_segment": float(finished["first_segment"]),
        "peak_rss_mb": float(finished["peak_rss_mb"]),
    }


# ---------------------------------------------------------------------------------- report


def fmt_ratio(value: float, target: float) -> tuple[str, str, str]:
    return f"{value:.3f}", f"<= {target:.2f}", "yes" if value <= target else "NO"


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        # First column left-aligned (a name), the rest right-aligned (numbers).
        parts = [f"{cells[0]:<{widths[0]}}"]
        parts += [f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts)

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def report(approaches: Sequence[Approach], counts: dict[str, FrameCount], src_count: FrameCount) -> None:
    print()
    print("wall time, seconds (end to end, measured by this script)")
    rows = [
        [
            f"({a.key}) {a.name}",
            str(len(a.walls)),
            f"{statistics.median(a.walls):.2f}",
            f"{min(a.walls):.2f}",
            f"{max(a.walls):.2f}",
        ]
        for a in approaches
    ]
    print_table(rows, ["approach", "runs", "median", "min", "max"])

    by_key = {a.key: a for a in approaches}
    med = {k: statistics.median(a.walls) for k, a in by_key.items()}
    c_extras = by_key["c"].extras
    first = statistics.median(e["first_segment"] for e in c_extras)
    wall_self = statistics.median(e["wall_self"] for e in c_extras)
    peak = max(e["peak_rss_mb"] for e in c_extras)
    first_pct = 100 * first / wall_self if wall_self else float("inf")
    first_pct_e2e = 100 * first / med["c"] if med["c"] else float("inf")

    print()
    print("sprocket against the baselines")
    rows = [
        ["c/a  median wall", *fmt_ratio(med["c"] / med["a"], TARGET_C_OVER_A)],
        ["c/b  median wall", *fmt_ratio(med["c"] / med["b"], TARGET_C_OVER_B)],
        [
            "first playable segment (median)",
            f"{first:.2f} s = {first_pct:.1f}%",
            f"<= {TARGET_FIRST_SEGMENT_PCT:.0f}% of wall",
            "yes" if first_pct <= TARGET_FIRST_SEGMENT_PCT else "NO",
        ],
        ["peak coordinator RSS (max)", f"{peak:.1f} MiB", "-", "-"],
    ]
    print_table(rows, ["metric", "measured", "target", "met"])
    print(
        f"(first segment % is of sprocket's own median wall, {wall_self:.2f} s; "
        f"of the end-to-end median {med['c']:.2f} s it is {first_pct_e2e:.1f}%)"
    )

    print()
    print("frame counts (PyAV: decoded frames / stream.frames; last run's outputs)")
    rows = [
        [
            "input",
            str(src_count.decoded),
            str(src_count.declared),
            "yes" if src_count.audio else "no",
            "-",
        ]
    ]
    for a in approaches:
        fc = counts[a.key]
        same = fc.decoded == src_count.decoded and fc.audio == src_count.audio
        rows.append(
            [
                f"({a.key}) {a.name}",
                str(fc.decoded),
                str(fc.declared),
                "yes" if fc.audio else "no",
                "yes" if same else "NO",
            ]
        )
    print_table(rows, ["file", "decoded", "declared", "audio", "matches input"])


# ------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="clip length (default 60)")
    parser.add_argument("--size", default="1920x1080", help="clip size WxH (default 1920x1080)")
    parser.add_argument("--runs", type=int, default=3, help="runs per approach (default 3)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"ffmpeg: {ffmpeg_exe()}")
    print(f"        {ffmpeg_version()}")
    print(f"nproc:  {nproc()}")

    src = cached_clip(args.seconds, args.size)
    print(f"input:  {src}")
    print(f"        {args.size} {FPS} fps, {args.seconds:g} s, keyframe every {KEYINT} frames")
    print(f"filter: -vf {VF}, libx264 -preset {PRESET}; {PARALLEL} parallel; {args.runs} run(s)")

    approaches = [
        Approach("a", "ffmpeg", run_plain_ffmpeg),
        Approach("b", "split+parallel+concat", run_split_parallel),
        Approach("c", "sprocket", run_sprocket),
    ]

    with tempfile.TemporaryDirectory(prefix="sprocket-bench-") as tmp:
        work = Path(tmp)
        outputs = {a.key: work / f"out_{a.key}.mp4" for a in approaches}
        print()
        for run in range(1, args.runs + 1):
            for a in approaches:
                scratch = Path(tempfile.mkdtemp(prefix=f"run{run}_{a.key}_", dir=work))
                outputs[a.key].unlink(missing_ok=True)
                started = time.perf_counter()
                extra = a.run(src, outputs[a.key], scratch)
                wall = time.perf_counter() - started
                shutil.rmtree(scratch)  # not timed: keeps the disk from filling on long runs
                a.walls.append(wall)
                a.extras.append(extra)
                detail = "".join(f"  {k}={v:.2f}" for k, v in extra.items() if k != "pieces")
                print(f"run {run}/{args.runs}  ({a.key}) {a.name:<22} {wall:7.2f} s{detail}")
                sys.stdout.flush()

        print()
        print("counting frames ...", flush=True)
        src_count = count_frames(src)
        counts = {a.key: count_frames(outputs[a.key]) for a in approaches}

    report(approaches, counts, src_count)
    all_match = all(c.decoded == src_count.decoded and c.audio == src_count.audio for c in counts.values())
    if not all_match:
        print("\nWARNING: an output's frame count or audio differs from the input's")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
