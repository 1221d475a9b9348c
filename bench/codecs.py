"""Benchmark: each encoder through sprocket against plain ffmpeg with the same encoder (issue 17).

Two tables, on one testsrc2 clip with motion, a 48 kHz AAC tone and a keyframe every second
(so that chunks of any whole number of seconds start on one), all with the same ffmpeg binary:

  codecs    for x264, x265, SVT-AV1, VP9, ProRes and DNxHR, at the encoder's default crf and
            sprocket's default speed (veryfast, mapped to each encoder's own): plain
            ``ffmpeg -i in -vf null <the options sprocket gives the encoder> <the audio sprocket
            writes> out`` against ``sprocket filter in --vf null --codec C -o out`` (default
            chunks: 2 s, then doubling to 6 s). Runs alternate (ffmpeg, sprocket, ffmpeg, ...)
            and the walls are medians. Sizes are of the video stream only (packet bytes);
            quality is PSNR (all planes) against the source, both outputs brought to the
            source's yuv420p first, so that 4:2:2 10-bit masters are scored like the rest.
  chunks    for each codec with a crf: the video bytes of sprocket's output with 1, 2, 4 and 6 s chunks
            (every chunk starts with a keyframe) against the whole-file encode *at equal
            quality*: the whole file is encoded at three crfs around the default, and its
            bytes at the chunked output's PSNR are read off the line through log(bytes) over
            PSNR (BD-rate's idea, at one point). The same-crf size ratio and PSNR difference
            are shown too.
  target    ``--target-vmaf 93`` with x264 in 2 s chunks against the highest single crf (same
            chunks) whose worst chunk's VMAF is at least the target run's worst: total video
            bytes. Both are scored here (mean VMAF per chunk against the source).

Clips are made once and kept under ``bench/.cache/``. Full run (60 s 1080p, 3 runs; long on
2 cores, run it on a quiet machine)::

    python bench/codecs.py

Short run (10 s 720p, one run; a few minutes)::

    python bench/codecs.py --short

Chunk-length table alone for some codecs (the figures sprocket_cli/media/chunkcost.py keeps)::

    python bench/codecs.py --short --codecs av1,vp9 --no-codecs --no-target
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import os
import re
import shutil
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import benchkit
from benchkit import CACHE_DIR, ffmpeg, ffmpeg_version, measure, nproc, print_table, run_checked

from sprocket_cli.media.codecs import encoder_options, resolve
from sprocket_cli.media.containers import audio_target, container_for
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from sprocket_cli.media.testclip import make_test_clip

#: Alias and the container sprocket writes it in (the suffix of -o).
CODECS = [
    ("x264", ".mp4"),
    ("x265", ".mp4"),
    ("av1", ".mp4"),
    ("vp9", ".webm"),
    ("prores", ".mov"),
    ("dnxhr", ".mov"),
]
CHUNK_SECONDS = (1, 2, 4, 6)
#: crf steps either side of the default for the whole-file rate-quality line.
CRF_SPREAD = 2
KEYINT = 25  # frames: a keyframe every second at 25 fps
SOURCE_AUDIO = "aac"  # what make_test_clip writes
TARGET_VMAF = 93.0
#: Single-crf encodes at most when looking for the one that matches the target's worst chunk.
TARGET_TRIES = 8


@dataclass(frozen=True)
class Clip:
    seconds: int
    size: str

    @property
    def label(self) -> str:
        return f"{self.seconds} s {self.size.split('x')[1]}p"

    def path(self) -> Path:
        dest = CACHE_DIR / f"testsrc2_{self.size}_25fps_{self.seconds}s_k{KEYINT}_x264_aac.mp4"
        if not dest.exists():
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            partial = dest.with_suffix(".partial.mp4")
            make_test_clip(partial, seconds=self.seconds, size=self.size, fps=25, keyint=KEYINT)
            partial.replace(dest)  # an interrupted run leaves no half clip behind
        return dest


FULL, SHORT = Clip(60, "1920x1080"), Clip(10, "1280x720")


@dataclass(frozen=True)
class Output:
    video_bytes: int
    psnr: float
    """dB, all planes, against the source."""


def _flags(options: dict[str, str]) -> list[str]:
    return [word for key, value in options.items() for word in (f"-{key}", value)]


def plain_ffmpeg(codec: str, src: Path, out: Path, crf: float | None = None) -> None:
    """One ffmpeg with the encoder options and the audio sprocket would use."""
    audio = audio_target(container_for(out), resolve(codec).codec, SOURCE_AUDIO)
    audio_args = ["-c:a", "copy"] if SOURCE_AUDIO in audio.copies else ["-c:a", *audio.transcode]
    video = _flags(encoder_options(codec, crf))
    run_checked(ffmpeg("-i", str(src), "-vf", "null", *video, *audio_args, str(out)), what=f"ffmpeg {codec}")


def sprocket(
    codec: str, src: Path, out: Path, job_dir: Path, workers: int, chunk: float | None = None, *more: str
) -> list[dict[str, Any]]:
    """``sprocket filter`` with its default chunks, or chunks of ``chunk`` seconds throughout,
    and ``more`` options; each chunk's result (``task_finished``), in chunk order."""
    exe = benchkit.sprocket_command()
    cmd = [exe, "filter", str(src), "--vf", "null", "--codec", codec, "-o", str(out), "-w", str(workers)]
    cmd += ["--json", "--job-dir", str(job_dir), "--overwrite", *more]
    if chunk is not None:
        cmd += ["--chunk-seconds", f"{chunk:g}", "--first-chunk-seconds", f"{chunk:g}"]
    proc = run_checked(cmd, what=f"sprocket {codec}")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if not any(e.get("kind") == "job_finished" for e in events):
        raise SystemExit(f"sprocket {codec} printed no job_finished event:\n{proc.stdout[-2000:]}")
    done = [e["result"] for e in events if e.get("kind") == "task_finished"]
    return sorted((r for r in done if not r.get("superseded")), key=lambda r: r["chunk"])  # no backups


