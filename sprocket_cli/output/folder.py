"""An output that is a folder: the stream itself (HLS master playlist, DASH manifest, every
rendition's segments and the audio), copied out of the job's stream folder when the job ends.

``-o out/`` names one (a path with no suffix, or a folder that exists); a ladder needs one,
since its renditions make no single file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from sprocket_cli.errors import OptionError, OutputError
from sprocket_cli.jobs.records import unlock_outputs
from sprocket_cli.storage import Storage


def is_folder_output(dest: Path) -> bool:
    """Whether ``dest`` names a folder for the stream rather than a file."""
    return dest.is_dir() or (not dest.exists() and not dest.suffix)


def check_ladder_output(dest: Path) -> None:
    """:class:`OptionError` if a ladder's stream would go to ``dest`` and ``dest`` names a file:
    its renditions make no single file (assembling one would keep the top rung alone)."""
    if not is_folder_output(dest):
        raise OptionError(
            "ladder",
            f"writes a stream (HLS and DASH) into a folder, and {dest} is a file: name a folder (-o out/)",
        )


def check_folder_output(dest: Path, *, overwrite: bool) -> None:
    """:class:`OutputError` if the stream cannot go into ``dest`` without losing something."""
    if not dest.parent.is_dir():
        raise OutputError(f"{dest.parent}: the output folder does not exist")
    if dest.is_dir():
        if not os.access(dest, os.W_OK):
            raise OutputError(f"{dest}: the output folder is not writable")
        if any(dest.iterdir()) and not overwrite:
            raise OutputError(
                f"{dest}: the folder is not empty; pass --overwrite to write the stream into it"
            )
    elif not os.access(dest.parent, os.W_OK):
        raise OutputError(f"{dest.parent}: the output folder is not writable")


def copy_stream(storage: Storage, folder: str, dest: Path) -> None:
    """Copy every file of the stream ``folder`` into ``dest`` (created if need be). Each file is
    written aside and renamed into place, so a player reading ``dest`` never sees half of one;
    the master playlist goes last, once everything it names is there."""
    try:
        dest.mkdir(exist_ok=True)
        keys = sorted(storage.list(f"{folder}/"), key=lambda k: k.endswith(".m3u8"))
        for key in keys:
            target = dest / key.removeprefix(f"{folder}/")
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            os.close(fd)
            try:
                local = storage.local_path(key)
                if local is not None:
                    shutil.copyfile(local, tmp)
                else:
                    storage.get_file(key, tmp)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            finally:
                Path(tmp).unlink(missing_ok=True)
    finally:
        unlock_outputs([dest])
