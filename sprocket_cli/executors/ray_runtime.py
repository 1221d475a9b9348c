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

What it costs: a folder's package is named by a hash of its files, which Ray reads whole
(botocore's thousands of files, imageio-ffmpeg's ffmpeg binary: ~165 MB here, most of it),
and every ``ray.init`` given the folders hashes them all again. So :func:`ship` keeps the
dependencies' package names in the user's cache folder, keyed by the dependencies' versions
and installed copies, and hashes only sprocket's own folder each job (~20 ms: it is what
changes in a checkout under edit). It puts a package on the cluster, zipped, only when the
cluster lacks it: a first job there, or one after Ray freed the package (Ray keeps it while a
job that uses it runs, and ten minutes after a job last asked for it). ``ray.init`` then gets
the package names, which it passes on unread. Each node downloads and unpacks a package once
and keeps it for later jobs, but still starts each job's workers in the environment (a second
or two before a job's first task on a node).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, PathDistribution, distribution, requires
from pathlib import Path
from typing import Any

import ray
from packaging.requirements import Requirement

# No public API of Ray names a package or puts one on a cluster: these are what ray.init uses.
from ray._private.runtime_env.packaging import (
    get_uri_for_directory,
    get_uri_for_file,
    upload_package_if_needed,
)
from ray.exceptions import RuntimeEnvSetupError

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
#: Whether a shipped folder's ``.gitignore`` files leave files out (Ray's default), the same
#: for a package's name and its zip.
GITIGNORE = True
#: The file in the user's cache folder that names the dependencies' packages.
CACHE_FILE = "ray-packages.json"


def _not_large_file(record: logging.LogRecord) -> bool:
    """False for Ray's warning, as it zips a folder, that a file is very large (to be left out
    with ``excludes``): the ffmpeg binary is, and the nodes need it."""
    return not (record.levelno == logging.WARNING and "is very large" in str(record.msg))


# Ray's packaging says what it zips and pushes at INFO, before ray.init quiets Ray's loggers:
# the CLI's display is the user's view.
_ray_packaging = logging.getLogger(get_uri_for_file.__module__)
_ray_packaging.setLevel(logging.WARNING)
_ray_packaging.addFilter(_not_large_file)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shipment:
    """A job's runtime environment, its packages on the cluster."""

    env: dict[str, Any]
    """For ``ray.init``: the packages by name."""
    hashed: tuple[str, ...]
    """Folders and files read whole to name their package: sprocket's own on every job, a
    dependency's when the cache did not name it."""
    uploaded: tuple[str, ...]
    """Folders and files zipped and put on the cluster, which lacked them."""


def ship(address: str) -> Shipment:
    """Put the job's packages that the cluster at ``address`` (its head's HOST:PORT, or
    ``auto``) lacks on it, and name them all for ``ray.init``. A Ray Client address
    (``ray://``) gets the folders, which Ray uploads through the client's server."""
    if address.startswith("ray://"):
        paths = shipped()
        env = {"py_modules": [str(path) for path in paths], "excludes": EXCLUDES}
        return Shipment(env, tuple(map(str, paths)), ())
    from ray._private.services import canonicalize_bootstrap_address_or_die
    from ray._raylet import GcsClient  # type: ignore[attr-defined]  # Ray's stub leaves it out
    from ray.experimental.internal_kv import _initialize_internal_kv, _internal_kv_reset

    named, hashed = _named()
    # Before ray.init: a node that set the job's environment up without a package would keep
    # that failure for the job. Ray's upload helper speaks to the cluster through this client.
    _initialize_internal_kv(GcsClient(address=canonicalize_bootstrap_address_or_die(address)))
    try:
        uploaded = _upload(named)
    finally:
        _internal_kv_reset()  # type: ignore[no-untyped-call]  # unannotated in ray
    return Shipment({"py_modules": [uri for _, uri in named]}, tuple(map(str, hashed)), tuple(uploaded))


