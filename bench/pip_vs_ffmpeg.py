"""Benchmark: picture-in-picture with ``sprocket filter --filter-complex`` against one plain
``ffmpeg -filter_complex`` running the same graph.

Two 1080p clips of the same length (main: testsrc2 at 25 fps, a keyframe every 2 s; inset:
testsrc2 at 30 fps, a keyframe every 1.7 s, so no keyframe and no frame time lines up with the
main clip's), the inset scaled to a quarter and laid over the main clip's top right corner
(the original Sprocket's picture_in_picture.pipe), re-encoded with libx264 ``-preset
veryfast`` (crf 23, both tools' default), the main clip's audio copied:

  (a) ffmpeg    ``ffmpeg -i main -i inset -filter_complex GRAPH -map 0:a ...``, one process
  (b) sprocket  ``sprocket filter main inset --filter-complex GRAPH -o out -w 2 --json``

Runs alternate (a, b, a, b, ...); wall and CPU time are measured around each whole process
(:func:`benchkit.measure`). Also reported: sprocket's time to its first playable segment,
and the frames each output decodes to. Clips are cached under ``bench/.cache/``. Full run
(1080p, 60 s)::

    python bench/pip_vs_ffmpeg.py

Shorter clip (a smoke run)::

    python bench/pip_vs_ffmpeg.py --seconds 6 --size 640x360 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchkit import CACHE_DIR, count_frames, ffmpeg, ffmpeg_version, measure, nproc, print_table, run_checked

from sprocket_cli.media.testclip import make_test_clip

GRAPH = "[1:v]scale=iw/4:-2[p];[0:v][p]overlay=W-w-16:16"
PRESET, CRF = "veryfast", 23
WORKERS = 2
ROOT = Path(__file__).resolve().parent.parent


def clip(name: str, seconds: float, size: str, fps: int, keyint: int) -> Path:
    """A testsrc2 clip with a tone, made once and kept in :data:`CACHE_DIR`."""
    dest = CACHE_DIR / f"pip_{name}_{size}_{fps}fps_{seconds:g}s_k{keyint}.mp4"
    if not dest.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        print(f"generating {dest.name} ...", flush=True)
        partial = dest.with_suffix(".partial.mp4")
        make_test_clip(partial, seconds=seconds, size=size, fps=fps, keyint=keyint)
        partial.replace(dest)
    return dest


def run_ffmpeg(main: Path, inset: Path, out: Path) -> None:
    cmd = ffmpeg(
        "-i", str(main), "-i", str(inset), "-filter_complex", f"{GRAPH}[v]", "-map", "[v]", "-map", "0:a:0",
        "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF), "-c:a", "copy", str(out),
    )  # fmt: skip
    run_checked(cmd, what="(a) ffmpeg")


def run_sprocket(main: Path, inset: Path, out: Path, scratch: Path) -> float:
    """(b), through this interpreter (the installed script may point at another checkout);
    its first segment, seconds from the start."""
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    cmd = [
        sys.executable, "-m", "sprocket_cli", "filter", str(main), str(inset), "--filter-complex", GRAPH,
        "-o", str(out), "-w", str(WORKERS), "--json", "--job-dir", str(scratch), "--overwrite",
    ]  # fmt: skip
    proc = run_checked(cmd, what="(b) sprocket")
    finished = [json.loads(x) for x in proc.stdout.splitlines() if '"job_finished"' in x]
    if not finished:
        raise SystemExit(f"(b) sprocket printed no job_finished event:\n{proc.stdout[-2000:]}")
    return float(finished[-1]["first_segment"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of both clips (default 60)")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--runs", type=int, default=2, help="alternating runs of each (median taken)")
    args = parser.parse_args()
    main_clip = clip("main", args.seconds, args.size, 25, 50)
    inset = clip("inset", args.seconds, args.size, 30, 51)
    print(
        f"{ffmpeg_version()}; {nproc()} cores; {args.seconds:g} s {args.size}; load {os.getloadavg()[0]:.2f}"
    )
    walls: dict[str, list[float]] = {"ffmpeg": [], "sprocket": []}
    cpus: dict[str, list[float]] = {"ffmpeg": [], "sprocket": []}
    firsts: list[float] = []
    with tempfile.TemporaryDirectory(prefix="sprocket-pip-bench-") as tmp:
        scratch = Path(tmp)
        outs = {"ffmpeg": scratch / "ffmpeg.mp4", "sprocket": scratch / "sprocket.mp4"}
        for run in range(args.runs):
            a = measure(lambda: run_ffmpeg(main_clip, inset, outs["ffmpeg"]))
            jobs = scratch / f"jobs{run}"
            b = measure(lambda: run_sprocket(main_clip, inset, outs["sprocket"], jobs))  # noqa: B023 -- measure calls it at once
            firsts.append(b.value)
            for key, m in (("ffmpeg", a), ("sprocket", b)):
                walls[key].append(m.wall)
                cpus[key].append(m.cpu)
                print(f"  run {run + 1} {key}: {m.wall:.1f} s wall, {m.cpu:.1f} s CPU", flush=True)
        frames = {key: count_frames(path).decoded for key, path in outs.items()}
    base, ours = statistics.median(walls["ffmpeg"]), statistics.median(walls["sprocket"])
    first = statistics.median(firsts)
    print()
    cpu = {key: f"{statistics.median(values):.1f}" for key, values in cpus.items()}
    print_table(
        [
            ["(a) ffmpeg -filter_complex", f"{base:.1f}", cpu["ffmpeg"], "1.000", "-", str(frames["ffmpeg"])],
            [f"(b) sprocket -w {WORKERS}", f"{ours:.1f}", cpu["sprocket"], f"{ours / base:.3f}",
             f"{first:.2f} s ({100 * first / ours:.1f}%)", str(frames["sprocket"])],
        ],
        ["approach", "wall s (median)", "CPU s", "wall ratio", "first segment", "frames"],
    )  # fmt: skip
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
