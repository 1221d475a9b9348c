"""``sprocket doctor --backend ray``: can jobs run on the Ray cluster at an address?

The cluster answers; on every live node, a job's tasks run this machine's sprocket (its code
stamp: version and a digest of the code), which the job's runtime environment ships there
(executors/ray_runtime.py), so a node need not have sprocket installed; every node runs this
machine's Ray and Python minor (Ray requires it of all nodes) on this machine's platform (the
shipped native code is built for it); every node's ffmpeg has the encoders the job commands use;
and how many CPUs and GPUs are free. A small probe task pinned to each node (not merely "some
node"), in the job's runtime environment, reads that node's own answers, since a farm's
machines are installed one by one and drift apart.

Ray is imported only when the checks run (``sprocket doctor --help`` stays light).
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sprocket_cli import stamp
from sprocket_cli.backends.checks import Check

#: Encoders every job may use: the default video codec and the audio codec kept audio is
#: re-encoded to when its own cannot go into an MP4 or a stream (media/containers.py's AAC).
REQUIRED_ENCODERS = ("libx264", "aac")
#: Encoders only some jobs ask for (``--codec``): their absence is reported, not a failure.
OPTIONAL_ENCODERS = ("libx265", "libvpx-vp9", "prores_ks", "dnxhd")
#: Seconds every probe together may take: a node's first task starts a worker process and
#: imports sprocket there (a few seconds); a node that has not answered by then is reported.
PROBE_WITHIN = 60.0
FIX_VERSION = "install this machine's Ray and Python on that node: Ray needs the same on every node"
FIX_PLATFORM = "run the job from a machine of the nodes' platform: it ships its own native code to them"
FIX_SHADOWED = "remove what puts another sprocket before the job's on that node's path (PYTHONPATH?)"
FIX_FFMPEG = "on that node: pip install imageio-ffmpeg, or set SPROCKET_FFMPEG to an ffmpeg with them"


def probe(encoders: Sequence[str]) -> dict[str, Any]:
    """On a node, in the job's runtime environment: the sprocket a task imports there, the
    node's Ray, Python and platform, its ffmpeg and which of ``encoders`` it has.

    Importing only there, so that it reports what the node's tasks would find.
    """
    import subprocess

    import ray

    found: dict[str, Any] = {
        "python": platform.python_version(),
        "ray": ray.__version__,
        "platform": _platform(),
    }
    try:
        from sprocket_cli import stamp as node_stamp

        found["sprocket"] = node_stamp.code_stamp()
    except Exception as exc:  # reported as the node's problem; the probe goes on to ffmpeg
        found["sprocket_error"] = f"{type(exc).__name__}: {exc}"
        return found
    try:
        from sprocket_cli.media.ffmpeg import ffmpeg_exe

        exe = ffmpeg_exe()
        listing = subprocess.run(
            [exe, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, RuntimeError, ImportError, subprocess.TimeoutExpired) as exc:
        found["ffmpeg_error"] = f"{type(exc).__name__}: {exc}"
        return found
    # Each encoder's line: six capability letters (V..... for video), its name, a description.
    names = {
        fields[1]
        for fields in (line.split() for line in listing.stdout.splitlines())
        if len(fields) > 1 and len(fields[0]) == 6 and fields[0][0] in "VAS"
    }
    found["ffmpeg"] = exe
    found["encoders"] = [e for e in encoders if e in names]
    return found


def run_checks(address: str, env: Mapping[str, str] | None = None) -> Iterator[Check]:
    """The cluster, then each live node's versions and ffmpeg, then free CPUs and GPUs.

    ``env``: environment variables the job's tasks would get (the backend's ``env`` option),
    which may name another ffmpeg. Yields a single failing check when no cluster answers.
    """
    from sprocket_cli.executors.ray_cluster import RayClusterError, connect, disconnect

    try:
        connect(address)
    except RayClusterError as exc:
        yield Check("cluster", "fail", str(exc))
        return
    try:
        yield from _checks(address, env or {})
    finally:
        disconnect()


def _checks(address: str, env: Mapping[str, str]) -> Iterator[Check]:
    import ray
    from ray.exceptions import RayError
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n for n in ray.nodes() if n["Alive"]]  # type: ignore[no-untyped-call]  # unannotated in ray
    yield Check("cluster", "pass", f"{address}: {len(nodes)} nodes; this machine runs Ray {ray.__version__}")
    free: dict[str, float] = ray.available_resources()  # type: ignore[no-untyped-call]  # unannotated in ray
    # In the job's runtime environment (connect's), with the job's env_vars on top, as a task.
    remote = ray.remote(num_cpus=0, max_retries=0)(probe)
    options: dict[str, Any] = {"runtime_env": {"env_vars": dict(env)}} if env else {}
    refs = [
        remote.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False), **options
        ).remote([*REQUIRED_ENCODERS, *OPTIONAL_ENCODERS])
        for node in nodes
    ]
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=PROBE_WITHIN)
    answered = set(ready)
    for node, ref in zip(nodes, refs, strict=True):
        name = _node_name(node)
        if ref not in answered:
            ray.cancel(ref, force=True)
            yield Check(
                name,
                "fail",
                f"did not answer within {PROBE_WITHIN:.0f} s",
                "ray status (is the node busy or stuck?)",
            )
            continue
        try:
            found: dict[str, Any] = ray.get(ref)
        except RayError as exc:
            yield Check(name, "fail", f"the probe failed: {str(exc).splitlines()[0]}")
            continue
        yield _versions(name, node, found)
        if "sprocket" in found:
            yield _ffmpeg(name, found)
    yield _resources(nodes, free)


def _node_name(node: Mapping[str, Any]) -> str:
    """``node 10.0.0.7 1a2b3c4d (head)``: its address, and its id's start (nodes may share one host)."""
    head = " (head)" if "node:__internal_head__" in node["Resources"] else ""
    return f"node {node['NodeManagerAddress']} {node['NodeID'][:8]}{head}"


