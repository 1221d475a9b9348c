"""Per-chunk target quality: the highest crf whose encode reaches a VMAF score.

A worker whose encode asks for ``target_vmaf`` decodes and filters the chunk once, writing the
frames the encoder would get losslessly (FFV1, :data:`~sprocket_cli.media.command.LOSSLESS`),
probes a few crfs on a sample of them, measures each probe's VMAF against those frames with
ffmpeg's libvmaf, then encodes those same frames at the crf the search settles on and measures
that encode too, so the reported score is of the frames that ship, not a prediction.

The search (:func:`search`) works on VMAF mapped through ``-ln(1 - vmaf/100)``, which is close
to linear in crf for x264, x265, SVT-AV1 and libvpx (Av1an maps it the same way): two probes
bracket the target and a third or fourth lands next to it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the stage config reads this module's range and Target: keep it light
    from sprocket_cli.media.command import ChunkCommand

#: What a target may be: below 50 is no picture an editor would deliver; 100 is the source.
TARGET_RANGE = (50.0, 100.0)
#: The longest chunk (frames) probed whole; longer ones are probed on :data:`SAMPLE_RUNS` runs
#: of consecutive frames spread over the chunk (consecutive, so that the encoder predicts
#: between frames as it will in the real encode).
SAMPLE_FRAMES = 120
SAMPLE_RUNS = 5
#: Probes per chunk at most (the first two or three bracket the target, the rest close in;
#: most chunks stop sooner, on a probe within :data:`CLOSE_ENOUGH`).
MAX_PROBES = 6
#: A probe this close to the target (VMAF points) ends the search.
CLOSE_ENOUGH = 0.3
#: When the final encode misses the target by more than this (points), it is redone once at a
#: crf corrected from the miss: the sample may not be the whole chunk.
REDO_MISS = 1.0
#: crf units per unit of transformed VMAF where two probes do not give a slope yet
#: (x264 on 320x180 test pictures: from -0.1 on flat bars to -0.25 on noise).
PRIOR_SLOPE = -0.15
#: The farthest one step of the search goes (crf units).
MAX_STEP = 8.0


def transform(vmaf: float) -> float:
    """VMAF on a scale close to linear in crf (capped where VMAF reaches 100)."""
    return -math.log(max(1.0 - vmaf / 100.0, 1e-4))


@dataclass(frozen=True)
class Probe:
    crf: float
    vmaf: float


@dataclass(frozen=True)
class Target:
    """What the encode stage asks for, with the encoder's crf scale."""

    vmaf: float
    low: float
    """The crf range searched (the encoder's)."""
    high: float
    step: float
    """The finest crf the encoder takes (x264 and x265 take fractions)."""
    start: float
    """The first crf probed (the encoder's default)."""
    options_at: Callable[[float], Mapping[str, str]]
    """The encoder's ffmpeg options at a crf."""


def _grid(crf: float, target: Target, *, down: bool = False) -> float:
    """``crf`` on the encoder's step within its range (rounded down: the better quality)."""
    steps = crf / target.step
    snapped = (math.floor(steps + 1e-9) if down else round(steps)) * target.step
    return min(max(snapped, target.low), target.high)


def _slope(probes: list[Probe], target: Target) -> float:
    """d transform / d crf through the two probes nearest the target (negative), or the prior."""
    near = sorted(probes, key=lambda p: abs(p.vmaf - target.vmaf))
    pairs = [(a, b) for i, a in enumerate(near) for b in near[i + 1 :] if a.crf != b.crf]
    if pairs:
        a, b = pairs[0]
        slope = (transform(b.vmaf) - transform(a.vmaf)) / (b.crf - a.crf)
        if slope < 0:
            return slope
    return PRIOR_SLOPE


def _bracket(probes: list[Probe], target: Target) -> tuple[Probe, Probe] | None:
    """The highest crf measured good enough and the lowest measured short above it, if any."""
    good = [p for p in probes if p.vmaf >= target.vmaf]
    if not good:
        return None
    a = max(good, key=lambda p: p.crf)
    b = min((p for p in probes if p.vmaf < target.vmaf and p.crf > a.crf), key=lambda p: p.crf, default=None)
    return None if b is None else (a, b)


