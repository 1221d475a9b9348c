"""The original Sprocket's pipespec files (excamera/pipeline, ``pipespec/*.pipe``) as they are:
each one through ``sprocket validate``, then each that validates through ``sprocket run`` on
small testsrc2 clips (2 s chunks; a second input at another rate and keyframe interval).
Prints file -> validates / runs / refused, with the first line of what sprocket said.

The files are not in this repository; point the script at a checkout of excamera/pipeline
or at its ``pipespec`` folder::

    python bench/original_pipespecs.py PATH [--no-run]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchkit import CACHE_DIR, print_table

from sprocket_cli.errors import PipespecError
from sprocket_cli.media.testclip import make_test_clip
from sprocket_cli.pipeline.pipespec import load_file

ROOT = Path(__file__).resolve().parent.parent
#: (fps, keyframe interval) of input_0, input_1, ...: the second differs in both.
INPUTS = ((25, 50), (30, 45))


def clips() -> list[Path]:
    made = []
    for fps, keyint in INPUTS:
        dest = CACHE_DIR / f"original_320x180_{fps}fps_6s_k{keyint}.mp4"
        if not dest.exists():
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            make_test_clip(dest, seconds=6, size="320x180", fps=fps, keyint=keyint)
        made.append(dest)
    return made


def sprocket(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI through this interpreter (the installed script may point at another checkout)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    cmd = [sys.executable, "-m", "sprocket_cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env={**env, "COLUMNS": "400"})


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def verdict(pipe: Path, run: bool, scratch: Path) -> tuple[str, str]:
    checked = sprocket("validate", str(pipe))
    if checked.returncode != 0:
        said = (checked.stdout + checked.stderr).replace("\n", " ")
        return "refused", " ".join(said.split())
    if not run:
        return "validates", first_line(checked.stdout)
    inputs = load_file(pipe).inputs
    bound = [a for name, src in zip(inputs, clips(), strict=False) for a in ("-i", f"{name}={src}")]
    out = scratch / f"{pipe.stem}.mp4"
    ran = sprocket(
        "run", str(pipe), *bound, "-o", str(out), "--chunk-seconds", "2", "--job-dir", str(scratch)
    )
    if ran.returncode != 0 or not out.exists():
        return "validates, run fails", first_line(ran.stderr or ran.stdout)
    return "runs", f"{len(inputs)} input(s) -> {out.name}, {out.stat().st_size} bytes"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path, help="a checkout of excamera/pipeline, or its pipespec folder")
    parser.add_argument("--no-run", action="store_true", help="validate only")
    args = parser.parse_args()
    folder = args.path / "pipespec" if (args.path / "pipespec").is_dir() else args.path
    pipes = sorted(folder.glob("*.pipe"))
    if not pipes:
        raise SystemExit(f"no *.pipe files in {folder}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="sprocket-original-") as tmp:
        for pipe in pipes:
            try:
                state, said = verdict(pipe, not args.no_run, Path(tmp))
            except PipespecError as exc:  # validated by the CLI, so not expected
                state, said = "refused", str(exc)
            rows.append([pipe.name, state, said[:160]])
            print(f"  {pipe.name}: {state}", flush=True)
    print()
    print_table(rows, ["file", "result", "what sprocket said"])
    counts = {s: sum(r[1] == s for r in rows) for s in dict.fromkeys(r[1] for r in rows)}
    print("\n" + ", ".join(f"{n} {s}" for s, n in counts.items()) + f" (of {len(rows)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