def _versions(name: str, node: Mapping[str, Any], found: Mapping[str, Any]) -> Check:
    import ray

    here = stamp.code_stamp()
    python = platform.python_version()
    problems = []
    if found["ray"] != ray.__version__:
        problems.append(f"Ray {found['ray']}, this machine runs {ray.__version__}")
    if _minor(found["python"]) != _minor(python):
        problems.append(f"Python {found['python']}, this machine runs {python}")
    if problems:
        return Check(name, "fail", "; ".join(problems), FIX_VERSION)
    if found["platform"] != _platform():
        wrong = f"a {found['platform']} machine; the job ships this {_platform()} machine's native code"
        return Check(name, "fail", wrong, FIX_PLATFORM)
    if "sprocket_error" in found:
        return Check(name, "fail", f"cannot import the job's sprocket there ({found['sprocket_error']})")
    if found["sprocket"] != here:
        shadowed = f"tasks import sprocket {found['sprocket']} there, not the job's {here}"
        return Check(name, "fail", shadowed, FIX_SHADOWED)
    cpus, gpus = int(node["Resources"].get("CPU", 0)), int(node["Resources"].get("GPU", 0))
    return Check(
        name,
        "pass",
        f"sprocket {here} (the job's), Ray {found['ray']}, Python {found['python']}; "
        f"{cpus} CPUs, {gpus} GPUs",
    )


def _minor(version: str) -> str:
    """``3.11`` of ``3.11.7``: what Ray requires alike on every node."""
    return ".".join(version.split(".")[:2])


def _platform() -> str:
    """This machine's OS and CPU architecture, like ``linux-x86_64``: what native code is built for."""
    return f"{sys.platform}-{platform.machine()}"


def _ffmpeg(name: str, found: Mapping[str, Any]) -> Check:
    if "ffmpeg_error" in found:
        return Check(f"{name} ffmpeg", "fail", f"not runnable: {found['ffmpeg_error']}", FIX_FFMPEG)
    has = set(found["encoders"])
    missing = [e for e in REQUIRED_ENCODERS if e not in has]
    if missing:
        return Check(f"{name} ffmpeg", "fail", f"{found['ffmpeg']} lacks {', '.join(missing)}", FIX_FFMPEG)
    others = [e for e in OPTIONAL_ENCODERS if e not in has]
    without = f" (without {', '.join(others)}: --codec cannot ask for those)" if others else ""
    return Check(f"{name} ffmpeg", "pass", f"{found['ffmpeg']}: {', '.join(REQUIRED_ENCODERS)}{without}")


def _resources(nodes: Sequence[Mapping[str, Any]], free: Mapping[str, float]) -> Check:
    cpus = sum(int(n["Resources"].get("CPU", 0)) for n in nodes)
    gpus = sum(int(n["Resources"].get("GPU", 0)) for n in nodes)
    detail = f"{int(free.get('CPU', 0))} of {cpus} CPUs free, {int(free.get('GPU', 0))} of {gpus} GPUs free"
    if cpus == 0:
        return Check(
            "resources",
            "fail",
            f"{detail}: no node offers a CPU for tasks",
            "ray start --num-cpus N on a node",
        )
    if free.get("CPU", 0) < 1:
        return Check("resources", "warn", f"{detail}: a job waits for running work to end")
    return Check("resources", "pass", detail)
