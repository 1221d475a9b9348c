"""The core's front door: a job started through ``sprocket_cli.session`` with no CLI import,
its events read to the end; cancel and the backend plug-ins behind it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import builtin_pipelines
from sprocket_cli.backends import backend_names, open_backend
from sprocket_cli.errors import OptionError, UnknownPluginError
from sprocket_cli.events import JobCancelled, JobFinished, JobStarted, SegmentReady
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.session import JobRequest, start
from tests.media_checks import facts

#: Run in a fresh interpreter, so that sys.modules shows what the session API pulls in.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import builtin_pipelines
    from sprocket_cli.jobs.options import JobOptions
    from sprocket_cli.session import JobRequest, start

    src, out, jobs = sys.argv[1:4]
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    options = JobOptions(workers=2, chunk_seconds=1.0, job_parent=Path(jobs))
    handle = start(JobRequest(spec, {"input_0": src}, {"output_0": Path(out)}, options))
    kinds = [type(event).__name__ for event in handle.events()]
    heavy = sorted(m for m in ("sprocket_cli.cli", "typer", "rich", "textual", "tui") if m in sys.modules)
    outputs = {k: str(v) for k, v in handle.result().items()}
    print(json.dumps({"kinds": kinds, "heavy": heavy, "outputs": outputs}))
    """
)


def test_a_job_runs_through_the_session_api_without_the_cli(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "gray.mp4"
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(clip), str(out), str(tmp_path / "jobs")],
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["heavy"] == []
    assert seen["kinds"][0] == "JobStarted" and seen["kinds"][-1] == "JobFinished"
    assert seen["kinds"].count("SegmentReady") >= 2  # several chunks, each published
    assert seen["outputs"] == {"output_0": str(out)}
    assert facts(out).frames == facts(clip).frames


def test_cancel_ends_the_events_with_job_cancelled(clip: Path, tmp_path: Path) -> None:
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    options = JobOptions(workers=1, chunk_seconds=0.5, job_parent=tmp_path / "jobs")
    handle = start(JobRequest(spec, {"input_0": str(clip)}, {"output_0": tmp_path / "out.mp4"}, options))
    seen = []
    with pytest.raises(Exception, match="cancelled"):
        for event in handle.events():
            seen.append(event)
            if isinstance(event, SegmentReady):
                handle.cancel()  # as another thread or `sprocket monitor` would
    assert isinstance(seen[0], JobStarted)
    assert isinstance(seen[-1], JobCancelled)
    assert not any(isinstance(e, JobFinished) for e in seen)
    assert not (tmp_path / "out.mp4").exists()


def test_backends_are_plug_ins_found_by_name() -> None:
    assert {"local", "lambda"} <= set(backend_names())
    assert "simulated" in backend_names(for_users=False) and "simulated" not in backend_names()
    with pytest.raises(
        UnknownPluginError, match=r"unknown backend 'locl'; did you mean 'local'.*installed: "
    ):
        open_backend("locl")
    with pytest.raises(OptionError, match="local takes no option address"):
        open_backend("local", {"address": "auto"})


def test_a_simulated_backend_is_refused_for_real_work(clip: Path, tmp_path: Path) -> None:
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    request = JobRequest(
        spec, {"input_0": str(clip)}, {"output_0": tmp_path / "o.mp4"}, JobOptions(backend="simulated")
    )
    with pytest.raises(OptionError, match="simulated does no real work"):
        start(request)
    assert not (tmp_path / "o.mp4").exists()
