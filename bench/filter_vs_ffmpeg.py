"""Benchmark: ``sprocket filter`` against plain ffmpeg and the split script an editor would write.

Three ways to apply ``hue=s=0`` to the same clip, re-encoding with libx264 ``-preset veryfast``
(crf 23, the default of both ffmpeg and sprocket), all with the same ffmpeg binary:

  (a) ffmpeg    one ``ffmpeg -i in -vf hue=s=0 -c:v libx264 -preset veryfast -c:a copy out.mp4``
  (b) split     segment muxer (``-c copy``, 2 s pieces) -> N ffmpeg processes in parallel over
                the pieces (``-an``) -> concat demuxer (``-c copy``) with the source audio muxed
                back in, timed end to end
  (c) sprocket  ``sprocket filter in --vf hue=s=0 -o out.mp4 -w N --json``

on three clips (issue 16): 5 s 720p, 16 s 1080p and 60 s 1080p, 25 fps, a keyframe every 2 s,
with audio. For each clip the runs alternate (a, b, c, a, b, c, ...) so that drift in the
machine's load hits every approach alike. Wall time is measured here around the whole
process(es), so sprocket's interpreter start-up counts against it just as ffmpeg's does; CPU
is every waited-for process's user + system time. Sprocket's own breakdown (its
``job_finished`` event) says where its time went.

Clips are generated once and cached under ``bench/.cache/`` (git-ignored). Full run (~10
minutes on 2 cores; run it on a quiet machine)::

    python bench/filter_vs_ffmpeg.py

Quick check that everything works (1 run each, smaller clips; a minute or so)::

    python bench/filter_vs_ffmpeg.py --quick            # add --clips short for less
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Other benches import the shared helpers from here (blend_vs_ffmpeg, filter_fidelity, ...).
from benchkit import (
    CACHE_DIR,  # noqa: F401  # re-exported for the other benches
    FrameCount,
    Measured,
    count_frames,
    ffmpeg,  # noqa: F401  # re-exported for the other benches
    ffmpeg_version,
    measure,
    nproc,
    print_table,
    run_checked,
    sprocket_command,
)
from filter_approaches import KEYINT, PRESET, VF, Clip, run_plain_ffmpeg, run_split_parallel, run_sprocket

from sprocket_cli.events import Breakdown
from sprocket_cli.media.ffmpeg import ffmpeg_exe

CLIPS = {
    "short": Clip("short", 5, "1280x720"),
    "medium": Clip("medium", 16, "1920x1080"),
    "long": Clip("long", 60, "1920x1080"),
}
#: --quick: the same roles on smaller clips (the long one still >= 20 s, for the first segment).
QUICK_CLIPS = {
    "short": Clip("short", 5, "640x360"),
    "medium": Clip("medium", 8, "1280x720"),
    "long": Clip("long", 20, "1280x720"),
}

#: Issue 16's targets: (clip role, what, measured from the medians, limit).
RatioOf = Callable[[dict[str, "Medians"]], float]


@dataclass(frozen=True)
class Medians:
    wall: float
    cpu: float


TARGETS: list[tuple[str, str, RatioOf, float]] = [
    ("short", "sprocket/ffmpeg wall", lambda m: m["c"].wall / m["a"].wall, 1.30),
    ("medium", "sprocket/ffmpeg wall", lambda m: m["c"].wall / m["a"].wall, 1.00),
    ("long", "sprocket/ffmpeg wall", lambda m: m["c"].wall / m["a"].wall, 0.95),
    ("long", "sprocket/split wall", lambda m: m["c"].wall / m["b"].wall, 1.00),
    ("long", "sprocket/ffmpeg CPU", lambda m: m["c"].cpu / m["a"].cpu, 1.05),
]
FIRST_SEGMENT_PCT = 10.0
"""Most of sprocket's wall time until the first playable segment, on clips of >= 20 s."""
STARTUP_SECONDS = 0.25
"""Most seconds for ``sprocket --version`` and ``--help``."""

APPROACHES: list[tuple[str, str, Callable[[Path, Path, Path, int], dict[str, Any]]]] = [
    ("a", "ffmpeg", run_plain_ffmpeg),
    ("b", "split+parallel+concat", run_split_parallel),
    ("c", "sprocket", run_sprocket),
]


