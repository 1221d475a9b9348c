"""The runtime's side of the local Lambda stand-in (tests/lambda_endpoint.py): the bootstrap
each invocation runs in a fresh isolated interpreter, and the task folder it runs in (the bundle
unpacked read-only, as Lambda mounts ``/var/task``)."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

# Run by ``python -I -S -B -c``: the runtime's part of Lambda. The reply goes to a private
# copy of stdout; fd 1 and 2 (the handler's prints, ffmpeg's output) both feed the log, as on Lambda.
BOOTSTRAP = r"""
import json, os, resource, sys, time, traceback
reply_fd = os.dup(1)
os.dup2(2, 1)
sys.stdout = sys.stderr
root = os.environ["LAMBDA_TASK_ROOT"]
sys.path.insert(0, root)
event = json.loads(sys.stdin.buffer.read() or b"null")
deadline = time.monotonic() + float(os.environ["_SPROCKET_TIMEOUT"])

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
    aws_request_id = os.environ["_SPROCKET_REQUEST_ID"]
    invoked_function_arn = os.environ["_SPROCKET_ARN"]
    log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
    log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.monotonic()) * 1000))

def error(exc, kind=None, message=None):
    tb = traceback.extract_tb(exc.__traceback__)
    print(f"[ERROR] {kind or type(exc).__name__}: {message or exc}", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
    return {"errorMessage": message or str(exc), "errorType": kind or type(exc).__name__,
            "stackTrace": traceback.format_list(tb)}

t0 = time.monotonic()
module, _, name = os.environ["_HANDLER"].rpartition(".")
out = {}
try:
    import importlib
    function = getattr(importlib.import_module(module), name)
except Exception as exc:
    out["error"] = error(exc, "Runtime.ImportModuleError", f"Unable to import module '{module}': {exc}")
t1 = time.monotonic()
if "error" not in out:
    try:
        out["payload"] = function(event, Context())
    except Exception as exc:
        out["error"] = error(exc)
t2 = time.monotonic()
usage = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
out.update(init_ms=(t1 - t0) * 1000, duration_ms=(t2 - t1) * 1000, max_memory_kb=usage)
sys.stderr.flush()
os.write(reply_fd, json.dumps(out).encode())
"""


def unpack(zip_path: Path, dest: Path) -> Path:
    """Unpack ``zip_path`` into ``dest`` with its modes, then make ``dest`` read-only: a
    read-only bind mount where allowed (as root), else every file and folder without write bits."""
    dest.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            target = dest / info.filename
            z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)
    mounted = subprocess.run(["mount", "--bind", str(dest), str(dest)], capture_output=True, check=False)
    if mounted.returncode == 0:
        remount = ["mount", "-o", "remount,ro,bind", str(dest)]
        if subprocess.run(remount, capture_output=True, check=False).returncode == 0:
            return dest
        subprocess.run(["umount", str(dest)], capture_output=True, check=False)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return dest


def release(dest: Path) -> None:
    """Undo :func:`unpack`'s read-only state so that the folder can be removed."""
    if subprocess.run(["umount", str(dest)], capture_output=True, check=False).returncode != 0:
        for path in [dest, *dest.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)


def machine_arch() -> str:
    """This machine's architecture by Lambda's name ("x86_64" or "arm64")."""
    machine = os.uname().machine
    return "arm64" if machine in ("aarch64", "arm64") else machine
