"""Benchmark: chunked equals whole, over the ffmpeg video filters that video editors use.

Every chain of ``GROUPS`` (over 60) runs twice on the same ffmpeg binary, both lossless:

  plain     ``ffmpeg -i src -vf CHAIN -c:v libx264 -qp 0 -an plain.mp4`` over the whole file
  sprocket  ``sprocket filter src --vf CHAIN --crf 0 -w 2 --chunk-seconds 2
            --first-chunk-seconds 2 --json``: eight chunks (a keyframe every 45 frames)

The decoded frames (``-f framemd5``) are compared by index: count, stored timestamps (exact
fractions), md5, and the worst PSNR of differing frames decoded to yuv420p. Verdicts: "exact"
(>= 4 chunks, identical), "few-chunks" (identical, 2-3 chunks: not counted), "one-worker" (run
whole, as sprocket said; identical), "refused" (a non-zero exit with a message), "MISMATCH": a
silent difference, what this bench exists to catch. The class: analyze's first non-per-frame.

Clips: testsrc2 320x180 at 30000/1001 fps, 12 s, libx264, no audio ("motion"); the same at
160x90 for the slowest filters ("small"); 59.94 fields woven top first ("interlaced").
A second table is the cost of pre-roll on a 36 s clip with ``--chunk-seconds 6``: the video
sprocket decodes only to drop (JobStarted ``preroll``) at ``ffmpeg -f null``'s decode speed,
as a share of the job's wall time. Full run (about 8 minutes on 2 cores), then a few rows::

    python bench/filter_fidelity.py
    python bench/filter_fidelity.py --only tmix --only yadif --preroll-seconds 0
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from filter_vs_ffmpeg import ffmpeg, ffmpeg_version, nproc, run_checked

from sprocket_cli.media.ffmpeg import ffmpeg_exe
from sprocket_cli.plan.filtermodel import analyze

RATE = "30000/1001"
KEYINT = 45  # frames: 1.5015 s, so 2 s chunks cut on every keyframe
SMALL = "160x90"
WORKERS = 2
MIN_CHUNKS = 4
TARGET_EXACT_PCT = 90.0
TARGET_PREROLL_PCT = 5.0
PREROLL_CHUNK_SECONDS = 6.0
PREROLL_CHAINS = ("tmix=frames=9", "hue=s=0")
#: (group, clip, chains). drawtext renders with the bundled ffmpeg's fontconfig (DejaVu here).
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("colour", "motion", (
        "hue=s=0", "eq=contrast=1.3:brightness=0.05", "curves=preset=vintage", "colorbalance=rs=0.3",
        "colorchannelmixer=.3:.4:.3:0:.3:.4:.3:0:.3:.4:.3", "lutyuv=y=negval", "vibrance=intensity=0.5",
        "colortemperature=temperature=4000", "negate", "selectivecolor=reds=0 0.2 0 0",
        "colorlevels=rimin=0.1:gimin=0.1:bimin=0.1", "hue=H=PI*t:s=1.5")),
    ("denoise/sharpen", "motion", ("hqdn3d", "atadenoise", "unsharp=5:5:1.0", "cas=0.5", "gblur=sigma=2",
        "boxblur=2:1", "removegrain=1", "deband", "vaguedenoiser", "smartblur=1.5")),
    ("denoise/sharpen", "small", ("nlmeans=s=2", "dctdnoiz=sigma=4")),  # slow: 160x90
    ("temporal", "motion", ("tmix=frames=9", "tmix=frames=3", "deflicker", "deflicker=size=9",
        "tblend=all_mode=average", "atadenoise=s=15", "tmedian=radius=2",
        "tmix=frames=3,hue=s=0,deflicker=size=4", "lagfun")),
    ("deinterlace", "interlaced", ("yadif", "yadif=mode=1", "bwdif=mode=send_frame", "w3fdif", "estdif")),
    ("retime", "motion", ("fps=12", "fps=24", "setpts=0.5*PTS", "setpts=2*PTS",
        "select='not(mod(n,3))',setpts=N/FRAME_RATE/TB", "trim=start=3:end=7,setpts=PTS-STARTPTS",
        "trim=start=1:end=11,setpts=PTS-STARTPTS",
        "framerate=fps=50", "reverse", "tpad=stop=10")),
    ("retime", "small", ("minterpolate=fps=50",)),  # slow: 160x90
    ("fade/overlay", "motion", ("fade=t=in:st=0:d=4", "fade=t=out:st=9:d=3", "fade=in:0:30",
        "drawbox=enable='between(t,4,6)':x=10:y=10:w=100:h=50:c=red:t=fill", "drawgrid=w=40:h=40:c=white",
        "drawtext=text='%{pts}':x=10:y=10:fontsize=20", "vignette", "fade=t=in:st=0:d=4,hue=s=0")),
    ("geometry", "motion", ("crop=240:160:10:10", "scale=640:-2", "pad=iw+40:ih+40:20:20", "rotate=PI/12",
        "transpose=1", "hflip", "vflip", "scale=160:-2,fps=15",
        "zoompan=z='min(zoom+0.0015,1.5)':d=1:s=320x180")),
    ("noise", "motion", ("noise=alls=20:allf=t",)),
    ("mixed", "motion", ("select='not(mod(n,3))',setpts=N/FRAME_RATE/TB,tmix=frames=5",)),
)  # fmt: skip


# --------------------------------------------------------------------------------- helpers


def clip_source(clip: str, size: str, seconds: float) -> str:
    """The lavfi graph of a named clip (interlaced: 59.94 fields woven in pairs, top first)."""
    woven = ",tinterlace=mode=interleave_top,setfield=tff" if clip == "interlaced" else ""
    rate = "60000/1001" if woven else RATE
    return f"testsrc2=size={SMALL if clip == 'small' else size}:rate={rate}:duration={seconds:g}{woven}"


def make_clip(dest: Path, source: str) -> Path:
    args = ["-f", "lavfi", "-i", source, "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    args += ["-g", str(KEYINT), "-keyint_min", str(KEYINT), "-sc_threshold", "0"]
    if "tinterlace" in source:
        args += ["-flags", "+ildct+ilme"]  # coded as interlaced: decoded frames say so
    run_checked(ffmpeg(*args, str(dest)), what=f"making {dest.name}")
    return dest


def last_line(text: str) -> str:
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")


def run_plain(src: Path, chain: str, dest: Path, pix_fmt: str | None) -> str | None:
    """Plain ffmpeg over the whole file, lossless; ffmpeg's last line when it fails."""
    extra = ["-pix_fmt", pix_fmt] if pix_fmt else []
    cmd = ffmpeg("-i", str(src), "-vf", chain, "-c:v", "libx264", "-qp", "0", *extra, "-an", str(dest))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return None if proc.returncode == 0 else last_line(proc.stderr) or f"exit {proc.returncode}"