@dataclass
class ClipRuns:
    clip: Clip
    runs: dict[str, list[Measured[dict[str, Any]]]]
    """Approach key -> its runs, in order."""
    counts: dict[str, FrameCount]
    """Approach key (and "input") -> frames of the last run's output."""

    def medians(self) -> dict[str, Medians]:
        return {
            k: Medians(statistics.median(m.wall for m in ms), statistics.median(m.cpu for m in ms))
            for k, ms in self.runs.items()
        }

    def finished(self) -> list[dict[str, Any]]:
        """Sprocket's job_finished events."""
        return [m.value for m in self.runs["c"]]


def bench_clip(clip: Clip, runs: int, parallel: int, work: Path) -> ClipRuns:
    src = clip.path()
    result = ClipRuns(clip, {key: [] for key, _, _ in APPROACHES}, {})
    outputs = {key: work / f"{clip.role}_{key}.mp4" for key, _, _ in APPROACHES}
    for run in range(1, runs + 1):
        for key, name, approach in APPROACHES:
            scratch = Path(tempfile.mkdtemp(prefix=f"{clip.role}{run}_{key}_", dir=work))
            outputs[key].unlink(missing_ok=True)
            measured = measure(functools.partial(approach, src, outputs[key], scratch, parallel))
            shutil.rmtree(scratch)  # not timed: keeps the disk from filling on long runs
            result.runs[key].append(measured)
            print(
                f"{clip.label:<10} run {run}/{runs}  ({key}) {name:<22} "
                f"{measured.wall:7.2f} s wall {measured.cpu:7.2f} s CPU",
                flush=True,
            )
    result.counts = {"input": count_frames(src), **{k: count_frames(p) for k, p in outputs.items()}}
    return result


# ---------------------------------------------------------------------------------- report


def report_clip(runs: ClipRuns, cores: int) -> None:
    med = runs.medians()
    print()
    print(f"{runs.clip.label} ({runs.clip.role}): medians of {len(runs.runs['a'])} run(s)")
    rows = []
    for key, name, _ in APPROACHES:
        m = med[key]
        rows.append(
            [
                f"({key}) {name}",
                f"{m.wall:.2f}",
                f"{m.cpu:.2f}",
                f"{100 * m.cpu / (cores * m.wall):.0f}%",
                f"{m.wall / med['a'].wall:.3f}",
                f"{m.cpu / med['a'].cpu:.3f}",
                f"{m.wall / med['b'].wall:.3f}",
            ]
        )
    print_table(rows, ["approach", "wall s", "CPU s", "cores busy", "wall/a", "CPU/a", "wall/b"])


def report_breakdowns(all_runs: Sequence[ClipRuns]) -> None:
    """Sprocket's breakdown per clip, medians, in seconds of wall time (slot-seconds over
    the workers), so that a row adds up to probe + plan + the job's wall time."""
    names = list(Breakdown.PARTS)
    rows = []
    for runs in all_runs:
        parts: dict[str, list[float]] = {n: [] for n in [*names, "outside", "util", "first"]}
        for m in runs.runs["c"]:
            raw = m.value.get("breakdown")
            if raw is None:
                continue
            b = Breakdown(**raw)
            seconds = b.seconds()
            for n in names:
                parts[n].append(seconds[n])
            # The process's own start and exit, which the job's clock does not see.
            parts["outside"].append(m.wall - b.probe - b.plan - float(m.value["wall"]))
            parts["util"].append(100 * b.utilisation)
            parts["first"].append(100 * float(m.value["first_segment"]) / m.wall)
        if not parts["compute"]:
            continue
        med = {n: statistics.median(v) for n, v in parts.items()}
        rows.append(
            [runs.clip.label]
            + [f"{med[n]:.2f}" for n in [*names, "outside"]]
            + [f"{med['util']:.0f}%", f"{med['first']:.0f}%"]
        )
    print()
    print("sprocket: where the time went (medians, seconds of wall; slot time / workers)")
    short = {"worker_start": "w.start", "handoff": "handoff", "assembly": "assemb."}
    header = ["clip", *(short.get(n, n) for n in names), "outside", "util", "1st seg"]
    print_table(rows, header)
    print("(outside: the command's start-up and exit around the job; util: the job's CPU over its")
    print(" cores and wall; 1st seg: first playable segment, share of the end-to-end wall)")


