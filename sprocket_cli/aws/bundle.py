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


def prebuilt(path: Path) -> BundleInfo:
    """A zip the user built from this code: stamped with this code's stamp, runtime python3.12."""
    if not path.is_file():
        raise OptionError("bundle", f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise OptionError("bundle", f"{path}: not a zip file")
    with zipfile.ZipFile(path) as z:
        size = sum(info.file_size for info in z.infolist())
    return _checked(BundleInfo(path, RUNTIME, stamp.code_stamp(), size))


def build(arch: str, out_dir: Path, *, rebuild: bool = False) -> BundleInfo:
    """Build one with ``lambda_bundle.build.build_bundle`` (imported only when needed) into
    ``out_dir``, or reuse the one an earlier call left there from the same inputs (unless
    ``rebuild``: to take up new releases of the dependencies, which the inputs do not pin).
    Other builds there for the same target are removed: only the newest is worth keeping."""
    try:
        builder = importlib.import_module("lambda_bundle.build")
    except ImportError as exc:
        raise AwsError(f"cannot build a bundle here ({exc}): pass a prebuilt one with --bundle ZIP") from None
    python = RUNTIME.removeprefix("python")
    built = builder.build_bundle(arch, out_dir, python_version=python, reuse=not rebuild)
    for old in out_dir.glob(f"sprocket-lambda-*-{arch}-py{python}.*"):
        if old.stem != Path(built.path).stem:
            old.unlink(missing_ok=True)
    info = BundleInfo(
        Path(built.path), str(built.runtime), str(built.stamp), int(built.unzipped_bytes), bool(built.reused)
    )
    return _checked(info)


def _checked(bundle: BundleInfo) -> BundleInfo:
    if bundle.unzipped_bytes > MAX_UNZIPPED_BYTES:
        raise UsageError(
            f"bundle {bundle.path}: {bundle.unzipped_bytes / 1e6:.0f} MB unzipped, "
            f"Lambda takes at most {MAX_UNZIPPED_BYTES / 1e6:.0f} MB"
        )
    return bundle
