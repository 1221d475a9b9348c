"""Find stages and delivery functions: installed entry points, or ``module:Class`` in a spec.

Built-ins register through the same entry points as third-party plug-ins, so an unknown name
fails with the list of what is installed, and the closest known names first.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, cast

from sprocket_cli.errors import UnknownPluginError

if TYPE_CHECKING:
    from sprocket_cli.faces.base import FaceProvider
    from sprocket_cli.pipeline.delivery import DeliveryFunction
    from sprocket_cli.stages.base import AnyStage

STAGE_GROUP = "sprocket.stages"
DELIVERY_GROUP = "sprocket.delivery"
FACES_GROUP = "sprocket.faces"


@functools.cache
def installed(group: str) -> dict[str, str]:
    """Name -> ``module:attr`` of every plug-in registered in ``group``."""
    return {ep.name: ep.value for ep in entry_points(group=group)}


def closest(name: str, known: Iterable[str]) -> list[str]:
    """The ``known`` names nearest ``name``, nearest first: a typo's likely meaning."""
    return difflib.get_close_matches(name, sorted(set(known)), n=3)


def load_plugin(group: str, name: str, kind: str, base: type, also: Iterable[str] = ()) -> type:
    """The class registered as ``name`` in ``group`` (or ``module:Class``), a subclass of ``base``;
    :class:`UnknownPluginError` naming what is installed otherwise."""
    target = name if ":" in name else installed(group).get(name)
    if target is None:
        names = ", ".join(sorted(installed(group))) or "none (is sprocket installed?)"
        # The guess comes before the list so that the list stays the message's tail.
        near = closest(name, [*installed(group), *also])
        guess = f"; did you mean {' or '.join(map(repr, near))}?" if near else ""
        raise UnknownPluginError(f"unknown {kind} {name!r}{guess}; installed: {names}")
    module_name, _, attr = target.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:  # ValueError: an empty module name
        raise UnknownPluginError(f"{kind} {name!r} cannot be loaded from {target}: {exc}") from exc
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise UnknownPluginError(f"{kind} {name!r} ({target}) is not a {base.__name__}")
    return obj


def stage_class(name: str, also: Iterable[str] = ()) -> type[AnyStage]:
    """The stage ``name``; ``also``: further names it may be a typo of (the original's)."""
    from sprocket_cli.stages.base import Stage

    return cast("type[AnyStage]", load_plugin(STAGE_GROUP, name, "stage", Stage, also))


def stage_ref(cls: type[AnyStage]) -> str:
    """How a task or a record names ``cls`` so that :func:`stage_class` loads it again: its
    ``NAME`` if that is what is installed under it, else ``module:Class`` (a user's stage)."""
    ref = f"{cls.__module__}:{cls.__qualname__}"
    return cls.NAME if installed(STAGE_GROUP).get(cls.NAME) == ref else ref


def delivery_class(name: str, also: Iterable[str] = ()) -> type[DeliveryFunction]:
    from sprocket_cli.pipeline.delivery import DeliveryFunction

    kind = "delivery function"
    return cast("type[DeliveryFunction]", load_plugin(DELIVERY_GROUP, name, kind, DeliveryFunction, also))


def face_provider_class(name: str) -> type[FaceProvider]:
    from sprocket_cli.faces.base import FaceProvider

    return cast("type[FaceProvider]", load_plugin(FACES_GROUP, name, "face provider", FaceProvider))