def _between(a: Probe, b: Probe, goal: float) -> float:
    """The crf between ``a`` and ``b`` where the straight line on the transformed scale meets ``goal``."""
    ta, tb = transform(a.vmaf), transform(b.vmaf)
    return a.crf + (goal - ta) * (b.crf - a.crf) / (tb - ta)


def predict(probes: list[Probe], target: Target) -> float:
    """The crf (unsnapped) where the probes say VMAF meets the target: interpolated between the
    bracketing pair, extrapolated from the probe nearest the target when none brackets it."""
    goal = transform(target.vmaf)
    pair = _bracket(probes, target)
    if pair is not None:
        return _between(*pair, goal)
    if any(p.vmaf >= target.vmaf for p in probes) and any(p.vmaf < target.vmaf for p in probes):
        # Measured short below a crf measured good (VMAF wobbles on flat pictures): keep the good.
        return max((p for p in probes if p.vmaf >= target.vmaf), key=lambda p: p.crf).crf
    near = min(probes, key=lambda p: abs(p.vmaf - target.vmaf))
    jump = (goal - transform(near.vmaf)) / _slope(probes, target)
    return near.crf + max(-MAX_STEP, min(MAX_STEP, jump))


def choose(probes: list[Probe], target: Target) -> float:
    """The highest crf on the encoder's grid whose predicted VMAF is at least the target; a
    probe measured within :data:`CLOSE_ENOUGH` of it is taken as it is: on still pictures
    x264's VMAF moves in jumps of two points between quarter crfs, where a straight line
    through the probes would land on the wrong side of a jump."""
    near = [p for p in probes if abs(p.vmaf - target.vmaf) <= CLOSE_ENOUGH]
    if near:
        return max(near, key=lambda p: p.crf).crf
    return _grid(predict(probes, target), target, down=True)


def _next(probes: list[Probe], target: Target) -> float | None:
    """The next crf to probe; None when the probes cannot be improved on."""
    if any(abs(p.vmaf - target.vmaf) <= CLOSE_ENOUGH for p in probes):
        return None
    crf = predict(probes, target)
    pair = _bracket(probes, target)
    if pair is not None:
        # VMAF bends (a plateau, then a cliff): keep the bracket shrinking by a quarter or more
        # whatever the straight line says, as a safeguarded secant does.
        a, b = pair
        quarter = (b.crf - a.crf) / 4
        crf = min(max(crf, a.crf + quarter), b.crf - quarter)
    crf = _grid(crf, target)
    if any(abs(p.crf - crf) < target.step / 2 for p in probes):
        return None  # the grid has no crf between the probes: nothing left to learn
    return crf


def search(
    measure: Callable[[float], float], target: Target, max_probes: int = MAX_PROBES
) -> tuple[float, list[Probe]]:
    """Probe crfs with ``measure`` (crf -> VMAF) and return the chosen crf and the probes."""
    probes = [Probe(target.start, measure(target.start))]
    while len(probes) < max_probes and (crf := _next(probes, target)) is not None:
        probes.append(Probe(crf, measure(crf)))
    return choose(probes, target), probes


# ---- ffmpeg: the lossless reference, the sample, probes and VMAF -----------------------------

#: Runs ffmpeg with the task's stop and progress: (args, what it does) -> None, where what it
#: does (", probe at crf 23") follows the task's name in an error.
Runner = Callable[[list[str], str], None]


@dataclass(frozen=True)
class Reached:
    """What the final encode is and how close it came."""

    crf: float
    vmaf: float
    """Mean VMAF of the stored encode against the chunk's filtered frames."""
    probes: tuple[Probe, ...]

    def facts(self) -> dict[str, Any]:
        """For the task's result: ``crf``, ``vmaf`` and the probes as ``[crf, vmaf]`` pairs."""
        return {
            "crf": self.crf,
            "vmaf": round(self.vmaf, 3),
            "probes": [[p.crf, round(p.vmaf, 3)] for p in self.probes],
        }


def chunk_quality(result: dict[str, Any] | None) -> list[tuple[int, float, float]]:
    """(chunk, crf, VMAF) of each chunk a task's result (a ``TaskFinished`` event's) encoded to
    a target: its own and, for a gop-pair task, its partner's; empty for any other result."""
    if not result:
        return []
    meta = result.get("meta") or {}
    own = [(int(result["chunk"]), float(meta["crf"]), float(meta["vmaf"]))] if "vmaf" in meta else []
    return own + chunk_quality(meta.get("partner"))