@dataclass(frozen=True)
class SprocketRun:
    code: int
    started: dict[str, Any]
    finished: dict[str, Any]
    message: str  # why it exited non-zero: the job_failed error, else its last line of output
    crashed: bool


def run_sprocket(src: Path, chain: str, dest: Path, jobs: Path, *extra: str) -> SprocketRun:
    cmd = [
        sys.executable, "-m", "sprocket_cli", "filter", str(src), "--vf", chain, "-o", str(dest),
        "-w", str(WORKERS), "--json", "--job-dir", str(jobs), "--overwrite", *extra,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = proc.stdout.splitlines()
    events: dict[str, dict[str, Any]] = {}
    for event in (json.loads(line) for line in lines if line.startswith('{"kind": ')):
        events.setdefault(event["kind"], event)
    other = [line for line in lines if not line.startswith('{"kind": ')]
    message = str(events.get("job_failed", {}).get("error") or last_line("\n".join([*other, proc.stderr])))
    crashed = "Traceback" in proc.stdout or "Traceback" in proc.stderr
    return SprocketRun(
        proc.returncode, events.get("job_started", {}), events.get("job_finished", {}), message, crashed
    )


@dataclass(frozen=True)
class Frames:
    time_base: Fraction
    size: tuple[int, int]
    times: tuple[Fraction, ...]  # seconds
    md5s: tuple[str, ...]


def frames(path: Path) -> Frames:
    """Every decoded frame's time and md5, as ffmpeg's framemd5 muxer lists them."""
    # The stored timestamps, in the track's own time base: no frame-rate guess, nothing dropped.
    cmd = ffmpeg("-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough", "-enc_time_base:v", "demux")
    cmd += ["-f", "framemd5", "-"]
    out = run_checked(cmd, what=f"framemd5 of {path.name}").stdout
    tb, size = Fraction(1), (0, 0)
    times: list[Fraction] = []
    md5s: list[str] = []
    for line in out.splitlines():
        if line.startswith("#tb 0:"):
            tb = Fraction(line.split(":", 1)[1].strip())
        elif line.startswith("#dimensions 0:"):
            width, height = line.split(":", 1)[1].strip().split("x")
            size = (int(width), int(height))
        elif line and not line.startswith("#"):
            cols = [c.strip() for c in line.split(",")]
            times.append(int(cols[2]) * tb)
            md5s.append(cols[5])
    return Frames(tb, size, tuple(times), tuple(md5s))


def worst_psnr(a: Path, b: Path, size: tuple[int, int], wanted: set[int]) -> float:
    """Lowest PSNR (dB, all planes) over frames ``wanted`` (by index), both decoded to yuv420p."""
    width, height = size
    nbytes = width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)
    raw = ("-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
    out, err = subprocess.PIPE, subprocess.DEVNULL
    procs = [subprocess.Popen(ffmpeg("-i", str(p), *raw), stdout=out, stderr=err) for p in (a, b)]
    worst = math.inf
    try:
        for index in range(max(wanted) + 1):
            bufs = [p.stdout.read(nbytes) if p.stdout else b"" for p in procs]
            if any(len(buf) < nbytes for buf in bufs):
                break
            if index in wanted:
                x, y = (np.frombuffer(buf, np.uint8).astype(np.int32) for buf in bufs)
                mse = float(np.mean((x - y) ** 2))
                worst = min(worst, 10 * math.log10(255**2 / mse) if mse else math.inf)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return worst


def pix_fmt(path: Path) -> str:
    with av.open(str(path)) as container:
        return str(container.streams.video[0].codec_context.pix_fmt)


# ------------------------------------------------------------------------------- fidelity


@dataclass
class Row:
    group: str
    chain: str
    clip: str
    kind: str
    plan: str
    verdict: str = ""
    chunks: str = "-"
    frames: str = "-"
    dt: str = "-"
    psnr: str = "-"
    notes: list[str] = field(default_factory=list)


def classify(chain: str) -> tuple[str, str]:
    """(class of the first finding that is not per-frame, how sprocket plans to run it)."""
    try:
        plan = analyze(chain)
    except Exception as exc:  # a chain the model cannot parse is a finding too
        return "error", f"analyze: {exc}"
    kind = next((f.kind.value for f in plan.findings if f.kind.value != "per-frame"), "per-frame")
    return kind, f"split {plan.preroll}+{plan.postroll}" if plan.split else "whole"


def evaluate(group: str, clip: str, chain: str, src: Path, work: Path, pix: str | None) -> Row:
    kind, plan = classify(chain)
    row = Row(group, chain, clip, kind, plan)
    plain, spr = work / "plain.mp4", work / "spr.mp4"
    failed = run_plain(src, chain, plain, pix)
    if failed:
        row.verdict = "ffmpeg-error"
        row.notes.append(f"plain ffmpeg failed: {failed}")
        return row
    run = run_sprocket(src, chain, spr, work / "jobs", "--crf", "0", "--chunk-seconds", "2",
                       "--first-chunk-seconds", "2")  # fmt: skip
    notices = [str(n) for n in run.started.get("notices", [])]
    row.chunks = str(run.started.get("chunks", "-"))
    row.notes += notices
    if run.code != 0:
        row.verdict = "refused" if run.message and not run.crashed else "MISMATCH"
        row.notes.append(f"sprocket exit {run.code}{' (crashed)' if run.crashed else ''}: {run.message}")
        return row
    got, want = frames(spr), frames(plain)
    row.frames = f"{len(got.md5s)}/{len(want.md5s)}"
    worst_dt = max((abs(g - w) for g, w in zip(got.times, want.times, strict=False)), default=Fraction(0))
    row.dt = f"{float(worst_dt):.6f}" if worst_dt else "0"  # exact: times compared as fractions
    bad = {i for i, (g, w) in enumerate(zip(got.md5s, want.md5s, strict=False)) if g != w}
    if not bad:
        row.psnr = "inf"
    elif got.size == want.size:
        row.psnr = f"{worst_psnr(spr, plain, got.size, bad):.1f}"
    else:
        row.psnr = "size"
        row.notes.append(f"size {got.size} vs ffmpeg's {want.size}")
    same = len(got.md5s) == len(want.md5s) and not bad and not worst_dt
    if not same:
        if bad:
            first = min(bad)
            row.notes.append(f"{len(bad)} frames differ, first #{first} at {float(want.times[first]):.3f} s")
        if worst_dt:
            tick = max(got.time_base, want.time_base)
            row.notes.append(f"timestamps differ: time base {got.time_base}, ffmpeg's {want.time_base}; "
                             f"worst {float(worst_dt / tick):.2f} ticks of {tick}")  # fmt: skip
        pix_got, pix_want = pix_fmt(spr), pix_fmt(plain)
        if pix_got != pix_want:
            row.notes.append(f"pix_fmt {pix_got}, ffmpeg's {pix_want}")
    split = int(run.started.get("chunks", 0)) >= MIN_CHUNKS
    row.verdict = "MISMATCH" if not same else "one-worker" if notices else "exact" if split else "few-chunks"
    if same and not notices and not split:
        row.notes.append(f"identical, but only {row.chunks} chunk(s): not counted as exact")
    return row


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for cells in [header, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |")


def report_fidelity(rows: Sequence[Row]) -> int:
    header = ["#", "group", "chain", "clip", "class", "plan", "chunks", "frames spr/ff", "max Δt s",
              "min PSNR dB", "verdict"]  # fmt: skip
    cells = [
        [str(i), r.group, f"`{r.chain}`", r.clip, r.kind, r.plan, r.chunks, r.frames, r.dt, r.psnr,
         f"**{r.verdict}**" if r.verdict == "MISMATCH" else r.verdict]
        for i, r in enumerate(rows, 1)
    ]  # fmt: skip
    print()
    markdown(header, cells)
    counts = Counter(r.verdict for r in rows)
    exact, silent = counts["exact"], counts["MISMATCH"]
    share = 100 * exact / len(rows) if rows else 0.0
    order = ["exact", "few-chunks", "one-worker", "refused", "MISMATCH", "ffmpeg-error"]
    print("\nverdicts: " + ", ".join(f"{v} {counts[v]}" for v in order if counts[v] or v != "ffmpeg-error"))
    met = "met" if share >= TARGET_EXACT_PCT else "NOT MET"
    print(
        f"exact in parallel: {exact}/{len(rows)} = {share:.1f} %  (target >= {TARGET_EXACT_PCT:g} %: {met})"
    )
    print(f"silent mismatches: {silent}  (target 0: {'met' if silent == 0 else 'NOT MET'})")
    for r in rows:
        if r.verdict == "MISMATCH":
            print(f"\n!!! MISMATCH `{r.chain}` ({r.clip}, {r.kind}, chunks {r.chunks}):")
            for note in r.notes:
                print(f"!!!   {note}")
    others = [f"  `{r.chain}` ({r.verdict}): " + " / ".join(r.notes) for r in rows if r.verdict != "MISMATCH"]
    print("\nnotes:", *(line for line in others if not line.endswith("): ")), sep="\n")
    return silent


# -------------------------------------------------------------------------------- pre-roll


def decode_speed(src: Path, seconds: float, runs: int = 3) -> float:
    """Seconds of video ``ffmpeg -f null`` decodes per wall second (best of ``runs``)."""
    best = math.inf
    for _ in range(runs):
        started = time.perf_counter()
        run_checked(ffmpeg("-i", str(src), "-map", "0:v:0", "-f", "null", "-"), what="decode speed")
        best = min(best, time.perf_counter() - started)
    return seconds / best


def report_preroll(src: Path, seconds: float, work: Path) -> None:
    speed = decode_speed(src, seconds)
    rows: list[list[str]] = []
    for chain in PREROLL_CHAINS:
        run = run_sprocket(src, chain, work / "preroll.mp4", work / "jobs",
                           "--chunk-seconds", f"{PREROLL_CHUNK_SECONDS:g}")  # fmt: skip
        if run.code != 0 or not run.finished:
            rows.append([f"`{chain}`", "-", "-", "-", "-", "-", "-", "-", f"failed: {run.message}", "-"])
            continue
        preroll, wall = float(run.started.get("preroll", 0.0)), float(run.finished["wall"])
        busy, extra = float(run.finished.get("worker_seconds", 0.0)), preroll / speed
        pct = 100 * extra / wall if wall else math.inf
        rows.append([
            f"`{chain}`", str(run.started.get("chunks")), f"{preroll:.2f}", f"{speed:.0f}x",
            f"{extra:.3f}", f"{wall:.2f}", f"{100 * extra / busy if busy else math.inf:.1f}",
            f"{pct:.1f}", f"<= {TARGET_PREROLL_PCT:g} %", "yes" if pct <= TARGET_PREROLL_PCT else "NO",
        ])  # fmt: skip
    print(f"\ncost of pre-roll: {seconds:g} s clip, --chunk-seconds {PREROLL_CHUNK_SECONDS:g}, -w {WORKERS}, "
          "crf 23 (extra decode = pre-roll video seconds / decode speed of ffmpeg -f null)")  # fmt: skip
    markdown(["chain", "chunks", "pre-roll s of video", "decode speed", "extra decode s", "job wall s",
              "% of worker s", "extra % of wall", "target", "met"], rows)  # fmt: skip


# ------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=12.0, help="clip length (default 12)")
    parser.add_argument("--size", default="320x180", help="clip size WxH (default 320x180)")
    parser.add_argument("--preroll-seconds", type=float, default=36.0,
                        help="length of the pre-roll cost clip (default 36; 0 skips that table)")  # fmt: skip
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only chains containing TEXT (repeatable)")  # fmt: skip
    parser.add_argument("--plain-pix-fmt", default=None, metavar="FMT",
                        help="add -pix_fmt FMT to plain ffmpeg (sprocket encodes yuv420p)")  # fmt: skip
    parser.add_argument("--keep", type=Path, default=None, help="keep clips and outputs in this folder")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.preroll_seconds < 0:
        parser.error("--seconds must be positive and --preroll-seconds not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"ffmpeg: {ffmpeg_exe()}\n        {ffmpeg_version()}\nnproc:  {nproc()}")
    cases = [(group, clip, chain) for group, clip, chains in GROUPS for chain in chains]
    cases = [case for case in cases if not args.only or any(text in case[2] for text in args.only)]
    with tempfile.TemporaryDirectory(prefix="sprocket-fidelity-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        clips: dict[str, Path] = {}
        for clip in dict.fromkeys(clip for _, clip, _ in cases):
            source = clip_source(clip, args.size, args.seconds)
            clips[clip] = make_clip(work / f"src_{clip}.mp4", source)
            print(f"clip {clip}: {source}, keyframe every {KEYINT} frames")
        rows: list[Row] = []
        for i, (group, clip, chain) in enumerate(cases, 1):
            started = time.perf_counter()
            rows.append(evaluate(group, clip, chain, clips[clip], work, args.plain_pix_fmt))
            took = time.perf_counter() - started
            print(f"[{i}/{len(cases)}] {chain}: {rows[-1].verdict} ({took:.1f} s)", flush=True)
        silent = report_fidelity(rows)
        if args.preroll_seconds:
            source = clip_source("motion", args.size, args.preroll_seconds)
            report_preroll(make_clip(work / "src_long.mp4", source), args.preroll_seconds, work)
    return 1 if silent else 0


if __name__ == "__main__":
    raise SystemExit(main())
