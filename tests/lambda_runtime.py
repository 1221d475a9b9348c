"""The runtime's side of the local Lambda stand-in (tests/lambda_endpoint.py): the bootstraps
run in isolated interpreters (a fresh one per invocation, or a warm one serving invocations in
turn: tests/lambda_warm.py), and the task folder they run in (the bundle unpacked read-only, as
Lambda mounts ``/var/task``)."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

# The runtime's part of Lambda that both bootstraps share (each runs by ``python -I -S -B -c``):
# the bundle on sys.path, the context object, the init phase (import the handler) and one
# invocation, timed as REPORT's Duration.
_RUNTIME = r"""
import importlib, json, os, resource, sys, time, traceback
sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
    invoked_function_arn = os.environ["_SPROCKET_ARN"]
    log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
    log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
    def __init__(self, request_id):
        self.aws_request_id = request_id
        self._deadline = time.monotonic() + float(os.environ["_SPROCKET_TIMEOUT"])
    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

def error(exc, kind=None, message=None):
    tb = traceback.extract_tb(exc.__traceback__)
    print(f"[ERROR] {kind or type(exc).__name__}: {message or exc}", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
    return {"errorMessage": message or str(exc), "errorType": kind or type(exc).__name__,
            "stackTrace": traceback.format_list(tb)}

def init():
    # Lambda's init phase: (the handler, None), or (None, the error every invocation gets).
    t0 = time.monotonic()
    module, _, name = os.environ["_HANDLER"].rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name), None
    except Exception as exc:
        found = None, error(exc, "Runtime.ImportModuleError", f"Unable to import module '{module}': {exc}")
    return (*found, (time.monotonic() - t0) * 1000)

def invoke(function, failed, event, request_id):
    out = {"pid": os.getpid()}
    t1 = time.monotonic()
    if failed is not None:
        out["error"] = failed
    else:
        try:
            out["payload"] = function(event, Context(request_id))
        except Exception as exc:
            out["error"] = error(exc)
    usage = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    out.update(duration_ms=(time.monotonic() - t1) * 1000, max_memory_kb=usage)
    sys.stdout.flush()
    sys.stderr.flush()
    return out
"""

# A cold start: one invocation, the event on stdin, the reply to a private copy of stdout; fd 1
# and 2 (the handler's prints, ffmpeg's output) both feed the log, as on Lambda.
BOOTSTRAP = (
    _RUNTIME
    + r"""
reply_fd = os.dup(1)
os.dup2(2, 1)
sys.stdout = sys.stderr
event = json.loads(sys.stdin.buffer.read() or b"null")
function, failed, init_ms = init()
out = invoke(function, failed, event, os.environ["_SPROCKET_REQUEST_ID"])
os.write(reply_fd, json.dumps({**out, "init_ms": init_ms}).encode())
"""
)

# A warm execution environment (tests/lambda_warm.py): init once, then invocations in a loop.
# Each request is a JSON header line ``{"request_id", "log", "length"}`` and ``length`` bytes of
# event on stdin; each reply is one JSON line on a private copy of stdout. fd 1 and 2 go to the
# request's log file for its invocation; the handler and its children read nothing from stdin
# (/dev/null), which carries the next requests. A failed init ends the process after its reply.
WARM_BOOTSTRAP = (
    _RUNTIME
    + r"""
requests = os.fdopen(os.dup(0), "rb")
replies = os.fdopen(os.dup(1), "wb")
os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
sys.stdout = sys.stderr
function = failed = None
while header := requests.readline():
    head = json.loads(header)
    event = json.loads(requests.read(head["length"]) or b"null")
    log = os.open(head["log"], os.O_WRONLY | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    first = function is None and failed is None
    if first:
        function, failed, init_ms = init()
    out = invoke(function, failed, event, head["request_id"])
    replies.write(json.dumps({**out, "init_ms": init_ms} if first else out).encode() + b"\n")
    replies.flush()
    if failed is not None:
        break
"""
)


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
