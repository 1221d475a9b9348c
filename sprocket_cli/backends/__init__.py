"""Backends: where a job's tasks run and where its items live, one plug-in per place.

A backend builds the :class:`~sprocket_cli.executors.base.Executor` and the
:class:`~sprocket_cli.storage.Storage` a job needs. Built-ins register through the
``sprocket.backends`` entry-point group exactly as a third-party backend would, so the next
one is one new module and one line in pyproject.toml.
"""

from sprocket_cli.backends.base import Backend, backend_class, backend_names, open_backend

__all__ = ["Backend", "backend_class", "backend_names", "open_backend"]
