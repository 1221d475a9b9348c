"""Build the Lambda deployment zip for a chosen architecture and runtime, not for this machine.

The zip holds, at its root (Lambda's ``/var/task``):

* the worker path's runtime dependencies, installed by pip for the *target*:
  ``pip install --target --platform manylinux2014_<arch> --only-binary=:all: --python-version X.Y``;
* the whole ``sprocket_cli`` package copied unchanged (the code stamp hashes every module, so
  the deployed handler reports the same stamp as the coordinator that built it), plus a small
  ``sprocket-<version>.dist-info`` carrying the entry points, since stages are found through
  them;
* ``lambda_bundle/__init__.py`` and ``lambda_bundle/handler.py`` (not this builder).

What would not fit is pruned: imageio-ffmpeg keeps the one ffmpeg binary of the target arch,
botocore keeps the service models the worker calls (:data:`BOTOCORE_SERVICES`), the face models
keep the files the local provider loads by default (:data:`FACE_MODELS`), and tests, caches and
console scripts go. Lambda takes at most 250 MB unzipped for a function and its layers
together; a bigger build raises :class:`BundleTooLarge` before it is zipped.

The zip is deterministic (sorted entries, fixed timestamps, fixed modes) and keeps the
executable bit of the ffmpeg binary. pip's downloads are cached under the user cache dir, so a
rebuild does not download again, and unchanged inputs are not rebuilt (cache.py). Command line::

    python -m lambda_bundle.build --arch arm64 [--python 3.12] [--faces] [--out DIR]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sprocket_cli
from sprocket_cli import __version__
from sprocket_cli.errors import SprocketError
from sprocket_cli.stamp import stamp_of

#: Lambda architecture name -> the machine name in manylinux platform tags.
PLATFORMS = {"x86_64": "x86_64", "arm64": "aarch64"}
#: Lambda architecture name -> the ELF ``e_machine`` of its binaries (EM_X86_64, EM_AARCH64).
ELF_MACHINES = {"x86_64": 62, "arm64": 183}
#: Lambda's limit on a function's unzipped code and layers together, bytes ("250 MB").
MAX_UNZIPPED_BYTES = 262_144_000

#: Distributions the worker path imports (run_task, its stages, S3 storage, the rekognition
#: face provider). Their version constraints come from pyproject.toml when it is at hand.
WORKER_REQUIREMENTS = ("boto3", "ffmpeg-python", "imageio-ffmpeg", "pydantic")
#: The ``faces`` extra: the local (dlib) face provider.
FACES_REQUIREMENTS = ("dlib-bin", "face-recognition-models", "numpy")
#: botocore service models the worker needs: S3 storage, STS (credentials), Rekognition (the
#: rekognition face provider). Top-level data files (endpoints, partitions, defaults) all stay.
BOTOCORE_SERVICES = frozenset({"s3", "sts", "rekognition"})
#: Model files the local face provider loads: the 5-point landmarks (its default), the ResNet
#: embedder, and the small MMOD CNN detector (``detector="cnn"``). The 100 MB 68-point model stays out.
FACE_MODELS = frozenset(
    {
        "shape_predictor_5_face_landmarks.dat",
        "dlib_face_recognition_resnet_model_v1.dat",
        "mmod_human_face_detector.dat",
    }
)
#: Top-level names pip leaves that the function never uses.
_DROP_TOP = frozenset({"bin", "share", "include"})
#: Folder names dropped anywhere in the tree.
_DROP_DIRS = frozenset({"__pycache__", "tests", "test"})
#: Fixed timestamp of every zip entry (the earliest a zip can hold).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: Where the handler lives in the zip; the function's Handler setting is its module + ".handler".
HANDLER_FILES = ("lambda_bundle/__init__.py", "lambda_bundle/handler.py")
#: Packages only the CLI or TUI imports: never in the zip.
CLI_ONLY = ("typer", "rich", "textual", "tui", "yt_dlp", "av", "click")


class BundleError(SprocketError):
    """The bundle cannot be built (pip failed, an unknown architecture, an unexpected wheel)."""


class BundleTooLarge(BundleError):
    """The bundle is bigger unzipped than Lambda accepts."""


@dataclass(frozen=True)
class Bundle:
    """A built deployment zip."""

    path: Path
    """The zip."""
    arch: str
    """Lambda's architecture name: "arm64" or "x86_64"."""
    python_version: str
    """e.g. "3.12"."""
    runtime: str
    """Lambda's runtime name, e.g. "python3.12"."""
    zipped_bytes: int
    """Size of the zip, bytes (Lambda takes 50 MB by direct upload, more through S3)."""
    unzipped_bytes: int
    """Size of its contents, bytes (Lambda takes at most 250 MB with layers)."""
    stamp: str
    """The code stamp of the sprocket_cli it carries: what :func:`sprocket_cli.stamp.code_stamp`
    returns in a process started from the same sources (and the deployed handler reports)."""
    faces: bool = False
    """Whether it carries the local face provider (dlib and its models)."""
    sizes: tuple[tuple[str, int], ...] = ()
    """Unzipped bytes per top-level entry, largest first (what to prune next)."""
    reused: bool = False
    """An earlier build from the same inputs, returned instead of building again."""