def video_bytes(path: Path) -> int:
    """Bytes of the first video stream's packets (demuxed, not decoded)."""
    with av.open(str(path)) as container:
        return sum(packet.size for packet in container.demux(container.streams.video[0]))


def psnr(path: Path, src: Path) -> float:
    """PSNR (dB, ffmpeg's all-planes average) of ``path`` against ``src`` in ``src``'s yuv420p."""
    # One set of colour tags on both: the source is untagged and DNxHR tags BT.709, and ffmpeg's
    # format negotiation would convert one to the other's matrix first (26 dB instead of 49).
    same = "setparams=range=tv:colorspace=bt709,format=yuv420p"
    graph = f"[0:v]{same}[d];[1:v]{same}[r];[d][r]psnr"
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-i", str(src), "-lavfi", graph]
    stderr = run_checked([*cmd, "-f", "null", "-"], what=f"PSNR of {path.name}").stderr
    found = re.search(r"PSNR y:\S+ u:\S+ v:\S+ average:(\S+)", stderr)
    if found is None:
        raise SystemExit(f"no PSNR summary for {path.name}:\n{stderr[-1000:]}")
    return float(found.group(1))


def scored(path: Path, src: Path) -> Output:
    return Output(video_bytes(path), psnr(path, src))


# ---------------------------------------------------------------------------------- codecs


@dataclass(frozen=True)
class CodecRow:
    codec: str
    plain_wall: float
    sprocket_wall: float
    plain: Output
    chunked: Output


def bench_codec(codec: str, suffix: str, src: Path, runs: int, workers: int, work: Path) -> CodecRow:
    plain_out, ours = work / f"plain_{codec}{suffix}", work / f"sprocket_{codec}{suffix}"
    walls: dict[str, list[float]] = {"ffmpeg": [], "sprocket": []}
    for run in range(1, runs + 1):
        plain_out.unlink(missing_ok=True)
        walls["ffmpeg"].append(measure(functools.partial(plain_ffmpeg, codec, src, plain_out)).wall)
        job_dir = Path(tempfile.mkdtemp(prefix=f"job_{codec}_", dir=work))
        walls["sprocket"].append(
            measure(functools.partial(sprocket, codec, src, ours, job_dir, workers)).wall
        )
        shutil.rmtree(job_dir)  # not timed
        print(f"{codec:<7} run {run}/{runs}: ffmpeg {walls['ffmpeg'][-1]:6.2f} s, "
              f"sprocket {walls['sprocket'][-1]:6.2f} s", flush=True)  # fmt: skip
    row = CodecRow(
        resolve(codec).name,
        statistics.median(walls["ffmpeg"]),
        statistics.median(walls["sprocket"]),
        scored(plain_out, src),
        scored(ours, src),
    )
    plain_out.unlink()
    ours.unlink()
    return row


def report_codecs(rows: Sequence[CodecRow], runs: int) -> None:
    print(f"\ncodecs: sprocket against plain ffmpeg, same encoder and options (wall: medians of {runs})")
    table = [
        [
            r.codec,
            f"{r.plain_wall:.2f}",
            f"{r.sprocket_wall:.2f}",
            f"{r.sprocket_wall / r.plain_wall:.3f}",
            f"{r.plain.video_bytes / 1e6:.2f}",
            f"{r.chunked.video_bytes / 1e6:.2f}",
            f"{100 * (r.chunked.video_bytes / r.plain.video_bytes - 1):+.2f}%",
            f"{r.plain.psnr:.3f}",
            f"{r.chunked.psnr - r.plain.psnr:+.3f}",
        ]
        for r in rows
    ]
    header = "encoder, ffmpeg s, sprocket s, wall x, ffmpeg MB, sprocket MB, size, PSNR dB, dPSNR"
    print_table(table, header.split(", "))
    print("(wall x: sprocket / ffmpeg, target <= 1.05; size: sprocket's video bytes against ffmpeg's,")
    print(" target within 2 %; dPSNR: sprocket's minus ffmpeg's, target within 0.2 dB)")


