"""Job folders: where a job's journal, intermediates and stream live."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

JOB_FILE = "job.json"


def jobs_root() -> Path:
    """``<user data dir>/sprocket/jobs``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("sprocket", appauthor=False)) / "jobs"


def new_job_id() -> str:
    """Sortable by start time, unique enough for one user: ``20261122-031500-3f9a``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def create_job_dir(job_id: str, parent: Path | None, description: dict[str, object]) -> Path:
    """Make the job's folder under ``parent`` (default: the user data dir) and describe it."""
    job_dir = (parent or jobs_root()) / job_id
    job_dir.mkdir(parents=True, exist_ok=False)
    (job_dir / JOB_FILE).write_text(json.dumps(description, indent=2), encoding="utf-8")
    return job_dir
