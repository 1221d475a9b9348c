"""Benchmark: find_faces' two decoders (sprocket_cli/faces/frames.py) on the same 1080p clip.

``pyav`` (the baseline: how find_faces decoded before the Lambda bundle, and still does where
PyAV is installed) against ``pipe`` (the ffmpeg binary over a pipe, raw gbrap: how it decodes
in the Lambda bundle). Each run takes every frame of an 8 s 1920x1080 25 fps testsrc2 clip
through ``scene_frames`` as find_faces does: the gray picture of every frame (the tracker's) and
the RGB picture of every ``--every``-th (the detector's), for ``--every`` 5 (the default) and 1.
The runs alternate between the decoders, round after round; the table gives the median wall
and CPU seconds (this process and its ffmpeg) per 100 frames, and the load average before and
after, since the machine is shared.

Run from the project root: ``PYTHONPATH=. python bench/faces_decode.py [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from fractions import Fraction

import av

from bench.benchkit import cached_clip, print_table
from sprocket_cli.faces.framepipe import piped_frames
from sprocket_cli.faces.frames import Decoder, pyav_frames, scene_frames
from sprocket_cli.tasks import ChunkRef

DECODERS: dict[str, Decoder] = {"pyav": pyav_frames, "pipe": piped_frames}


def whole_clip(path: str) -> ChunkRef:
    with av.open(path) as container:
        stream = container.streams.video[0]
        pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None)
        tb = stream.time_base or Fraction(1, 25)
    return ChunkRef(0, pts[0], pts[-1] + 1, pts[0], tb.numerator, tb.denominator, True, len(pts))


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(path: str, chunk: ChunkRef, decoder: Decoder, every: int) -> tuple[float, float, int]:
    """Wall and CPU seconds of one pass as find_faces makes it, and the frames it saw."""
    cpu, started = cpu_seconds(), time.perf_counter()
    frames = 0
    for n, (_, picture) in enumerate(scene_frames(path, chunk, decoder)):
        if n % every == 0:
            picture.rgb()
        picture.gray()
        frames += 1
    return time.perf_counter() - started, cpu_seconds() - cpu, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    path = str(cached_clip(8, "1920x1080"))
    chunk = whole_clip(path)
    load_before = os.getloadavg()
    walls: dict[tuple[str, int], list[float]] = {}
    cpus: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for every in (5, 1):
            for name, decoder in DECODERS.items():
                wall, cpu, frames = run(path, chunk, decoder, every)
                walls.setdefault((name, every), []).append(100 * wall / frames)
                cpus.setdefault((name, every), []).append(100 * cpu / frames)
    load_after = os.getloadavg()
    rows = []
    for every in (5, 1):
        base = statistics.median(walls[("pyav", every)])
        for name in DECODERS:
            wall = statistics.median(walls[(name, every)])
            cpu = statistics.median(cpus[(name, every)])
            rows.append([f"{name} --every {every}", f"{wall:.3f}", f"{cpu:.3f}", f"{wall / base:.2f}x"])
    print(f"{path}: {chunk.frame_count} frames, {args.rounds} alternating rounds, medians")
    print_table(rows, ["decoder", "wall s/100 fr", "CPU s/100 fr", "wall vs pyav"])
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}")


if __name__ == "__main__":
    main()
