"""Benchmark: how long ``sprocket --version``, ``--help`` and ``filter --help`` take, next to
starting Python itself, and what a filter job imports before its probe.

Each row is a fresh process, timed wall-clock from spawn to exit with its output discarded;
the rows alternate (a, b, c, ..., a, b, c, ...) so that load from elsewhere falls on all of
them alike, and the table shows the median and the fastest of ``--runs``, and the median
CPU-seconds (user + system: less swayed than wall time by other work on the machine). The baseline is
``python -c pass`` on the same interpreter; ``import typer`` and Typer's help renderer
(Rich, markdown-it, Pygments) are shown too, since no help can be drawn faster than they load.

``sprocket`` is the console script next to this interpreter (not a pyenv shim, which adds a
shell of its own). ``--tree DIR`` adds the same commands run from another checkout (say
``git worktree add /tmp/head HEAD``), labelled by its folder's name, for a before/after in
one run. ::

    python bench/cli_startup.py [--runs 9] [--tree /tmp/head] [--command validate]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchkit import nproc, print_table

#: What the console script runs, for a checkout given by PYTHONPATH instead of the install.
LAUNCH = "from sprocket_cli.cli import app; app(prog_name='sprocket')"
#: What `sprocket filter` imports before its probe starts (issue 16: a short clip's job waits
#: for every import before its first task).
JOB_PATH = (
    "import sprocket_cli.cli.jobcmds, sprocket_cli.cli.jobrun, builtin_pipelines, "
    "sprocket_cli.media.filtercheck"
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``cmd``."""
    cpu, started = _cpu(), time.perf_counter()
    cwd = env.get("BENCH_CWD")  # a checkout's own rows run in it
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd, check=True)
    return time.perf_counter() - started, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9, help="runs of each row (at least 7)")
    parser.add_argument(
        "--tree", type=Path, action="append", default=[], help="another checkout to time (repeatable)"
    )
    parser.add_argument(
        "--command", action="append", default=[], help="also time `sprocket COMMAND --help` (repeatable)"
    )
    args = parser.parse_args()
    runs = max(7, args.runs)
    env = {**os.environ, "COLUMNS": "100"}  # the width the help is drawn at, as in the tests
    python = sys.executable
    script = Path(python).parent / "sprocket"
    sprocket = [str(script)] if script.is_file() else [python, "-m", "sprocket_cli"]

    helps = [["--version"], ["--help"], ["filter", "--help"], *([c, "--help"] for c in args.command)]
    rows: list[tuple[str, list[str], dict[str, str]]] = [
        ("python -c pass (baseline)", [python, "-c", "pass"], env),
        ("python -c 'import typer'", [python, "-c", "import typer"], env),
        ("python -c 'import typer.rich_utils'", [python, "-c", "import typer.rich_utils"], env),
    ]
    rows += [(f"sprocket {' '.join(h)}", [*sprocket, *h], env) for h in helps]
    rows.append(("a filter job's imports before its probe", [python, "-c", JOB_PATH], env))
    for tree in args.tree:
        # PYTHONPATH alone is not enough: `python -c` puts the working folder first on sys.path.
        tree_env = {**env, "PYTHONPATH": str(tree.resolve()), "BENCH_CWD": str(tree.resolve())}
        for h in helps:
            rows.append((f"{tree.name}: sprocket {' '.join(h)}", [python, "-c", LAUNCH, *h], tree_env))
        rows.append(
            (f"{tree.name}: a filter job's imports before its probe", [python, "-c", JOB_PATH], tree_env)
        )

    for _, cmd, row_env in rows:  # warm the disk cache and the .pyc files; not counted
        _time(cmd, row_env)
    load_before = os.getloadavg()[0]
    times: list[list[float]] = [[] for _ in rows]
    cpus: list[list[float]] = [[] for _ in rows]
    for _ in range(runs):
        for i, (_, cmd, row_env) in enumerate(rows):
            wall, cpu = _time(cmd, row_env)
            times[i].append(wall)
            cpus[i].append(cpu)
    load_after = os.getloadavg()[0]

    base = statistics.median(times[0])
    table = [
        (
            name,
            f"{statistics.median(t):.3f}",
            f"{min(t):.3f}",
            f"{statistics.median(t) - base:+.3f}",
            f"{statistics.median(c):.3f}",
        )
        for (name, _, _), t, c in zip(rows, times, cpus, strict=True)
    ]
    print(
        f"{runs} runs each, alternating; {nproc()} cores; load average {load_before:.2f} -> {load_after:.2f}"
    )
    print(f"sprocket: {' '.join(sprocket)}; python {sys.version.split()[0]}")
    print_table(table, ("command", "median s", "min s", "over baseline s", "CPU s"))


if __name__ == "__main__":
    main()