def cache_dir() -> Path:
    """pip's download cache for bundle builds (user cache dir, so rebuilds do not download)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("sprocket")) / "pip"


def build_bundle(
    arch: str,
    out_dir: Path,
    python_version: str = "3.12",
    *,
    faces: bool = False,
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES,
    reuse: bool = True,
) -> Bundle:
    """Build the zip for ``arch`` ("arm64" or "x86_64") and Lambda's ``python<python_version>``
    into ``out_dir``; :class:`BundleTooLarge` if it would exceed ``max_unzipped_bytes``. With
    ``reuse``, one built there earlier from the same inputs is returned instead."""
    if arch not in PLATFORMS:
        raise BundleError(f"unknown architecture {arch!r}: choose one of {', '.join(sorted(PLATFORMS))}")
    if not re.fullmatch(r"3\.\d+", python_version):
        raise BundleError(f"python version {python_version!r} is not like 3.12")
    from lambda_bundle.cache import earlier_build, record_build  # it imports this module

    out_dir.mkdir(parents=True, exist_ok=True)
    path, digest, earlier = earlier_build(out_dir, arch, python_version, faces=faces)
    if earlier is not None and reuse:
        return earlier
    with tempfile.TemporaryDirectory(prefix="sprocket-bundle-", dir=out_dir) as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        requirements = list(requirement_specs(WORKER_REQUIREMENTS))
        if faces:
            requirements += requirement_specs(FACES_REQUIREMENTS)
        _pip_install(root, requirements, platform_tags(arch, python_version), python_version, Path(tmp))
        _prune(root, arch, faces=faces)
        stamp = _copy_sources(root)
        sizes = _sizes(root)
        unzipped = sum(size for _, size in sizes)
        if unzipped > max_unzipped_bytes:
            raise BundleTooLarge(_too_large(arch, faces, unzipped, max_unzipped_bytes, sizes))
        partial = Path(tmp) / "bundle.zip"
        write_zip(root, partial)
        partial.replace(path)
    bundle = Bundle(
        path=path,
        arch=arch,
        python_version=python_version,
        runtime=f"python{python_version}",
        zipped_bytes=path.stat().st_size,
        unzipped_bytes=unzipped,
        stamp=stamp,
        faces=faces,
        sizes=tuple(sizes),
    )
    return record_build(bundle, digest)


def _too_large(arch: str, faces: bool, size: int, limit: int, sizes: Sequence[tuple[str, int]]) -> str:
    biggest = ", ".join(f"{name} {n / 1e6:.0f} MB" for name, n in sizes[:3])
    # Measured: arm64's ffmpeg 9 is 131 MB against x86_64's 173 MB, so arm64 with faces fits.
    other = "build it for arm64, which fits, or " if arch == "x86_64" else ""
    hint = f"layers count toward the same limit: {other}ship the faces worker as a container image (10 GB)"
    if not faces:
        hint = "prune more, or ship the worker as a container image (10 GB)"
    return (
        f"the {arch}{' faces' if faces else ''} Lambda bundle is {size / 1e6:.1f} MB unzipped, over the "
        f"limit of {limit / 1e6:.1f} MB (largest: {biggest}); {hint}"
    )


def requirement_specs(names: Iterable[str]) -> list[str]:
    """``names`` with the version constraints pyproject.toml gives them (bare names otherwise)."""
    declared: dict[str, str] = {}
    pyproject = Path(sprocket_cli.__file__).resolve().parents[1] / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text())["project"]
        lists = [project.get("dependencies", []), *project.get("optional-dependencies", {}).values()]
        for spec in (s for lst in lists for s in lst):
            found = re.match(r"[A-Za-z0-9_.-]+", spec)
            if found:
                declared[_canonical(found.group())] = spec
    return [declared.get(_canonical(name), name) for name in names]


def platform_tags(arch: str, python_version: str) -> list[str]:
    """The manylinux tags pip may install for Lambda's ``python<python_version>`` on ``arch``.

    python3.12 and later run on Amazon Linux 2023 (glibc 2.34), so wheels built for glibc 2.28
    (imageio-ffmpeg 0.8's ffmpeg 9, dlib-bin on arm64) run there; older runtimes run on Amazon
    Linux 2 (glibc 2.26) and take manylinux2014 (glibc 2.17) wheels only. pip matches each
    ``--platform`` literally, so every tag is listed.
    """
    machine = PLATFORMS[arch]
    tags = [f"manylinux2014_{machine}"]
    if tuple(int(n) for n in python_version.split(".")) >= (3, 12):
        tags += [f"manylinux_2_28_{machine}", f"manylinux_2_34_{machine}"]
    return tags


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pip_install(
    root: Path, requirements: Sequence[str], platforms: Sequence[str], python: str, tmp: Path
) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(root),
        *(arg for tag in platforms for arg in ("--platform", tag)),
        "--only-binary=:all:",
        "--python-version",
        python,
        "--implementation",
        "cp",
        "--cache-dir",
        str(cache_dir()),
        *_sdist_only_wheels(requirements, tmp),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        last = lines[-1] if lines else "no message"
        raise BundleError(f"pip could not install the bundle's dependencies for {platforms[0]}: {last}")


#: Requirements published only as an sdist of data files, so ``--only-binary`` cannot take
#: them: they are built into a pure-Python wheel here (the same for every platform).
_SDIST_ONLY = frozenset({"face-recognition-models"})


def _sdist_only_wheels(requirements: Sequence[str], tmp: Path) -> list[str]:
    """The requirements, with sdist-only ones replaced by a locally built (cached) wheel."""
    out = []
    for spec in requirements:
        name = _canonical(re.match(r"[A-Za-z0-9_.-]+", spec).group())  # type: ignore[union-attr]  # specs start with a name
        if name not in _SDIST_ONLY:
            out.append(spec)
            continue
        wheels = cache_dir().parent / "wheels"
        found = sorted(wheels.glob(f"{name.replace('-', '_')}-*.whl"))
        if not found:
            cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels)]
            done = subprocess.run(
                [*cmd, "--cache-dir", str(cache_dir()), spec], capture_output=True, text=True, check=False
            )
            found = sorted(wheels.glob(f"{name.replace('-', '_')}-*.whl"))
            if done.returncode != 0 or not found:
                raise BundleError(f"pip could not build a wheel of {spec}: {done.stderr.strip()[-300:]}")
        out.append(str(found[-1]))
    return out


def _prune(root: Path, arch: str, *, faces: bool) -> None:
    for entry in list(root.iterdir()):
        if entry.name in _DROP_TOP:
            shutil.rmtree(entry)
    for folder in sorted(root.rglob("*"), reverse=True):
        if folder.is_dir() and folder.name in _DROP_DIRS and ".dist-info" not in folder.parent.name:
            shutil.rmtree(folder, ignore_errors=True)
    _prune_ffmpeg(root, arch)
    data = root / "botocore" / "data"
    if data.is_dir():
        for service in data.iterdir():
            if service.is_dir() and service.name not in BOTOCORE_SERVICES:
                shutil.rmtree(service)
    models = root / "face_recognition_models" / "models"
    if faces and models.is_dir():
        for model in models.iterdir():
            if model.name not in FACE_MODELS:
                model.unlink()


def _prune_ffmpeg(root: Path, arch: str) -> None:
    """Keep exactly one ffmpeg binary, the target's, executable."""
    binaries = root / "imageio_ffmpeg" / "binaries"
    found = sorted(p for p in binaries.glob("ffmpeg*") if p.is_file())
    ours = [p for p in found if elf_machine(p) == ELF_MACHINES[arch]]
    if len(ours) != 1:
        raise BundleError(f"expected one {arch} ffmpeg binary in imageio-ffmpeg's wheel, found {found}")
    for other in found:
        if other != ours[0]:
            other.unlink()
    ours[0].chmod(0o755)


def elf_machine(path: Path) -> int | None:
    """The ELF header's ``e_machine`` of ``path`` (62 x86_64, 183 aarch64); None if not ELF."""
    with path.open("rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def _copy_sources(root: Path) -> str:
    """Copy sprocket_cli (every file but caches) and the handler; the stamp they carry."""
    package = Path(sprocket_cli.__file__).resolve().parent
    shutil.copytree(package, root / "sprocket_cli", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    here = Path(__file__).resolve().parent
    (root / "lambda_bundle").mkdir()
    for rel in HANDLER_FILES:
        shutil.copy2(here.parent / rel, root / rel)
    info = root / f"sprocket-{__version__}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: sprocket\nVersion: {__version__}\n")
    (info / "entry_points.txt").write_text(entry_points())
    (info / "top_level.txt").write_text("lambda_bundle\nsprocket_cli\n")
    stamp = stamp_of(root / "sprocket_cli")
    if stamp != stamp_of(package):
        raise BundleError(f"sprocket_cli changed while it was copied into the bundle ({stamp}): build again")
    return stamp


def entry_points() -> str:
    """entry_points.txt for the bundle: pyproject.toml's, else the installed distribution's."""
    pyproject = Path(sprocket_cli.__file__).resolve().parents[1] / "pyproject.toml"
    if pyproject.is_file():
        groups = tomllib.loads(pyproject.read_text())["project"].get("entry-points", {})
        return "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in sorted(points.items())) + "\n"
            for group, points in sorted(groups.items())
        )
    return importlib.metadata.distribution("sprocket").read_text("entry_points.txt") or ""


def _sizes(root: Path) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            top = path.relative_to(root).parts[0]
            totals[top] = totals.get(top, 0) + path.stat().st_size
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def write_zip(root: Path, dest: Path) -> None:
    """Zip ``root`` deterministically: sorted entries, fixed times, modes 0644/0755 only."""
    files = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), _ZIP_TIME)
            info.create_system = 3  # unix: unzip and Lambda honour the mode bits below
            mode = 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with path.open("rb") as src, z.open(info, "w") as out:
                shutil.copyfileobj(src, out, 1 << 20)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lambda_bundle.build", description=__doc__.split("\n")[0])
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="arm64")
    parser.add_argument("--python", default="3.12", help="Lambda's Python version (default 3.12)")
    parser.add_argument("--faces", action="store_true", help="include the local face provider (dlib)")
    parser.add_argument("--out", type=Path, default=Path("dist"), help="folder for the zip (default dist/)")
    args = parser.parse_args(argv)
    try:
        bundle = build_bundle(args.arch, args.out, args.python, faces=args.faces)
    except BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(bundle.path)
    print(
        f"{bundle.arch} {bundle.runtime}: {bundle.zipped_bytes / 1e6:.1f} MB zipped, "
        f"{bundle.unzipped_bytes / 1e6:.1f} MB unzipped (limit {MAX_UNZIPPED_BYTES / 1e6:.1f} MB), "
        f"stamp {bundle.stamp}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
