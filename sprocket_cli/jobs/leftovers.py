"""What a stopped job leaves that is of no further use, and freeing it (``sprocket clean``).

A write goes to a temporary (``.NAME.XXXXXXXX.part`` beside its destination, renamed into place
when complete) and the final file is assembled from the segments joined into one file in the
job folder. A job that stops half-way, by a full disk or a kill, leaves these half-written:
nothing reads them, and on a full disk they are what keeps it full.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sprocket_cli.storage.layout import WORK

PART_SUFFIX = ".part"
"""How every temporary of a job's folder ends, whoever wrote it (storage, records, assembly)."""
JOINED_VIDEO = "video.mp4"
"""The segments joined, in the job folder, while the final file is assembled from them."""


def temporaries(job_dir: Path) -> list[Path]:
    """The half-written files in ``job_dir``: live only while its coordinator runs."""
    if not job_dir.is_dir():
        return []
    parts = [p for p in job_dir.rglob(f"*{PART_SUFFIX}") if p.is_file()]
    joined = job_dir / JOINED_VIDEO
    return sorted([*parts, joined] if joined.is_file() else parts)


def remove_temporaries(job_dir: Path) -> int:
    """Remove :func:`temporaries`; bytes freed. Only for a job that is not running, or by its
    own coordinator once it has failed."""
    freed = 0
    for path in temporaries(job_dir):
        try:
            size = path.stat().st_size
            path.unlink()
        except OSError:
            continue  # gone already (its writer finished or removed it)
        freed += size
    return freed


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def clean(job_dir: Path, *, everything: bool) -> int:
    """Remove a stopped job's intermediates and half-written files (or, with ``everything``,
    its folder); bytes freed. What a resume needs (the record, the journal, the stream's
    finished segments) stays unless ``everything``."""
    if everything:
        freed = folder_bytes(job_dir)
        shutil.rmtree(job_dir, ignore_errors=True)
        return freed
    freed = remove_temporaries(job_dir) + folder_bytes(job_dir / WORK)
    shutil.rmtree(job_dir / WORK, ignore_errors=True)
    return freed
