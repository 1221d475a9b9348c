"""The clips and the three ways of graying them that bench/filter_vs_ffmpeg.py compares.

Each approach is run as its own processes, waited for to the last, so that wall time and CPU
measured around it (:func:`benchkit.measure`) count everything it started.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchkit import CACHE_DIR, ffmpeg, run_checked, sprocket_command

from sprocket_cli.media.testclip import make_test_clip

VF = "hue=s=0"
PRESET = "veryfast"
FPS = 25
KEYINT = 50  # frames: a keyframe every 2 s at 25 fps
SEGMENT_SECONDS = 2


@dataclass(frozen=True)
class Clip:
    role: str
    """short, medium or long: which of the issue's targets apply."""
    seconds: float
    size: str
    """WxH."""

    @property
    def label(self) -> str:
        return f"{self.seconds:g} s {self.size.split('x')[1]}p"

    def path(self) -> Path:
        """The clip, generated (with audio) on first use and kept under bench/.cache."""
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        sec = f"{self.seconds:g}".replace(".", "p")
        dest = CACHE_DIR / f"testsrc2_{self.size}_{FPS}fps_{sec}s_k{KEYINT}_x264_aac.mp4"
        if not dest.exists():
            print(f"generating {dest.name} ...", flush=True)
            partial = dest.with_suffix(".partial.mp4")
            started = time.perf_counter()
            make_test_clip(partial, seconds=self.seconds, size=self.size, fps=FPS, keyint=KEYINT, audio=True)
            partial.replace(dest)  # atomic: an interrupted run leaves no half clip behind
            print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
        return dest


def run_plain_ffmpeg(src: Path, out: Path, scratch: Path, parallel: int) -> dict[str, Any]:
    """(a) One ffmpeg, as an editor would type it (its own choice of threads)."""
    cmd = ffmpeg(
        "-i", str(src), "-vf", VF, "-c:v", "libx264", "-preset", PRESET, "-c:a", "copy", str(out)
    )  # fmt: skip
    run_checked(cmd, what="(a) ffmpeg")
    return {}


def run_split_parallel(src: Path, out: Path, scratch: Path, parallel: int) -> dict[str, Any]:
    """(b) The ten-line script: split on keyframes, ``parallel`` ffmpeg at a time, concatenate."""
    pieces_dir = scratch / "pieces"
    done_dir = scratch / "done"
    pieces_dir.mkdir()
    done_dir.mkdir()

    # 1. Split on keyframes by stream copy (video only: the audio is taken from the source).
    split = ffmpeg(
        "-i", str(src), "-map", "0:v:0", "-c", "copy",
        "-f", "segment", "-segment_time", str(SEGMENT_SECONDS), "-reset_timestamps", "1",
        str(pieces_dir / "p%05d.mp4"),
    )  # fmt: skip
    run_checked(split, what="(b) split")
    pieces = sorted(pieces_dir.glob("p*.mp4"))
    if not pieces:
        raise SystemExit("(b) split produced no pieces")

    # 2. Filter and encode the pieces, ``parallel`` ffmpeg processes at a time.
    def encode(piece: Path) -> Path:
        dest = done_dir / piece.name
        cmd = ffmpeg(
            "-i", str(piece), "-vf", VF, "-c:v", "libx264", "-preset", PRESET, "-an", str(dest)
        )  # fmt: skip
        run_checked(cmd, what=f"(b) encode {piece.name}")
        return dest

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        encoded = list(pool.map(encode, pieces))

    # 3. Concat demuxer by stream copy, muxing the source audio back in the same pass.
    listing = scratch / "concat.txt"
    quoted = (str(p.resolve()).replace("'", "'\\''") for p in encoded)  # concat-file quoting
    listing.write_text("".join(f"file '{q}'\n" for q in quoted))
    concat = ffmpeg(
        "-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(src),
        "-map", "0:v:0", "-map", "1:a:0?", "-c", "copy", str(out),
    )  # fmt: skip
    run_checked(concat, what="(b) concat + audio")
    return {"pieces": len(pieces)}


def run_sprocket(src: Path, out: Path, scratch: Path, parallel: int) -> dict[str, Any]:
    """(c) ``sprocket filter`` with ``parallel`` workers; its ``job_finished`` event."""
    exe = sprocket_command()
    cmd = [
        exe, "filter", str(src), "--vf", VF, "-o", str(out), "-w", str(parallel),
        "--json", "--job-dir", str(scratch), "--overwrite",
    ]  # fmt: skip
    proc = run_checked(cmd, what="(c) sprocket")
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("kind") == "job_finished":
                return dict(event)
    raise SystemExit(f"(c) sprocket printed no job_finished event:\n{proc.stdout[-2000:]}")