# ---------------------------------------------------------------------------------- chunks


def bytes_at(psnr_db: float, line: Sequence[Output]) -> float:
    """The whole-file encode's video bytes at ``psnr_db``: log(bytes) read off straight lines
    between the whole-file points, extended past the end ones."""
    points = sorted(line, key=lambda o: o.psnr)
    pairs = list(itertools.pairwise(points))
    a, b = next(((a, b) for a, b in pairs if psnr_db <= b.psnr), pairs[-1])
    slope = (math.log(b.video_bytes) - math.log(a.video_bytes)) / (b.psnr - a.psnr)
    return math.exp(math.log(a.video_bytes) + slope * (psnr_db - a.psnr))


@dataclass(frozen=True)
class ChunkRow:
    codec: str
    seconds: float
    whole: Output
    chunked: Output
    equal_quality_bytes: float


def bench_chunks(codec: str, suffix: str, src: Path, workers: int, work: Path) -> list[ChunkRow]:
    enc = resolve(codec)
    assert enc.default_crf is not None  # only codecs with a crf are chosen
    line = {}
    for crf in (enc.default_crf - CRF_SPREAD, enc.default_crf, enc.default_crf + CRF_SPREAD):
        out = work / f"whole_{codec}_{crf}{suffix}"
        plain_ffmpeg(codec, src, out, crf)
        line[crf] = scored(out, src)
        out.unlink()
    rows = []
    for seconds in CHUNK_SECONDS:
        out, job_dir = work / f"chunks_{codec}_{seconds}{suffix}", work / f"job_{codec}_{seconds}"
        sprocket(codec, src, out, job_dir, workers, chunk=seconds)
        got = scored(out, src)
        shutil.rmtree(job_dir)
        out.unlink()
        rows.append(
            ChunkRow(enc.name, seconds, line[enc.default_crf], got, bytes_at(got.psnr, list(line.values())))
        )
        print(
            f"{codec:<7} {seconds} s chunks: {got.video_bytes / 1e6:.2f} MB at {got.psnr:.3f} dB", flush=True
        )
    return rows


def report_chunks(rows: Sequence[ChunkRow]) -> None:
    print("\nchunk length: sprocket's video bytes against the whole-file encode (default crf)")
    table = [
        [
            r.codec,
            f"{r.seconds:g}",
            f"{100 * (r.chunked.video_bytes / r.whole.video_bytes - 1):+.2f}%",
            f"{r.chunked.psnr - r.whole.psnr:+.3f}",
            f"{100 * (r.chunked.video_bytes / r.equal_quality_bytes - 1):+.2f}%",
        ]
        for r in rows
    ]
    print_table(table, ["encoder", "chunk s", "size, same crf", "dPSNR, same crf", "size, equal PSNR"])
    print("(size, equal PSNR: against the whole-file bytes at the chunked output's PSNR, read off the")
    print(f" whole file's crf {-CRF_SPREAD:+d}/0/{CRF_SPREAD:+d} line; target <= 3 % at 2 s chunks)")


# ---------------------------------------------------------------------------------- target


def chunk_vmaf(path: Path, src: Path, frames: Sequence[int], log: Path) -> list[float]:
    """Mean VMAF of each chunk of ``path`` (``frames`` each, in order) against ``src``, frames
    paired by their order as the worker pairs them."""
    paired = "settb=1/25,setpts=N,format=yuv420p"
    graph = f"[0:v]{paired}[d];[1:v]{paired}[r];[d][r]libvmaf=log_fmt=json:log_path={log}:n_threads={nproc()}"
    run_checked(ffmpeg("-i", str(path), "-i", str(src), "-lavfi", graph, "-f", "null", "-"), what="VMAF")
    scores = [f["metrics"]["vmaf"] for f in json.loads(log.read_text())["frames"]]
    ends = list(itertools.accumulate(frames))
    return [statistics.fmean(scores[end - n : end]) for n, end in zip(frames, ends, strict=True)]


