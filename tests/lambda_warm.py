"""The local Invoke API with warm execution environments, as Lambda keeps them between invocations.

:class:`WarmLambda` answers like :class:`~tests.lambda_endpoint.LocalLambda`, but runs each
invocation in a long-lived ``python -I -S -B`` process (``WARM_BOOTSTRAP``) instead of a fresh
one: an idle process serves the next invocation, and a new one starts only when every process
is busy (one per concurrent invocation, as Lambda scales out). A process imports the handler
once (its first invocation's REPORT carries ``Init Duration``, later ones do not) and keeps its
``TMPDIR`` between invocations, as Lambda keeps ``/tmp``. A process that times out is killed and
one that exits is dropped: the next invocation gets a new one, as Lambda resets the environment.
"""

from __future__ import annotations

import contextlib
import json
import select
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from typing import IO, Any

from tests.lambda_endpoint import LocalLambda
from tests.lambda_runtime import WARM_BOOTSTRAP


class _Environment:
    """One warm process with its own ``TMPDIR``, serving one invocation at a time."""

    def __init__(self, endpoint: WarmLambda, first_log: IO[bytes]) -> None:
        self.tmp = tempfile.mkdtemp(prefix="lambda-warm-tmp-")
        # Interpreter failures before the first request reaches its redirect go to the first log.
        self.proc = subprocess.Popen(
            [endpoint.python, "-I", "-S", "-B", "-c", WARM_BOOTSTRAP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=first_log,
            env=endpoint._env(self.tmp, str(uuid.uuid4())),
            cwd=endpoint.root,
        )

    def invoke(self, payload: bytes, request_id: str, log: Path, timeout: float) -> dict[str, Any] | None:
        """The bootstrap's reply, or None if the process died or ran out of ``timeout``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        head = {"request_id": request_id, "log": str(log), "length": len(payload)}
        try:
            self.proc.stdin.write(json.dumps(head).encode() + b"\n" + payload)
            self.proc.stdin.flush()
        except BrokenPipeError:
            return None
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def stop(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):  # a dead process: what it missed is moot
                self.proc.stdin.close()  # the bootstrap's loop ends at end of input
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class WarmLambda(LocalLambda):
    """The Invoke API over warm processes; same constructor as :class:`LocalLambda`."""

    def __init__(self, code: Path, **options: Any) -> None:
        self._idle: list[_Environment] = []
        self._every: list[_Environment] = []
        self._pool_lock = threading.Lock()
        self._logs = Path(tempfile.mkdtemp(prefix="lambda-warm-logs-"))
        super().__init__(code, **options)

    @property
    def started(self) -> int:
        """Processes started so far (cold starts)."""
        with self._pool_lock:
            return len(self._every)

    def run(self, payload: bytes, request_id: str) -> tuple[dict[str, Any], str]:
        log = self._logs / f"{request_id}.log"
        with log.open("wb") as first_log:
            with self._pool_lock:
                env = self._idle.pop() if self._idle else None
            if env is None:
                env = _Environment(self, first_log)
                with self._pool_lock:
                    self._every.append(env)
        outcome = env.invoke(payload, request_id, log, self.timeout)
        if outcome is None or env.proc.poll() is not None:
            kill = outcome is None and env.proc.poll() is None
            if kill:  # no reply in time: Lambda ends the environment
                env.proc.kill()
            env.stop()
            outcome = outcome or self._lost(request_id, env.proc.returncode, timed_out=kill)
        else:
            with self._pool_lock:
                self._idle.append(env)
        text = log.read_bytes().decode(errors="replace")
        log.unlink()
        return outcome, text

    def _lost(self, request_id: str, status: int, *, timed_out: bool) -> dict[str, Any]:
        if timed_out:
            message, kind = f"Task timed out after {self.timeout:.2f} seconds", "Sandbox.Timedout"
        else:
            message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}"
            kind = "Runtime.ExitError"
        return {"error": {"errorMessage": message, "errorType": kind}}

    def close(self) -> None:
        with self._pool_lock:
            every, self._idle = list(self._every), []
        for env in every:
            env.stop()
        super().close()
        shutil.rmtree(self._logs, ignore_errors=True)
