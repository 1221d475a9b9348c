"""Benchmark: ``sprocket blend`` against one plain ffmpeg ``-filter_complex`` doing the same blend.

Two 1080p clips of the same length (a: testsrc2 at 25 fps, a keyframe every 2 s; b: testsrc2
at 30 fps, a keyframe every 1.7 s, so no keyframe and no frame time lines up with a's), blended
with ``--mode overlay --opacity 0.5``, re-encoded with libx264 ``-preset veryfast`` (crf 23):

  (a) ffmpeg    one ffmpeg process over the whole clip with the *same* filter graph the workers
                run per chunk (``blendgraph.chunk_blend`` over a's whole range), audio copied
  (b) sprocket  ``sprocket blend a b -o out --mode overlay --opacity 0.5 -w 2 --json``

Runs alternate (a, b, a, b, ...); wall time is measured around each whole process. Also
reported: sprocket's time to the first playable segment, and that both outputs decode to the
same number of frames. Clips are cached under ``bench/.cache/``. Full run (about 10 minutes
on 2 cores)::

    python bench/blend_vs_ffmpeg.py

Quick smoke run::

    python bench/blend_vs_ffmpeg.py --seconds 6 --size 640x360 --runs 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchkit import sprocket_command
from filter_vs_ffmpeg import CACHE_DIR, count_frames, ffmpeg, ffmpeg_version, nproc, print_table, run_checked

from sprocket_cli.media.blendgraph import VideoShape, chunk_blend, output_end_pts
from sprocket_cli.media.blendoptions import BlendOptions
from sprocket_cli.media.probe import probe
from sprocket_cli.media.testclip import make_test_clip

PRESET = "veryfast"
MODE, OPACITY = "overlay", 0.5
WORKERS = 2
TARGET = 1.05


def clip(name: str, seconds: float, size: str, fps: int, keyint: int) -> Path:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    dest = CACHE_DIR / f"blend_{name}_{size}_{fps}fps_{seconds:g}s_k{keyint}.mp4"
    if not dest.exists():
        print(f"generating {dest.name} ...", flush=True)
        partial = dest.with_suffix(".partial.mp4")
        make_test_clip(partial, seconds=seconds, size=size, fps=fps, keyint=keyint)
        partial.replace(dest)
    return dest


def run_ffmpeg_baseline(a: Path, b: Path, out: Path) -> dict[str, float]:
    ia, ib = probe(str(a)), probe(str(b))
    sa, sb = VideoShape.of(ia), VideoShape.of(ib)
    options = BlendOptions(mode=MODE, opacity=OPACITY)
    plan = chunk_blend(sa, sb, options, sa.start_pts, output_end_pts(sa, sb, options), b_label="1:v:0")
    graph = f"[0:v:0]null[a];{plan.filter_complex};[v]format=yuv420p[out]"
    cmd = ffmpeg(
        "-copyts", "-i", str(a), "-i", str(b), "-filter_complex", graph, "-map", "[out]", "-map", "0:a:0",
        "-c:v", "libx264", "-preset", PRESET, "-crf", "23", "-enc_time_base:v", "filter", "-c:a", "copy",
        str(out),
    )  # fmt: skip
    run_checked(cmd, what="(a) ffmpeg")
    return {}


def run_sprocket(a: Path, b: Path, out: Path, scratch: Path) -> dict[str, float]:
    exe = sprocket_command()
    cmd = [
        exe, "blend", str(a), str(b), "-o", str(out), "--mode", MODE, "--opacity", str(OPACITY),
        "-w", str(WORKERS), "--json", "--job-dir", str(scratch), "--overwrite",
    ]  # fmt: skip
    proc = run_checked(cmd, what="(b) sprocket")
    finished = [json.loads(x) for x in proc.stdout.splitlines() if '"job_finished"' in x]
    if not finished:
        raise SystemExit(f"(b) sprocket printed no job_finished event:\n{proc.stdout[-2000:]}")
    return {"first_segment": float(finished[-1]["first_segment"])}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    a = clip("a", args.seconds, args.size, 25, 50)
    b = clip("b", args.seconds, args.size, 30, 51)
    print(f"{ffmpeg_version()}; {nproc()} cores; {args.seconds:g} s {args.size}; mode {MODE} {OPACITY}")
    walls: dict[str, list[float]] = {"ffmpeg": [], "sprocket": []}
    firsts: list[float] = []
    with tempfile.TemporaryDirectory(prefix="sprocket-blend-bench-") as tmp:
        scratch = Path(tmp)
        outs = {"ffmpeg": scratch / "ffmpeg.mp4", "sprocket": scratch / "sprocket.mp4"}
        for run in range(args.runs):
            for key in ("ffmpeg", "sprocket"):
                started = time.perf_counter()
                if key == "ffmpeg":
                    run_ffmpeg_baseline(a, b, outs[key])
                else:
                    firsts.append(run_sprocket(a, b, outs[key], scratch / f"jobs{run}")["first_segment"])
                walls[key].append(time.perf_counter() - started)
                print(f"  run {run + 1} {key}: {walls[key][-1]:.1f} s", flush=True)
        frames = {key: count_frames(path).decoded for key, path in outs.items()}
    base, ours = statistics.median(walls["ffmpeg"]), statistics.median(walls["sprocket"])
    print()
    print_table(
        [
            ["(a) ffmpeg -filter_complex", f"{base:.1f}", "1.000", "-", str(frames["ffmpeg"])],
            [
                f"(b) sprocket blend -w {WORKERS}",
                f"{ours:.1f}",
                f"{ours / base:.3f}",
                f"{statistics.median(firsts):.2f} s ({100 * statistics.median(firsts) / ours:.1f}%)",
                str(frames["sprocket"]),
            ],
        ],
        ["approach", "wall s (median)", "ratio", "first segment", "frames"],
    )
    verdict = "meets" if ours / base <= TARGET else "misses"
    print(f"\nratio (b)/(a) {ours / base:.3f} {verdict} the target <= {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
