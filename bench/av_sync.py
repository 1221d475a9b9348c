"""Benchmark: audio/video sync of ``sprocket filter``'s output over a long clip (issue 13).

Issue 13: "Muxing keeps audio and video in sync to within one audio frame over a 2-hour
output." Each clip is a tiny testsrc2 picture (64x36, libx264 ultrafast, a keyframe every ~2 s)
whose first frame at or after every whole second is painted white (a flash), with AAC audio
(48 kHz, 64 kb/s): a quiet 441 Hz tone and a 5 ms 3 kHz click on every whole second. Two
clips: 30000/1001 fps (frames never land on the second) and 25 fps. Each is filtered four
ways on the same ffmpeg binary (libx264 ``-preset veryfast``, crf 23, as sprocket's default):

  ffmpeg    ``ffmpeg -i CLIP -vf hue=s=0 -c:a copy``       audio copied
  sprocket  ``sprocket filter CLIP --vf hue=s=0``          (local backend, default chunking)
  ffmpeg    ``ffmpeg -i CLIP -vf hue=s=0 -af volume=0.5 -c:a aac -b:a 192k``   audio filtered
  sprocket  ``sprocket filter CLIP --vf hue=s=0 --af volume=0.5``

Two measurements per output (and the clip itself), with PyAV:

  timestamps  first decoded video and audio frame (start), last frame's pts + duration (end);
              A-V offset = audio - video at the start and at the end; drift = end - start.
              Target: sprocket's start and end offsets each equal plain ffmpeg's to within one
              AAC frame (1024 samples = 21.3 ms at 48 kHz).
  content     each click's onset (first sample over half the window's peak) minus the pts of
              its flash frame, near the start, the middle and the end, as the change from the
              same click in the clip: how far sound moved against picture (read modulo the
              1 s period, within +-0.5 s). Target: within one AAC frame everywhere.

Two more clips check the start offset, which does not grow with length, so they are short
(``--shift-seconds``, default 120): the 29.97 clip remuxed with its video (``29.97+v``) or its
audio (``29.97+a``) starting 0.3 s after the other stream, as in real files.

Filtered runs are slow (ffmpeg's AAC encoder: ~30x real time here; sprocket encodes the track
twice, for the stream and the file), so the 25 fps clip runs copied only (``--filtered``).
Clips are cached under ``bench/.cache/``. Full run (2 h clips: ~25 minutes on 2 quiet cores)
and a short one to check that it works::

    python bench/av_sync.py
    python bench/av_sync.py --seconds 600 --clips 29.97
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from benchkit import CACHE_DIR, ffmpeg, ffmpeg_version, measure, nproc, print_table, run_checked

VF = "hue=s=0"
AF = "volume=0.5"
PRESET = "veryfast"  # sprocket's default; the same for plain ffmpeg
AAC_BITRATE = "192k"  # what sprocket transcodes filtered audio to (media/containers.py AAC)
RATE = 48000
AUDIO_FRAME = 1024 / RATE
"""Seconds in one AAC frame: the tolerance."""
SIZE = "64x36"
#: name -> (frame rate as ffmpeg takes it, frames between keyframes: ~2 s).
CLIPS = {"29.97": ("30000/1001", 60), "25": ("25", 50)}
#: Clips whose streams do not start together, as in a file cut by stream copy or from a camera:
#: name -> (clip it is made from, the stream that starts SHIFT s after the other).
SHIFTED = {"29.97+v": ("29.97", "video"), "29.97+a": ("29.97", "audio")}
SHIFT = 0.3
"""Seconds; not 0.5, which the click/flash pairing (modulo 1 s) could not tell from -0.5."""
#: The click: a 3 kHz burst this many samples long at the start of every second, over a tone.
CLICK_SAMPLES = 240
WINDOW = 4.0
"""Seconds of clicks looked at around the start, the middle and the end."""


# ------------------------------------------------------------------------------------ clip


def clip_path(name: str, seconds: int) -> Path:
    """The clip ``name`` of ``seconds``, made on first use and kept under bench/.cache."""
    if name in SHIFTED:
        return shifted_clip(name, seconds)
    rate, keyint = CLIPS[name]
    dest = CACHE_DIR / f"avsync_{SIZE}_{name}fps_{seconds}s_flash_click.mp4"
    if dest.exists():
        return dest
    num, den = Fraction(rate).numerator, Fraction(rate).denominator
    # Frame n is at n*den/num s: it is the first at or after a whole second when the fraction
    # of its time is below one frame, i.e. (n*den) mod num < den (integers: exact).
    flash = f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(n*{den},{num}),{den})'"
    video = f"testsrc2=size={SIZE}:rate={rate}:duration={seconds},{flash}"
    tone = f"0.1*sin(2*PI*441*t)+0.7*lt(n,{CLICK_SAMPLES})*sin(2*PI*3000*t)"  # 441 Hz: whole cycles
    audio = (
        f"aevalsrc=exprs='{tone}':s={RATE}:d=1,aloop=loop=-1:size={RATE},"
        f"atrim=end_sample={seconds * RATE},asetpts=N/SR/TB"
    )
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".partial.mp4")
    print(f"making {dest.name} ...", flush=True)
    made = measure(lambda: run_checked(ffmpeg(
        "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio,
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-g", str(keyint), "-keyint_min", str(keyint), "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k", str(partial),
    ), what=f"making {dest.name}"))  # fmt: skip
    partial.replace(dest)  # atomic: an interrupted run leaves no half clip behind
    print(f"  done in {made.wall:.1f} s", flush=True)
    return dest


def shifted_clip(name: str, seconds: int) -> Path:
    """Its base clip remuxed (stream copy) with one stream starting :data:`SHIFT` s late."""
    base, late = SHIFTED[name]
    src = clip_path(base, seconds)
    dest = src.with_name(f"{src.stem}_{late}_late_{SHIFT:g}s.mp4")
    if not dest.exists():
        partial = dest.with_suffix(".partial.mp4")
        shifted = ["-itsoffset", str(SHIFT), "-i", str(src)]
        inputs = [*shifted, "-i", str(src)] if late == "video" else ["-i", str(src), *shifted]
        cmd = ffmpeg(*inputs, "-map", "0:v:0", "-map", "1:a:0", "-c", "copy", str(partial))
        run_checked(cmd, what=f"making {dest.name}")
        partial.replace(dest)
    return dest


# -------------------------------------------------------------------------------- the runs


def run_plain(src: Path, out: Path, af: str | None) -> None:
    audio = ["-af", af, "-c:a", "aac", "-b:a", AAC_BITRATE] if af else ["-c:a", "copy"]
    cmd = ffmpeg("-i", str(src), "-vf", VF, "-c:v", "libx264", "-preset", PRESET, *audio, str(out))
    run_checked(cmd, what="plain ffmpeg")


def run_sprocket(src: Path, out: Path, af: str | None, job_dir: Path) -> dict[str, object]:
    """``sprocket filter`` (local backend, default chunking); its job_started event."""
    cmd = [sys.executable, "-m", "sprocket_cli", "filter", str(src), "--vf", VF, "-o", str(out)]
    cmd += ["--af", af] if af else []
    cmd += ["--json", "--job-dir", str(job_dir), "--overwrite"]
    lines = run_checked(cmd, what="sprocket filter").stdout.splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    return next((e for e in events if e.get("kind") == "job_started"), {})


# --------------------------------------------------------------------------- measurement


@dataclass
class Scan:
    """What one stretch of a file decodes to."""

    video: list[tuple[float, float, float]]
    """(pts, duration, mean luma) per video frame, seconds."""
    audio_start: float
    """Seconds: the first decoded audio sample's time."""
    samples: np.ndarray
    """Channel 0, contiguous from audio_start."""
    audio_end: float
    """Seconds: the last decoded audio frame's pts + its samples."""


