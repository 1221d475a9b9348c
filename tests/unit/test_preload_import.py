"""The fork server's preload ends that server without a teardown, and no other process.

The server itself, its quick end included, runs in every local job (tests/e2e, and
tests/cli/test_job_imports_and_exit.py checks that none of a job's processes outlive it)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_preload_elsewhere_keeps_the_exit_code() -> None:
    """Imported outside the fork server (a test, a user), it registers no quick exit, which
    would turn this process's failure into a success."""
    code = "import sys, sprocket_cli.executors.preload; sys.exit(3)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 3
