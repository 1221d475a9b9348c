"""Benchmark: time to first playable segment vs total wall time, per scheduling policy, local.

Runs ``sprocket filter --vf hue=s=0`` on the cached 1080p25 60 s clip of
``bench/filter_vs_ffmpeg.py`` (generated on first use) with 2 local workers under each policy,
and prints one row per policy. ``streaming`` paces the work to playback (deadline starting
``--deadline-start`` seconds after the first segment), so its wall time follows the video's
length by design; what it buys is fewer workers busy at once.

    python bench/policies_local.py [--seconds 60] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from benchkit import cached_clip


def run(src: Path, policy: str, deadline_start: float, work: Path) -> dict[str, float]:
    cmd = [
        "sprocket", "filter", str(src), "--vf", "hue=s=0", "-o", str(work / f"{policy}.mp4"),
        "-w", "2", "--json", "--overwrite", "--job-dir", str(work / "jobs"),
        "--policy", policy, "--deadline-start", str(deadline_start),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finished = json.loads(out.splitlines()[-1])
    return {k: float(finished[k]) for k in ("wall", "first_segment", "peak_workers", "deadline_misses")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--deadline-start", type=float, default=5.0)
    args = parser.parse_args()
    src = cached_clip(args.seconds, args.size)
    print(f"input: {src.name}; sprocket filter --vf hue=s=0 -w 2; deadline-start {args.deadline_start}s")
    print(
        f"{'policy':<12} {'wall s':>8} {'first seg s':>12} {'first/wall':>11} "
        f"{'peak workers':>13} {'late':>5}"
    )
    with tempfile.TemporaryDirectory(prefix="sprocket-bench-") as tmp:
        for policy in ("overall", "first-frame", "streaming"):
            r = run(src, policy, args.deadline_start, Path(tmp))
            share = 100 * r["first_segment"] / r["wall"]
            print(
                f"{policy:<12} {r['wall']:>8.2f} {r['first_segment']:>12.2f} {share:>10.1f}% "
                f"{r['peak_workers']:>13.0f} {r['deadline_misses']:>5.0f}"
            )


if __name__ == "__main__":
    main()
