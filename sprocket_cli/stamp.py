"""The code stamp: which worker code a deployed Lambda bundle carries.

The coordinator and the deployed handler compute it the same way from their own copies of
the code, so a bundle built from other sources (an older or newer Sprocket, a local edit) is
told apart from this one without trusting any label set at deploy time.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from sprocket_cli import __version__

_PACKAGE = Path(__file__).resolve().parent


@cache
def code_stamp() -> str:
    """``<version>+<hash>``: the release and a digest of every module of ``sprocket_cli``."""
    return stamp_of(_PACKAGE)


def stamp_of(package: Path) -> str:
    """The stamp of the ``sprocket_cli`` tree at ``package``, computed afresh (a bundle's copy)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"