def scan(path: Path, start: float, end: float) -> Scan:
    """Decode video and audio from ``start`` (seeking to the keyframe before) to ``end`` s."""
    video: list[tuple[float, float, float]] = []
    pieces: list[np.ndarray] = []
    audio_start = audio_end = float("nan")
    with av.open(str(path)) as container:
        vs, aud = container.streams.video[0], container.streams.audio[0]
        if start > 0:
            container.seek(int(max(0.0, start - 3) * av.time_base))
        done = {vs.index: False, aud.index: False}
        for packet in container.demux(vs, aud):
            for frame in packet.decode():
                if not isinstance(frame, av.VideoFrame | av.AudioFrame) or frame.pts is None:
                    continue
                t = float(frame.pts * (frame.time_base or 0))
                done[packet.stream.index] = t > end
                if isinstance(frame, av.VideoFrame):
                    dur = float((frame.duration or 0) * (frame.time_base or 0))
                    video.append((t, dur, float(frame.to_ndarray(format="gray").mean())))
                else:
                    if t < start - 1:  # the first frames after a seek decode without pre-roll
                        continue
                    if not pieces:
                        audio_start = t
                    elif abs(t - audio_end) > 1 / RATE:
                        raise SystemExit(f"{path.name}: audio not contiguous at {t:.4f} s")
                    pieces.append(frame.to_ndarray()[0].astype(np.float32))
                    audio_end = t + frame.samples / frame.sample_rate
            if all(done.values()):
                break
    return Scan(video, audio_start, np.concatenate(pieces) if pieces else np.zeros(0), audio_end)


