"""The ffmpeg runs a job makes before and beside its work, seen from every one of its Python
processes (the command, the fork server, the workers) through an audit hook each loads at start.

Each run is a process start, and the ones before the first task are on the job's critical path:
the binary is found (imageio-ffmpeg checks it with ``ffmpeg -version``) once by the command and
once by the fork server, never by a worker, and the first-frame check runs one ffmpeg when the
segments' muxer is the output's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sprocket_cli

HOOK = """
import json, os, sys

def _note(event, args):
    if event == "subprocess.Popen":
        with open(os.environ["SPROCKET_TEST_POPEN_LOG"], "a") as log:
            log.write(json.dumps([os.getpid(), [str(a) for a in args[1]]]) + "\\n")

sys.addaudithook(_note)
"""


@pytest.fixture
def runs(clip: Path, tmp_path: Path) -> list[tuple[int, list[str]]]:
    """(pid, argv) of every process a two-worker `sprocket filter` job started."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HOOK)
    log = tmp_path / "popen.log"
    env = {k: v for k, v in os.environ.items() if k not in ("SPROCKET_FFMPEG", "IMAGEIO_FFMPEG_EXE")}
    # The hook, and this tree's sprocket_cli (the test runs in its own folder, not the tree's).
    tree = Path(sprocket_cli.__file__).parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(hooks), str(tree), *filter(None, [env.get("PYTHONPATH")])])
    env["SPROCKET_TEST_POPEN_LOG"] = str(log)
    args = ["filter", str(clip), "--vf", "hue=s=0", "-o", str(tmp_path / "out.mp4"), "-w", "2", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "sprocket_cli", *args, "--job-dir", str(tmp_path / "jobs")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [(pid, argv) for pid, argv in map(json.loads, log.read_text().splitlines())]


def test_no_worker_looks_for_the_binary_again(runs: list[tuple[int, list[str]]]) -> None:
    workers = {pid for pid, argv in runs if "-progress" in argv}  # the tasks' ffmpeg runs
    lookers = [pid for pid, argv in runs if argv[1:] == ["-version"]]
    assert len(workers) == 2, runs
    assert not workers & set(lookers)
    assert len(lookers) <= 2  # the command's and the fork server's


def test_the_first_frame_check_runs_one_ffmpeg_for_a_segments_own_container(
    runs: list[tuple[int, list[str]]],
) -> None:
    checks = [argv for _, argv in runs if any("sprocket-check-" in arg for arg in argv)]
    assert len(checks) == 1, checks
    assert "-frames:v" in checks[0]