def vmaf(
    distorted: str, reference: str, log_path: str, run: Runner, *, threads: int = 0, subsample: int = 1
) -> float:
    """Mean VMAF (libvmaf's default model) of ``distorted`` against ``reference``, frame by frame.

    Frames are paired by their order, not their times (both on one made-up clock): a probe
    in Matroska rounds times to milliseconds, and both files hold the same frames. Both go to
    one pixel format, 10-bit, which holds 8-bit pictures exactly (VMAF reads the luma only).
    """
    n_threads = threads or os.cpu_count() or 1
    graph = (
        "[0:v]settb=1/25,setpts=N,format=yuv420p10le[d];[1:v]settb=1/25,setpts=N,format=yuv420p10le[r];"
        f"[d][r]libvmaf=log_fmt=json:log_path={_escaped(log_path)}:n_threads={n_threads}"
        f":n_subsample={subsample}"
    )
    run(["-i", distorted, "-i", reference, "-lavfi", graph, "-f", "null", "-"], ", measuring VMAF")
    with open(log_path, encoding="utf-8") as log:
        return float(json.load(log)["pooled_metrics"]["vmaf"]["mean"])


def _escaped(path: str) -> str:
    """``path`` as a filter option value (``:`` and ``\\`` and ``'`` would end or bend it)."""
    return "'" + path.replace("\\", "\\\\").replace("'", "'\\''").replace(":", "\\:") + "'"


def _sample(reference: str, frames: int, dest: str, run: Runner) -> str:
    """The frames to probe: all of a short chunk, runs spread over a long one."""
    if frames <= SAMPLE_FRAMES:
        return reference
    run_length = SAMPLE_FRAMES // SAMPLE_RUNS
    period = frames // SAMPLE_RUNS
    pick = f"select='lt(mod(n\\,{period})\\,{run_length})'"
    run(
        ["-i", reference, "-vf", pick, "-c:v", "ffv1", "-fps_mode", "passthrough", "-f", "nut", "-y", dest],
        ", sampling",
    )
    return dest


def encode_to_target(
    command: ChunkCommand, target: Target, frames: int, out_path: str, scratch: str, run: Runner
) -> Reached:
    """Run ``command`` (its encoder's crf is set here) so that its output reaches ``target``."""
    # The chunk's frames after every filter, once: what each probe and the output are made from
    # and scored on (a filter that is slow or not deterministic runs once).
    reference = os.path.join(scratch, "reference.mp4")
    run(command.args(reference, lossless=True), ", writing the lossless reference")
    sample = _sample(reference, frames, os.path.join(scratch, "sample.nut"), run)

    def probe(crf: float) -> float:
        path = os.path.join(scratch, f"probe-{crf:g}.mkv")
        options = [x for k, v in target.options_at(crf).items() for x in (f"-{k}", str(v))]
        run(
            ["-i", sample, "-an", *options, "-threads", str(command.threads), "-f", "matroska", "-y", path],
            f", probe at crf {crf:g}",
        )
        return vmaf(path, sample, path + ".json", run, threads=command.threads)

    crf, probes = search(probe, target)
    # Scored on every n-th frame of a long chunk: the mean of a 6 s chunk moves by far less
    # than the ±1.5 the target is kept to, at a fraction of the time.
    subsample = max(1, frames // SAMPLE_FRAMES)

    def final(at: float) -> float:
        command.encoder = dict(target.options_at(at))
        run(command.encode_args(reference, out_path), f", encoding at crf {at:g}")
        return vmaf(
            out_path, reference, out_path + ".json", run, threads=command.threads, subsample=subsample
        )

    reached = final(crf)
    if abs(reached - target.vmaf) > REDO_MISS:
        # The sample or the straight line missed what the whole chunk does: the final encode is
        # the best probe there is, so choose again with it, once.
        redo = choose([*probes, Probe(crf, reached)], target)
        if redo != crf:
            first = out_path + ".first"
            os.replace(out_path, first)
            again = final(redo)
            if abs(again - target.vmaf) < abs(reached - target.vmaf):
                crf, reached = redo, again
            else:
                os.replace(first, out_path)
    return Reached(crf, reached, tuple(probes))