def sync_points(s: Scan, start: float, end: float) -> dict[int, float]:
    """Whole second -> click onset minus its flash frame's pts (seconds), for clicks in the span."""
    lumas = np.array([v[2] for v in s.video])
    if lumas.size == 0 or s.samples.size == 0:
        return {}
    mid = (float(np.median(lumas)) + float(lumas.max())) / 2
    flashes = [v[0] for v in s.video if v[2] > mid]
    env = np.abs(s.samples)
    loud = np.flatnonzero(env > 0.5 * env.max())
    onsets = loud[np.concatenate([[True], np.diff(loud) > RATE // 2])] if loud.size else loud
    points = {}
    for i in onsets:
        click = s.audio_start + int(i) / RATE
        near = [f for f in flashes if abs(f - click) < 0.5]
        if start <= click <= end and near:
            points[round(click)] = click - min(near, key=lambda f: abs(f - click))
    return points


@dataclass(frozen=True)
class Sync:
    v_start: float
    v_end: float
    a_start: float
    a_end: float
    points: dict[str, dict[int, float]]
    """Window (start, middle, end) -> whole second -> click minus flash, seconds."""

    @property
    def start_offset(self) -> float:
        return self.a_start - self.v_start

    @property
    def end_offset(self) -> float:
        return self.a_end - self.v_end


def measure_sync(path: Path, seconds: float) -> Sync:
    head = scan(path, 0.0, 1 + WINDOW)
    half = seconds / 2
    middle = scan(path, half - WINDOW / 2, half + WINDOW / 2 + 0.5)
    tail = scan(path, seconds - WINDOW - 1, float("inf"))
    last = max(tail.video)
    return Sync(
        v_start=min(v[0] for v in head.video),
        v_end=last[0] + last[1],
        a_start=head.audio_start,
        a_end=tail.audio_end,
        points={
            "start": sync_points(head, 0.5, 1 + WINDOW),
            "middle": sync_points(middle, half - WINDOW / 2, half + WINDOW / 2),
            "end": sync_points(tail, seconds - WINDOW - 0.5, seconds - 0.5),
        },
    )


# ---------------------------------------------------------------------------------- report


def ms(seconds: float) -> str:
    return f"{1000 * seconds:+.1f} ms ({seconds / AUDIO_FRAME:+.2f} af)"


def worst_moves(out: Sync, src: Sync) -> dict[str, float | None]:
    """Per window, the largest move of sound against picture from the clip's (signed, s)."""
    moves: dict[str, float | None] = {}
    for window, points in src.points.items():
        diffs = [out.points[window][k] - v for k, v in points.items() if k in out.points[window]]
        moves[window] = max(diffs, key=abs) if diffs else None
    return moves


@dataclass(frozen=True)
class Row:
    clip: str
    mode: str
    tool: str
    sync: Sync


def timestamp_table(rows: Sequence[Row], baselines: dict[tuple[str, str], Sync]) -> int:
    """The first table; returns how many sprocket rows miss the target."""
    out, missed = [], 0
    for r in rows:
        s = r.sync
        verdict = "reference"
        if r.tool == "sprocket":
            base = baselines[(r.clip, r.mode)]
            d_start, d_end = s.start_offset - base.start_offset, s.end_offset - base.end_offset
            ok = abs(d_start) <= AUDIO_FRAME and abs(d_end) <= AUDIO_FRAME
            missed += not ok
            verdict = f"{'ok' if ok else 'MISSED'} (vs ffmpeg {1000 * d_start:+.1f}/{1000 * d_end:+.1f} ms)"
        out.append([
            r.clip, r.mode, r.tool, f"{s.v_start:.4f}", f"{s.v_end:.4f}", f"{s.a_start:.4f}",
            f"{s.a_end:.4f}", ms(s.start_offset), ms(s.end_offset), ms(s.end_offset - s.start_offset),
            verdict,
        ])  # fmt: skip
    header = ["clip", "audio", "tool", "video start", "video end", "audio start", "audio end"]
    print_table(out, [*header, "A-V at start", "A-V at end", "drift", "verdict"])
    return missed


def content_table(rows: Sequence[Row], sources: dict[str, Sync]) -> int:
    """The second table; returns how many outputs move sound against picture by > 1 AAC frame."""
    out, missed = [], 0
    for r in rows:
        if r.tool == "clip":
            continue
        moves = worst_moves(r.sync, sources[r.clip])
        counts = {w: len(p) for w, p in r.sync.points.items()}
        ok = all(m is not None and abs(m) <= AUDIO_FRAME for m in moves.values())
        missed += not ok
        cells = [ms(m) if m is not None else "no clicks" for m in moves.values()]
        clicks = "/".join(str(c) for c in counts.values())
        out.append([r.clip, r.mode, r.tool, *cells, clicks, "in sync" if ok else "OUT OF SYNC"])
    header = ["clip", "audio", "tool", "moved at start", "moved mid-way", "moved at end"]
    print_table(out, [*header, "clicks s/m/e", "verdict"])
    return missed


# ------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=7200, help="clip length (default 7200: 2 h)")
    parser.add_argument("--shift-seconds", type=int, default=120, help="length of the shifted clips")
    names = [*CLIPS, *SHIFTED]
    parser.add_argument("--clips", default=",".join(names), help=f"which clips: {', '.join(names)}")
    parser.add_argument(
        "--filtered", default="29.97,29.97+v,29.97+a",
        help="clips also run with --af (default: not 25, for time; 'none' for none)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.chosen = args.clips.split(",")
    args.filtered = [] if args.filtered == "none" else args.filtered.split(",")
    unknown = [c for c in [*args.chosen, *args.filtered] if c not in names]
    if unknown:
        parser.error(f"unknown clip {', '.join(unknown)} (choose from {', '.join(names)})")
    if min(args.seconds, args.shift_seconds) < 3 * WINDOW:
        parser.error(f"--seconds and --shift-seconds must be at least {3 * WINDOW:g}")
    return args


def bench_clip(name: str, seconds: int, filtered: bool, work: Path) -> list[Row]:
    src = clip_path(name, seconds)
    started = time.perf_counter()
    rows = [Row(name, "-", "clip", measure_sync(src, seconds))]
    print(f"clip {name} measured in {time.perf_counter() - started:.1f} s", flush=True)
    for mode, af in (("copied", None), ("filtered", AF))[: 2 if filtered else 1]:
        for tool in ("ffmpeg", "sprocket"):
            out = work / f"{name}_{mode}_{tool}.mp4"
            if tool == "ffmpeg":
                plain = measure(functools.partial(run_plain, src, out, af))
                wall, cpu, said = plain.wall, plain.cpu, ""
            else:
                job = Path(tempfile.mkdtemp(prefix="job-", dir=work))
                ran = measure(functools.partial(run_sprocket, src, out, af, job))
                wall, cpu, said = ran.wall, ran.cpu, f", {ran.value.get('chunks', '?')} chunks"
            started = time.perf_counter()
            sync = measure_sync(out, seconds)
            took = time.perf_counter() - started
            print(
                f"{name:<7} audio {mode:<8} {tool:<8} {wall:7.1f} s wall {cpu:7.1f} s CPU"
                f"{said}; measured in {took:.1f} s",
                flush=True,
            )
            rows.append(Row(name, mode, tool, sync))
            out.unlink()
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load = os.getloadavg()
    print(f"{ffmpeg_version()}")
    print(f"nproc {nproc()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min)")
    print(f"clips {SIZE}: {', '.join(args.chosen)}; {args.seconds} s ({args.shift_seconds} s shifted)")
    print(f"-vf {VF}, --af {AF} on {', '.join(set(args.filtered) & set(args.chosen)) or 'none'}")
    print()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sprocket-bench-avsync-") as tmp:
        for name in args.chosen:
            seconds = args.shift_seconds if name in SHIFTED else args.seconds
            rows += bench_clip(name, seconds, name in args.filtered, Path(tmp))
    baselines = {(r.clip, r.mode): r.sync for r in rows if r.tool == "ffmpeg"}
    sources = {r.clip: r.sync for r in rows if r.tool == "clip"}
    print()
    print("timestamps: first decoded frame (start), last pts + duration (end), seconds;")
    print(f"A-V offset = audio - video; af = AAC frames of 1024 samples ({1000 * AUDIO_FRAME:.2f} ms)")
    missed = timestamp_table(rows, baselines)
    print(f"target: sprocket's offsets equal ffmpeg's within 1 af: {'met' if not missed else 'NOT MET'}")
    print()
    print("content: click onset minus its flash frame, change from the clip's (worst click per window)")
    moved = content_table(rows, sources)
    print(f"target: sound moves against picture by <= 1 af: {'met' if not moved else 'NOT MET'}")
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 1 if missed or moved else 0


if __name__ == "__main__":
    raise SystemExit(main())
