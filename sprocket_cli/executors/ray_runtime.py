"""The Ray runtime environment a job's tasks run in: this machine's sprocket and the pinned
dependencies its worker path imports, shipped to the nodes, so that a node needs only Python
and Ray.

Shipped, not installed by Ray's ``pip`` field: that field needs the ``virtualenv`` package on
every node (Ray does not bring it), a package index every node can reach (render farms are often
offline), and a virtualenv built per node before its first task. Shipping this machine's
installed copies needs none of that and pins every node to exactly the versions this machine
runs. Its one condition, native code (pydantic-core, imageio-ffmpeg's ffmpeg) built for this
machine's platform, is one Ray nearly sets already: every node must run this machine's Ray and
Python minor, and multi-node Ray clusters run on Linux only, where these manylinux builds load
on any node of the same CPU architecture (`sprocket doctor --backend ray` checks that).

What it costs: ``ray.init`` zips each shipped folder and uploads it to the cluster's GCS once
per job, unless the GCS still holds that content (the upload is keyed by a hash of the files,
which every job reads again); each node downloads and unpacks a package once and keeps it for
later jobs, but still sets the environment up for each job's first task there. imageio-ffmpeg's
ffmpeg binary (~170 MB here) is most of it: a first job on a new cluster spends several seconds
zipping and uploading it, a later one a second or two hashing it, and each job's first task on a
node waits seconds longer than without it.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, PathDistribution, distribution, requires
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

import sprocket_cli

#: The distribution this package comes from.
PROJECT = "sprocket"
#: sprocket's runtime dependencies that the worker path imports: stage configs (pydantic),
#: ffmpeg command lines (ffmpeg-python), the ffmpeg binary (imageio-ffmpeg) and S3-compatible
#: storage (boto3). The CLI's, the TUI's and the coordinator's own (typer, rich, textual, av,
#: yt-dlp...) never run on a node.
WORKER_REQUIREMENTS = ("pydantic", "ffmpeg-python", "imageio-ffmpeg", "boto3")
#: What every node has already: Ray and what Ray requires.
NODE_HAS = "ray"
#: Left out of every shipped folder: bytecode is the node's to write for its own Python.
EXCLUDES = ["__pycache__"]


def runtime_env() -> dict[str, Any]:
    """The job's runtime environment for ``ray.init``: the shipped folders and files. A task's
    own ``env_vars`` (the backend's ``env`` setting) are added to it per task: Ray keeps the
    job's ``py_modules`` for a task that names only ``env_vars``."""
    return {"py_modules": [str(path) for path in shipped()], "excludes": EXCLUDES}


def shipped() -> list[Path]:
    """Each folder or module file a node's tasks import from the runtime environment: the
    ``sprocket_cli`` package with its distribution's metadata (the stages' entry points are
    there), then every worker dependency's top-level packages and metadata."""
    # The package by its import path: an editable install lists no files of it.
    paths = [Path(sprocket_cli.__file__).parent.absolute(), _metadata(PROJECT)]
    for name in sorted(worker_dependencies()):
        paths.extend(_files(name))
    return paths


def worker_dependencies() -> set[str]:
    """The distributions :data:`WORKER_REQUIREMENTS` need, with what they need in turn, but
    none a node has already with Ray; normalized names."""
    have = _closure([NODE_HAS])
    return _closure(WORKER_REQUIREMENTS) - have


def _closure(names: tuple[str, ...] | list[str]) -> set[str]:
    """``names`` and every distribution they require, installed here, without extras."""
    found: set[str] = set()
    todo = [_normal(name) for name in names]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue  # required only on another platform or Python, so not installed here
        found.add(name)
        for text in needs:
            need = Requirement(text)
            if need.marker is None or need.marker.evaluate({"extra": ""}):
                todo.append(_normal(need.name))
    return found


def _normal(name: str) -> str:
    """A distribution's name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _metadata(name: str) -> Path:
    """The metadata folder (``.dist-info`` or ``.egg-info``) of distribution ``name`` that this
    process reads: its version and entry points. The one this process found, as a node must find
    the same: in a checkout, setuptools' ``.egg-info`` comes before the installed ``.dist-info``."""
    dist = distribution(name)
    if not isinstance(dist, PathDistribution):
        raise TypeError(f"{name} is installed in a way Ray cannot ship: {dist!r}")
    # No public accessor names the folder; PathDistribution has held it as _path since 3.8.
    return Path(str(dist._path)).absolute()  # relative when found through ''


def _files(name: str) -> list[Path]:
    """Distribution ``name``'s top-level packages and modules, as installed here, and its metadata."""
    dist = distribution(name)
    tops = {file.parts[0] for file in dist.files or []}
    # Not the metadata (added below), nor what lies outside site-packages, nor bytecode and .pth
    # files (which a node's Python never reads from a PYTHONPATH folder).
    kept = {top for top in tops - {"..", "__pycache__"} if not top.endswith((".pth", "-info"))}
    found = {Path(str(dist.locate_file(top))) for top in kept}
    return [*sorted(found), _metadata(name)]
