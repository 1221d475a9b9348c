"""Fixtures the face tests of this folder share: one local (dlib) provider, loaded once, and
the reference of the astronaut's photo."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.facemedia import ASTRONAUT

if TYPE_CHECKING:
    from sprocket_cli.faces.base import PersonRef
    from sprocket_cli.faces.local import LocalFaceProvider


@pytest.fixture(scope="session")
def local() -> LocalFaceProvider:
    from sprocket_cli.faces.local import LocalFaceProvider  # dlib: only where a test asks

    return LocalFaceProvider()


@pytest.fixture(scope="session")
def ref_a(local: LocalFaceProvider) -> PersonRef:
    """The photo at its own size (a 128 px face), not a scaled copy in a clip."""
    from sprocket_cli.faces.images import load_image

    return local.reference([load_image(str(ASTRONAUT.path))])