def report_targets(all_runs: Sequence[ClipRuns], startup: dict[str, float], quick: bool) -> None:
    print()
    print("issue 16 targets" + (" (quick clips: indicative only)" if quick else ""))
    rows = []
    by_role = {r.clip.role: r for r in all_runs}
    for role, what, ratio, limit in TARGETS:
        if role in by_role:
            value = ratio(by_role[role].medians())
            met = "yes" if value <= limit else "NO"
            rows.append([f"{by_role[role].clip.label}: {what}", f"{value:.3f}", f"<= {limit:.2f}", met])
    for runs in all_runs:
        if runs.clip.seconds >= 20:
            first = statistics.median(100 * float(m.value["first_segment"]) / m.wall for m in runs.runs["c"])
            met = "yes" if first <= FIRST_SEGMENT_PCT else "NO"
            label = f"{runs.clip.label}: first segment, % of wall"
            rows.append([label, f"{first:.1f}%", f"<= {FIRST_SEGMENT_PCT:.0f}%", met])
    for what, seconds in startup.items():
        met = "yes" if seconds <= STARTUP_SECONDS else "NO"
        rows.append([f"sprocket {what}", f"{seconds:.3f} s", f"<= {STARTUP_SECONDS:.2f} s", met])
    print_table(rows, ["target", "measured", "limit", "met"])


def report_frames(all_runs: Sequence[ClipRuns]) -> bool:
    """Frame counts of the last outputs against the input's; False if any differs."""
    print()
    print("frame counts (PyAV: decoded / stream.frames, audio; last run's outputs)")
    rows, ok = [], True
    for runs in all_runs:
        src = runs.counts["input"]
        for key, fc in runs.counts.items():
            same = fc.decoded == src.decoded and fc.audio == src.audio
            ok = ok and same
            rows.append(
                [f"{runs.clip.label} {key}", str(fc.decoded), str(fc.declared), str(fc.audio), str(same)]
            )
    print_table(rows, ["output", "decoded", "declared", "audio", "matches input"])
    return ok


# --------------------------------------------------------------------------------- startup


def startup_times(runs: int) -> dict[str, float]:
    """Median seconds of ``sprocket --version`` and ``sprocket --help``, end to end."""
    exe = sprocket_command()
    return {
        flag: statistics.median(
            measure(functools.partial(run_checked, [exe, flag], what=flag)).wall for _ in range(runs)
        )
        for flag in ("--version", "--help")
    }


def import_times(module: str, top: int = 6) -> list[tuple[int, str]]:
    """The ``top`` slowest imports under ``module`` (cumulative microseconds, name)."""
    proc = run_checked([sys.executable, "-X", "importtime", "-c", f"import {module}"], what="importtime")
    entries = []
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            entries.append((int(parts[1]), parts[2].strip()))
    return sorted(entries, reverse=True)[:top]


def report_imports() -> None:
    print()
    print("python -X importtime: slowest imports (cumulative ms)")
    for module in ("sprocket_cli.cli", "sprocket_cli.cli.jobcmds"):
        rows = [[name, f"{us / 1000:.1f}"] for us, name in import_times(module)]
        print_table(rows, [f"import {module}", "ms"])


# ------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, help="runs per approach and clip (default 3; --quick: 1)")
    parser.add_argument(
        "--clips", default="short,medium,long", help="which clips: short, medium, long (default all)"
    )
    parser.add_argument("--quick", action="store_true", help="smaller clips, one run: a check that it works")
    parser.add_argument(
        "--parallel", type=int, default=len(os.sched_getaffinity(0)),
        help="ffmpeg processes in (b), sprocket workers in (c) (default: the usable cores)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    table = QUICK_CLIPS if args.quick else CLIPS
    unknown = [c for c in args.clips.split(",") if c not in table]
    if unknown:
        parser.error(f"unknown clip {', '.join(unknown)} (choose from {', '.join(table)})")
    args.chosen = [table[c] for c in args.clips.split(",")]
    if args.runs < 1 or args.parallel < 1:
        parser.error("--runs and --parallel must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()
    print(f"ffmpeg: {ffmpeg_exe()}")
    print(f"        {ffmpeg_version()}")
    print(f"nproc:  {nproc()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min)")
    print(f"filter: -vf {VF}, libx264 -preset {PRESET}, keyframe every {KEYINT} frames; ")
    print(f"        {args.parallel} parallel; {args.runs} run(s) per approach and clip")
    print()
    with tempfile.TemporaryDirectory(prefix="sprocket-bench-") as tmp:
        all_runs = [bench_clip(clip, args.runs, args.parallel, Path(tmp)) for clip in args.chosen]
    startup = startup_times(3 if args.quick else 5)
    for runs in all_runs:
        report_clip(runs, cores)
    report_breakdowns(all_runs)
    report_targets(all_runs, startup, args.quick)
    report_imports()
    ok = report_frames(all_runs)
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if not ok:
        print("\nWARNING: an output's frame count or audio differs from the input's")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
