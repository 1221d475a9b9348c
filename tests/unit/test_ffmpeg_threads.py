"""ffmpeg started from a side thread while another thread holds PyAV's per-thread scaler.

PyAV 16+ keeps a threaded swscale context in a thread-local of every thread that converted a
frame (``to_ndarray(format="rgb24")``). A child forked with a Python ``preexec_fn`` tears the
other threads' states down first and deadlocks in that context's destructor: ``find-face
--person img.jpg`` read the image on the main thread and its first-frame check, on a side
thread, never returned. The child must exec ffmpeg with no Python in between.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CODE = """
import sys
from concurrent.futures import ThreadPoolExecutor

import av

from sprocket_cli.media.ffmpeg import run_ffmpeg

with av.open(sys.argv[1]) as container:
    next(container.decode(video=0)).to_ndarray(format="rgb24")  # this thread's scaler
with ThreadPoolExecutor(1) as side:
    print(side.submit(run_ffmpeg, ["-version"], what="asking its version").result().returncode)
"""


def test_ffmpeg_starts_from_a_side_thread_beside_a_pyav_scaler(clip: Path) -> None:
    done = subprocess.run([sys.executable, "-c", CODE, str(clip)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "0"), done.stderr
