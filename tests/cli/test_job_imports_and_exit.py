"""A job's fixed costs: what it imports before its probe, and how its process ends.

The job path imports only what every job needs before the probe (the TUI's glue, the stream's
server, the ray backend and the coordinator come later, or never); the console script ends
without the interpreter's teardown, and still delivers all it printed and its exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.faultkit import GONE_WITHIN, Run, describe, wait_gone

#: Modules a plain `sprocket filter` has no use for before its probe. The coordinator and the
#: job's planning (sprocket_cli.run, sprocket_cli.launch) are imported while the first-frame
#: check runs; the rest only for the flags that need them (--tui, --open, --ray-address).
NOT_BEFORE_THE_PROBE = (
    "sprocket_cli.run",
    "sprocket_cli.launch",
    "sprocket_cli.output.server",
    "sprocket_cli.cli.tuirun",
    "sprocket_cli.cli.playback",
    "sprocket_cli.backends.ray_cluster",
    "textual",
    "boto3",
    "numpy",
    "yt_dlp",
    "ray",
)


def _unwanted(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith(NOT_BEFORE_THE_PROBE))


def test_importing_the_job_path_leaves_out_what_a_job_needs_later() -> None:
    code = (
        "import json, sys; import sprocket_cli.cli.jobrun, sprocket_cli.session; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert _unwanted(json.loads(out.stdout)) == []


def test_a_filter_job_probes_before_it_imports_its_coordinator(clip: Path, tmp_path: Path) -> None:
    """A real `sprocket filter`, with the probe made to note which modules were loaded when it
    began (and run as it is)."""
    note = tmp_path / "loaded.json"
    code = (
        "import json, sys\n"
        "import sprocket_cli.media.probe as p\n"
        "real = p.probe\n"
        "def probe(source):\n"
        f"    open({str(note)!r}, 'w').write(json.dumps(sorted(sys.modules)))\n"
        "    return real(source)\n"
        "p.probe = probe\n"
        "from sprocket_cli.__main__ import main\n"
        "if __name__ == '__main__':\n"
        "    main()\n"
    )
    args = ["filter", str(clip), "--vf", "hue=s=0", "-o", str(tmp_path / "out.mp4"), "-w", "2", "--json"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args, "--job-dir", str(tmp_path / "jobs")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(note.read_text())
    assert "av" not in loaded  # the probe's own import: a command that never probes skips it
    assert _unwanted(loaded) == []
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_the_console_script_ends_with_every_line_written_and_nothing_left(clip: Path, tmp_path: Path) -> None:
    """Its stdout is a pipe, block-buffered: every JSON line arrives whole, the last is the
    job's end, and no process of the job (fork server, workers) outlives it."""
    args = ["filter", str(clip), "--vf", "hue=s=0", "-o", str(tmp_path / "out.mp4"), "-w", "2"]
    run = Run([*args, "--json", "--job-dir", str(tmp_path / "jobs")])
    try:
        run.until(lambda e: e["kind"] == "task_started")
        coordinator = psutil.Process(run.proc.pid)
        helpers = coordinator.children(recursive=True)
        assert run.finish() == 0
    finally:
        run.kill()
    kinds = [e["kind"] for e in run.events]
    assert kinds[0] == "job_started" and kinds[-1] == "job_finished"
    assert helpers, "the job ran no worker process"
    assert not wait_gone(helpers, GONE_WITHIN), describe(helpers)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["filter", "no-such-clip.mp4", "--vf", "hue=s=0"], 4),  # InputError
        (["filter", "--no-such-flag"], 2),  # Click's usage error
        (["--version"], 0),
    ],
)
def test_the_console_script_exits_with_the_commands_code(args: list[str], code: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sprocket_cli", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    if code == 0:
        assert done.stdout.startswith("sprocket ")


def test_a_closed_output_pipe_is_an_error_not_a_success() -> None:
    """`sprocket ... | head` that stops reading: the flush fails, and the exit says so."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sprocket_cli", "--version"],
            stdout=writer,
            stderr=subprocess.PIPE,
            check=False,
        )
    finally:
        os.close(writer)
    assert done.returncode != 0
