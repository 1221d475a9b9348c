"""Kill a real ``sprocket`` run part way, as a closing laptop lid would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path


def kill_after_chunk(
    args: list[str], chunk: int, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    """Run ``sprocket *args`` (with ``--json``) in its own process group and SIGKILL the whole
    group, workers and all, once ``chunk`` is done; the job id. ``args`` should stall a later
    chunk (``--inject N:sleep=60``) so the job cannot finish first on a fast machine."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sprocket_cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    job_id = ""
    for line in proc.stdout:
        event = json.loads(line)
        job_id = job_id or event.get("job_id", "")
        if event["kind"] == "task_finished" and event["chunk"] == chunk:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return job_id
