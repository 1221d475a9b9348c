"""Lambda entry point: the same worker code path as local processes, nothing heavier.

The event carries a task and a storage spec as JSON; the reply is the task's result. Packaging
(``build.py``) and S3 storage come with the Lambda issue.
"""

from __future__ import annotations

import json
from typing import Any

from sprocket_cli import __version__
from sprocket_cli.storage import StorageSpec, open_storage
from sprocket_cli.tasks import Task
from sprocket_cli.worker import run_task


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    if event.get("metadata"):
        return {"version": __version__}
    task = Task.from_json(json.dumps(event["task"]))
    storage = open_storage(StorageSpec(**event["storage"]))
    return {"result": json.loads(run_task(task, storage).to_json())}
