"""Builds are not redone: a zip in the output folder made from the same inputs is returned.

:func:`inputs_digest` hashes everything a build is made from that can be read here without
building; :func:`record_build` notes it beside the zip (``NAME.json``) and
:func:`earlier_build` finds it again. ``sprocket setup`` keeps its builds in the user cache
folder, so every run after the first with unchanged code deploys the zip it already has.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from lambda_bundle import build
from lambda_bundle.build import (
    FACES_REQUIREMENTS,
    HANDLER_FILES,
    WORKER_REQUIREMENTS,
    Bundle,
    entry_points,
    requirement_specs,
)
from sprocket_cli import __version__
from sprocket_cli.stamp import stamp_of


def package_dir() -> Path:
    """The ``sprocket_cli`` folder a build copies."""
    import sprocket_cli

    return Path(sprocket_cli.__file__).resolve().parent


def inputs_digest(arch: str, python_version: str, *, faces: bool) -> str:
    """A hash of everything a build's zip is made from, read here without building: the
    target, this builder, the requirement specs and entry points, ``__version__``, and every
    file the zip copies from this checkout (paths and bytes). What pip resolves for those specs
    is not in it: a dependency's new release is taken up by ``sprocket setup --rebuild``."""
    digest = hashlib.sha256()

    def add(*parts: str | bytes) -> None:
        for part in parts:
            digest.update(part if isinstance(part, bytes) else part.encode())
            digest.update(b"\0")

    requirements = requirement_specs(WORKER_REQUIREMENTS) + (
        requirement_specs(FACES_REQUIREMENTS) if faces else []
    )
    add(arch, python_version, str(faces), __version__, *requirements, entry_points())
    add(Path(build.__file__).resolve().read_bytes())
    package = package_dir()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            add(path.relative_to(package).as_posix(), path.read_bytes())
    here = Path(build.__file__).resolve().parent.parent
    for rel in HANDLER_FILES:
        add(rel, (here / rel).read_bytes())
    return digest.hexdigest()


def earlier_build(
    out_dir: Path, arch: str, python_version: str, *, faces: bool
) -> tuple[Path, str, Bundle | None]:
    """Where the build for these inputs goes in ``out_dir``, their digest, and the build
    already there if it was made from inputs of that digest and its zip is still the one
    recorded (same size)."""
    name = f"sprocket-lambda-{stamp_of(package_dir()).replace('+', '-')}-{arch}-py{python_version}"
    path = out_dir / f"{name}{'-faces' if faces else ''}.zip"
    digest = inputs_digest(arch, python_version, faces=faces)
    try:
        saved = json.loads(path.with_suffix(".json").read_text())
        if saved.pop("inputs") != digest or path.stat().st_size != saved["zipped_bytes"]:
            return path, digest, None
        saved["sizes"] = tuple((entry, int(n)) for entry, n in saved["sizes"])
        return path, digest, Bundle(**{**saved, "path": path, "reused": True})
    except (OSError, ValueError, KeyError, TypeError):
        return path, digest, None  # no record, or one from another version of this builder


def record_build(bundle: Bundle, digest: str) -> Bundle:
    """Note beside the zip what it was built from, for :func:`earlier_build`; the bundle.

    Not noted if the inputs changed while it was built (code edited meanwhile): the zip may
    hold either version, and a record would hand it out later as the other."""
    if inputs_digest(bundle.arch, bundle.python_version, faces=bundle.faces) != digest:
        bundle.path.with_suffix(".json").unlink(missing_ok=True)
        return bundle
    fields = {k: v for k, v in bundle.__dict__.items() if k not in ("path", "reused")}
    record = bundle.path.with_suffix(".json")
    partial = record.with_suffix(".json.partial")
    partial.write_text(json.dumps({**fields, "inputs": digest}, indent=1))
    partial.replace(record)
    return bundle
