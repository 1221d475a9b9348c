"""The artefact setup deploys: a prebuilt zip (``--bundle``) or one built by ``lambda_bundle.build``."""

from __future__ import annotations

import importlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sprocket_cli import stamp
from sprocket_cli.aws.errors import AwsError
from sprocket_cli.errors import OptionError, UsageError

#: The interpreter a prebuilt bundle of this code targets.
RUNTIME = "python3.12"
#: Lambda's limit on a function's unzipped code, bytes (250 MB).
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
#: Architectures whose bundle carries the local face provider (dlib and its models), so that
#: find-face runs on Lambda. A zip, not a layer or a container image: layers count toward the
#: same 250 MB (they would only split the upload), and the arm64 faces zip fits (233 MB: its
#: ffmpeg is 131 MB, x86_64's 173 MB, which takes that zip to 279 MB). An image (up to 10 GB)
#: would fit x86_64 too, but setup would need an ECR repository and a Docker build. In the zip,
#: only tasks that find faces import dlib (the provider loads it when built): other tasks pay
#: only for a bigger zip at a cold start (not measured here). x86_64 deploys without faces.
FACES_ARCHES = frozenset({"arm64"})


def cache_folder() -> Path:
    """Where ``sprocket setup`` keeps the bundles it builds, so that the next run with the same
    code reuses one instead of building again (minutes of pip and zipping)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("sprocket")) / "bundles"


@dataclass(frozen=True)
class BundleInfo:
    """A zip ready to upload."""

    path: Path
    #: e.g. "python3.12".
    runtime: str
    #: The code stamp the zip carries (names its S3 key and goes into the function's Description).
    stamp: str
    #: Bytes once unzipped, which Lambda limits.
    unzipped_bytes: int
    #: True when a build from the same inputs was reused rather than made now.
    reused: bool = False
    #: Whether it carries the local face provider (dlib and its models): find-face runs on it.
    faces: bool = False


def prebuilt(path: Path) -> BundleInfo:
    """A zip the user built from this code: stamped with this code's stamp, runtime python3.12."""
    if not path.is_file():
        raise OptionError("bundle", f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise OptionError("bundle", f"{path}: not a zip file")
    with zipfile.ZipFile(path) as z:
        size = sum(info.file_size for info in z.infolist())
        faces = carries_faces(z.namelist())
    return _checked(BundleInfo(path, RUNTIME, stamp.code_stamp(), size, faces=faces))


def carries_faces(names: list[str]) -> bool:
    """Whether a zip of these entry names holds the local face provider: dlib and its models."""
    return any(n.startswith("_dlib_pybind11") for n in names) and any(
        n.startswith("face_recognition_models/models/") for n in names
    )


def build(arch: str, out_dir: Path, *, rebuild: bool = False) -> BundleInfo:
    """Build one with ``lambda_bundle.build.build_bundle`` (imported only when needed), with
    the local face provider on :data:`FACES_ARCHES`, into
    ``out_dir``, or reuse the one an earlier call left there from the same inputs (unless
    ``rebuild``: to take up new releases of the dependencies, which the inputs do not pin).
    Other builds there for the same target are removed: only the newest is worth keeping."""
    try:
        builder = importlib.import_module("lambda_bundle.build")
    except ImportError as exc:
        raise AwsError(f"cannot build a bundle here ({exc}): pass a prebuilt one with --bundle ZIP") from None
    python = RUNTIME.removeprefix("python")
    faces = arch in FACES_ARCHES
    built = builder.build_bundle(arch, out_dir, python_version=python, faces=faces, reuse=not rebuild)
    for old in out_dir.glob(f"sprocket-lambda-*-{arch}-py{python}*"):  # with faces or without
        if old.stem != Path(built.path).stem:
            old.unlink(missing_ok=True)
    info = BundleInfo(
        Path(built.path),
        str(built.runtime),
        str(built.stamp),
        int(built.unzipped_bytes),
        bool(built.reused),
        faces=bool(built.faces),
    )
    return _checked(info)


def _checked(bundle: BundleInfo) -> BundleInfo:
    if bundle.unzipped_bytes > MAX_UNZIPPED_BYTES:
        raise UsageError(
            f"bundle {bundle.path}: {bundle.unzipped_bytes / 1e6:.0f} MB unzipped, "
            f"Lambda takes at most {MAX_UNZIPPED_BYTES / 1e6:.0f} MB"
        )
    return bundle
