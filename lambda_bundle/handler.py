"""Lambda entry point: the same worker code path as local processes, nothing heavier.

Events and replies (JSON):

* ``{"metadata": true}`` -> ``{"version": __version__, "stamp": code_stamp()}``: which code the
  function carries; the coordinator refuses a function whose stamp differs from its own.
* ``{"task": <Task JSON>, "storage": {"kind", "location"}}`` -> ``{"result": <Result JSON>}``,
  or ``{"repeating": {"kind", "message"}}`` for a failure that would repeat on every attempt
  (:class:`~sprocket_cli.errors.RepeatingTaskError`: no frames, a filter's or the encoder's
  error, a full disk), ``kind`` naming its class: the coordinator fails the job with
  ``message``, the same line a local worker's gives, instead of invoking the task again.

Error contract: any other task failure **raises**, and the exception propagates out of
:func:`handler`. Lambda then answers the invocation with status 200, the header
``X-Amz-Function-Error: Unhandled`` (boto3: ``response["FunctionError"]``) and the payload
``{"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": [...]}``; a malformed
event fails the same way (``KeyError``, ``TypeError``). A reply without ``FunctionError``
always carries ``"result"`` or ``"repeating"`` (or the metadata). Timeouts and crashes are reported by Lambda
itself, also as ``FunctionError`` (``errorType`` e.g. ``Sandbox.Timedout``).

The function's folder is read-only and only ``/tmp`` is writable: the worker writes nothing
but temporary files (``tempfile`` honours ``TMPDIR``). ffmpeg is imageio-ffmpeg's binary in
the bundle; should it have lost its executable bit (a zip made without modes), it is copied
to ``/tmp`` once and made executable there.

Imports: a cold start pays for every module the first invocation needs, compiled from source
(the bundle carries no bytecode, and none is cached in a read-only folder). The metadata call
needs the stamp alone; the task path (the worker, its stages and pydantic, ffmpeg-python) is
imported by the first task, and boto3 only by a task on S3 storage (its client then lives as
long as the process: :meth:`sprocket_cli.storage.s3.S3Storage.from_location`). A warm process
keeps all of it, and whatever the first task looked up (:func:`_ensure_executable_ffmpeg`).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from sprocket_cli import __version__
from sprocket_cli.errors import RepeatingTaskError
from sprocket_cli.stamp import code_stamp
from sprocket_cli.storage import StorageSpec, open_storage


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    if event.get("metadata"):
        return {"version": __version__, "stamp": code_stamp()}
    # The task path, here and not above: a metadata call need not load it (see the docstring).
    from sprocket_cli.tasks import Task
    from sprocket_cli.worker import run_task

    task = Task.from_json(json.dumps(event["task"]))
    storage = open_storage(StorageSpec(**event["storage"]))
    _ensure_executable_ffmpeg()
    try:
        result = run_task(task, storage)
    except RepeatingTaskError as exc:
        return {"repeating": {"kind": type(exc).__name__, "message": str(exc)}}
    return {"result": json.loads(result.to_json())}


@cache  # once per process: a warm one's next tasks skip the look-up
def _ensure_executable_ffmpeg() -> None:
    """Point ``SPROCKET_FFMPEG`` at an executable copy in /tmp if the bundled binary is not one."""
    if os.environ.get("SPROCKET_FFMPEG"):
        return
    import importlib.util

    spec = importlib.util.find_spec("imageio_ffmpeg")
    folders = list(spec.submodule_search_locations or []) if spec else []
    binaries = [p for f in folders for p in sorted((Path(f) / "binaries").glob("ffmpeg*")) if p.is_file()]
    if not binaries or os.access(binaries[0], os.X_OK):
        return  # imageio-ffmpeg finds and runs it as is
    copy = Path(tempfile.gettempdir()) / "sprocket-ffmpeg" / binaries[0].name
    if not os.access(copy, os.X_OK):
        copy.parent.mkdir(parents=True, exist_ok=True)
        partial = copy.with_suffix(".partial")
        shutil.copyfile(binaries[0], partial)
        partial.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        partial.replace(copy)
    os.environ["SPROCKET_FFMPEG"] = str(copy)
