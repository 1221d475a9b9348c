"""Benchmark: the rest of chunked-equals-whole — audio chains, ``--speed`` and ``stabilize``.

Companion of ``bench/filter_fidelity.py`` (video chains), for the parts of the fidelity issue
that are not a ``--vf`` chain, each against plain ffmpeg on the same binary:

  --af CHAIN     ``sprocket filter --vf null --af CHAIN`` vs ``ffmpeg -af CHAIN`` (AAC 192k):
                 decoded samples (MD5) and sample count
  --speed X      vs ``ffmpeg -vf setpts=PTS/X -af atempo...``: decoded frames and times (both
                 lossless) and samples
  stabilize      vs ``vidstabdetect`` + ``vidstabtransform=optalgo=gauss:crop=black``: the
                 worst frame's PSNR

Verdict "exact" when identical (stabilize: every frame >= 45 dB), else "MISMATCH". Run:
``python bench/audio_fidelity.py`` (about two minutes on 2 cores).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from filter_vs_ffmpeg import ffmpeg, ffmpeg_version, print_table, run_checked

from sprocket_cli.plan.speed import atempo_chain

AUDIO_CHAINS = (
    "loudnorm", "volume=0.5", "highpass=f=200", "lowpass=f=3000", "atempo=1.25", "atempo=0.8",
    "acompressor", "aecho=0.8:0.9:40:0.3", "equalizer=f=1000:t=q:w=1:g=5", "dynaudnorm",
)  # fmt: skip
SPEEDS = (2.0, 0.5, 0.25)
SECONDS = 12


def sprocket(*args: str) -> dict[str, object]:
    """Run ``sprocket`` with ``--json``; the job_started event (its chunk count)."""
    cmd = [sys.executable, "-m", "sprocket_cli", *args, "--json", "-w", "2", "--chunk-seconds", "2"]
    out = run_checked(cmd, what=" ".join(args[:3])).stdout
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return next(e for e in events if e["kind"] == "job_started")


def digest(path: Path, stream: str) -> tuple[str, int]:
    """MD5 of the decoded stream and how many frames (video) or packets (audio) it has."""
    base = ffmpeg("-i", str(path), "-map", f"0:{stream}:0", "-fps_mode", "passthrough")
    md5 = run_checked([*base, "-f", "md5", "-"], what="md5").stdout.strip()
    rows = run_checked([*base, "-f", "framemd5", "-"], what="framemd5").stdout.splitlines()
    return md5, sum(1 for r in rows if r and not r.startswith("#"))


def worst_psnr(a: Path, b: Path) -> float:
    def frames(p: Path) -> list[np.ndarray]:
        with av.open(str(p)) as c:
            return [f.to_ndarray(format="yuv420p").astype(np.float64) for f in c.decode(c.streams.video[0])]

    pairs = list(zip(frames(a), frames(b), strict=True))
    mses = [float(np.mean((x - y) ** 2)) for x, y in pairs]
    return min(math.inf if m == 0 else 10 * math.log10(255**2 / m) for m in mses)


def main() -> int:
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="sprocket-bench-audio-") as tmp:
        t = Path(tmp)
        src = t / "src.mp4"
        run_checked(ffmpeg(
            "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=30000/1001:duration={SECONDS}",
            "-f", "lavfi", "-i", f"sine=frequency=300:beep_factor=4:sample_rate=48000:duration={SECONDS}",
            "-c:v", "libx264", "-g", "45", "-pix_fmt", "yuv420p", "-c:a", "aac", str(src),
        ), what="clip")  # fmt: skip
        for i, af in enumerate(AUDIO_CHAINS):
            plain, out = t / f"p{i}.m4a", t / f"s{i}.mp4"
            run_checked(
                ffmpeg("-i", str(src), "-vn", "-af", af, "-c:a", "aac", "-b:a", "192k", str(plain)), what=af
            )
            started = sprocket(
                "filter", str(src), "--vf", "null", "--af", af, "-o", str(out), "--job-dir", tmp
            )
            same = digest(out, "a") == digest(plain, "a")
            rows.append(["--af", af, str(started["chunks"]), "samples", "exact" if same else "MISMATCH"])
        for speed in SPEEDS:
            plain, out = t / f"speed{speed}.mp4", t / f"sspeed{speed}.mp4"
            run_checked(ffmpeg("-i", str(src), "-vf", f"setpts=PTS/{speed!r}", "-af", atempo_chain(speed),
                               "-c:v", "libx264", "-qp", "0", "-c:a", "aac", "-b:a", "192k", str(plain)),
                        what=f"speed {speed}")  # fmt: skip
            started = sprocket("filter", str(src), "--speed", str(speed), "--crf", "0", "-o", str(out),
                               "--job-dir", tmp)  # fmt: skip
            same = digest(out, "v") == digest(plain, "v") and digest(out, "a") == digest(plain, "a")
            where = "one worker" if started["notices"] else f"{started['chunks']} chunks"
            rows.append(["--speed", str(speed), where, "frames+samples", "exact" if same else "MISMATCH"])
        shaky, trf = t / "shaky.mp4", t / "ref.trf"
        jitter = "crop=280:150:'20+15*sin(t*9)+6*sin(t*23)':'15+10*cos(t*7)+5*sin(t*31)'"
        run_checked(ffmpeg("-i", str(src), "-an", "-vf", f"{jitter},format=yuv420p", "-c:v", "libx264",
                           "-g", "30", str(shaky)), what="shaky clip")  # fmt: skip
        run_checked(
            ffmpeg("-i", str(shaky), "-vf", f"vidstabdetect=result={trf}", "-f", "null", "-"), what="detect"
        )
        transform = f"vidstabtransform=input={trf}:smoothing=15:optalgo=gauss:crop=black"
        run_checked(ffmpeg("-i", str(shaky), "-vf", transform, "-c:v", "libx264", "-qp", "0",
                           str(t / "stab.mp4")), what="transform")  # fmt: skip
        started = sprocket(
            "stabilize", str(shaky), "--crf", "0", "-o", str(t / "sstab.mp4"), "--job-dir", tmp
        )
        worst = worst_psnr(t / "stab.mp4", t / "sstab.mp4")
        verdict = "exact" if worst >= 45 else "MISMATCH"
        ran = f"{started['chunks']} chunks"
        rows.append(["stabilize", "shakiness 5, smoothing 15", ran, f"{worst:.1f} dB", verdict])
    print(f"{ffmpeg_version()}; {SECONDS} s 320x180 at 30000/1001, a 48 kHz tone; 2 s chunks, 2 workers")
    print_table(rows, ["kind", "chain", "ran as", "compared", "verdict"])
    bad = sum(1 for r in rows if r[-1] != "exact")
    print(f"silent mismatches: {bad}  (target 0: {'met' if bad == 0 else 'NOT MET'})")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