def bench_target(codec: str, vmaf: float, src: Path, workers: int, work: Path) -> list[list[str]]:
    """``--target-vmaf`` against the one crf whose worst chunk scores as well: total bytes."""
    out = work / f"target_{codec}.mp4"
    chunks = sprocket(codec, src, out, work / "job_target", workers, 2, "--target-vmaf", f"{vmaf:g}")
    # Both sides scored here, with one ruler (the workers' own scores are in ``meta``).
    frames, target_bytes = [r["frames"] for r in chunks], video_bytes(out)
    worst = min(chunk_vmaf(out, src, frames, work / "vmaf_target.json"))
    # One crf for all starts at the hardest chunk's and moves by the encoder's finest step to the
    # highest whose worst chunk still reaches ``worst`` (chunks as above: only the crf differs).
    tried: dict[float, tuple[int, float]] = {}
    crf, step = float(min(r["meta"]["crf"] for r in chunks)), resolve(codec).crf_step
    for _ in range(TARGET_TRIES):
        # --crf takes whole numbers; the encoder takes quarters, as the target's search does.
        sprocket(codec, src, out, work / f"job_crf{crf:g}", workers, 2, "--encoder-args", f"-crf {crf:g}")
        tried[crf] = (video_bytes(out), min(chunk_vmaf(out, src, frames, work / f"vmaf{crf:g}.json")))
        print(f"{codec} crf {crf:g}: worst chunk VMAF {tried[crf][1]:.3f} (target's worst {worst:.3f})")
        ok = tried[crf][1] >= worst
        if (crf + step if ok else crf - step) in tried:
            break  # the next crf over was measured on the other side
        crf = crf + step if ok else crf - step
    if not any(v >= worst for _, v in tried.values()):
        raise SystemExit(f"no crf tried reached the target run's worst chunk VMAF {worst:.3f}")
    good = max(c for c, (_, v) in tried.items() if v >= worst)
    single_bytes, single_worst = tried[good]
    crfs = [r["meta"]["crf"] for r in chunks]
    return [
        [f"target {vmaf:g}", f"{min(crfs):g}-{max(crfs):g}", f"{worst:.3f}", f"{target_bytes / 1e6:.3f}", ""],
        [f"crf {good:g}", f"{good:g}", f"{single_worst:.3f}", f"{single_bytes / 1e6:.3f}",
         f"{100 * (target_bytes / single_bytes - 1):+.2f}%"],
    ]  # fmt: skip


# ------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--short", action="store_true", help=f"a {SHORT.label} clip, one run")
    parser.add_argument("--runs", type=int, help="runs per codec and approach (default 3; --short: 1)")
    parser.add_argument("--codecs", default=",".join(c for c, _ in CODECS), help="which codecs (default all)")
    parser.add_argument("--no-codecs", action="store_true", help="skip the sprocket-against-ffmpeg table")
    parser.add_argument("--no-chunks", action="store_true", help="skip the chunk-length table")
    parser.add_argument("--no-target", action="store_true", help="skip the --target-vmaf table (x264)")
    parser.add_argument(
        "--workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="sprocket workers (default: the cores)",
    )
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.short else 3)
    known = dict(CODECS)
    unknown = [c for c in args.codecs.split(",") if c not in known]
    if unknown:
        parser.error(f"unknown codec {', '.join(unknown)} (choose from {', '.join(known)})")
    args.chosen = [(c, known[c]) for c in args.codecs.split(",")]
    if args.runs < 1 or args.workers < 1:
        parser.error("--runs and --workers must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    clip = SHORT if args.short else FULL
    src = clip.path()
    load = os.getloadavg()
    print(f"ffmpeg: {ffmpeg_exe()}\n        {ffmpeg_version()}")
    print(f"nproc:  {nproc()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min)")
    print(
        f"clip:   {clip.label}, 25 fps, keyframe every {KEYINT} frames ({src.name}); {args.workers} workers\n"
    )
    # Intra-only codecs (ProRes, DNxHR) have no crf, and chunks cost them nothing by construction.
    overhead = [] if args.no_chunks else [(c, s) for c, s in args.chosen if resolve(c).crf is not None]
    with tempfile.TemporaryDirectory(prefix="sprocket-bench-codecs-") as tmp:
        work = Path(tmp)
        codecs = [] if args.no_codecs else args.chosen
        codec_rows = [bench_codec(c, s, src, args.runs, args.workers, work) for c, s in codecs]
        chunk_rows = [row for c, s in overhead for row in bench_chunks(c, s, src, args.workers, work)]
        target = args.no_target or "x264" not in dict(args.chosen)
        target_rows = [] if target else bench_target("x264", TARGET_VMAF, src, args.workers, work)
    if codec_rows:
        report_codecs(codec_rows, args.runs)
    if chunk_rows:
        report_chunks(chunk_rows)
    if target_rows:
        print(f"\n--target-vmaf {TARGET_VMAF:g} (libx264, 2 s chunks) against one crf for all chunks")
        print_table(target_rows, ["encode", "crf", "worst chunk VMAF", "video MB", "target's bytes"])
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