def _upload(named: list[tuple[Path, str]]) -> list[str]:
    """Zip and put on the cluster each package it lacks; those it did. Each package is pinned
    there for ten minutes too (as ray.init does), so that the job finds it when it starts."""
    uploaded = []
    with tempfile.TemporaryDirectory(prefix="sprocket-ray-") as scratch:
        for path, uri in named:
            try:
                folder = path.is_dir()
                if upload_package_if_needed(uri, scratch, str(path), GITIGNORE, folder, EXCLUDES):
                    uploaded.append(str(path))
            except (RuntimeError, ValueError) as exc:  # what ray.init says of a failed upload
                raise RuntimeEnvSetupError(f"Failed to upload {path} to the Ray cluster: {exc}") from exc
    return uploaded


def shipped() -> list[Path]:
    """Each folder or module file a node's tasks import from the runtime environment: the
    ``sprocket_cli`` package with its distribution's metadata (the stages' entry points are
    there), then every worker dependency's top-level packages and metadata."""
    return [*_own(), *_dependencies()]


def _own() -> list[Path]:
    # The package by its import path: an editable install lists no files of it.
    return [Path(sprocket_cli.__file__).parent.absolute(), _metadata(PROJECT)]


def _dependencies() -> list[Path]:
    return [path for name in sorted(worker_dependencies()) for path in _files(name)]


def _named() -> tuple[list[tuple[Path, str]], list[Path]]:
    """Each shipped folder or file with its package's name, and those read to name them."""
    own = [(path, _package_name(path)) for path in _own()]
    key = _cache_key()
    cached = _read_cache().get(key)
    if cached is not None:
        return [*own, *((Path(path), uri) for path, uri in cached)], [path for path, _ in own]
    deps = [(path, _package_name(path)) for path in _dependencies()]
    _write_cache({key: [(str(path), uri) for path, uri in deps]})
    return [*own, *deps], [path for path, _ in (*own, *deps)]


def _package_name(path: Path) -> str:
    """The content-addressed name (``gcs://_ray_pkg_HASH.zip``) Ray gives ``path``'s package."""
    if path.is_dir():
        return get_uri_for_directory(str(path), include_gitignore=GITIGNORE, excludes=EXCLUDES)
    return get_uri_for_file(str(path))


def _cache_key() -> str:
    """What the dependencies' package names follow: the Python, Ray and exclusions they are
    named with, and each dependency's version and installed copy (its metadata folder, made
    anew by every install, so that a reinstall of the same version counts too)."""
    parts = [sys.version, ray.__version__, *EXCLUDES, str(GITIGNORE)]
    for name in sorted(worker_dependencies()):
        metadata = _metadata(name)
        parts.append(f"{name}=={distribution(name).version} {metadata} {metadata.stat().st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def cache_path() -> Path:
    """The file that names the dependencies' packages (the user's cache folder: platformdirs)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("sprocket")) / CACHE_FILE


def _read_cache() -> dict[str, list[tuple[str, str]]]:
    """Cache key -> (path, package name) of each dependency; nothing if unreadable."""
    try:
        found = json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write_cache(entries: dict[str, list[tuple[str, str]]]) -> None:
    """Keep ``entries`` only (a new install's names replace the old), atomically: a cache that
    cannot be written costs the next job the hashing, nothing else."""
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as out:
            json.dump(entries, out)
        os.replace(out.name, path)
    except OSError as exc:
        _log.debug("cannot keep the Ray package names in %s: %s", path, exc)


@cache  # reads every installed distribution's metadata (~0.1 s); a process's jobs ask again
def worker_dependencies() -> frozenset[str]:
    """The distributions :data:`WORKER_REQUIREMENTS` need, with what they need in turn, but
    none a node has already with Ray; normalized names."""
    have = _closure([NODE_HAS])
    return frozenset(_closure(WORKER_REQUIREMENTS) - have)


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
