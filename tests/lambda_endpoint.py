"""A local stand-in for AWS Lambda's Invoke API that runs the real bundle, and its fixtures.

moto cannot execute handlers without Docker, so this serves the two calls the Lambda
executor makes, over real HTTP on 127.0.0.1, closely enough for boto3's own lambda client:

* ``POST /2015-03-31/functions/{FunctionName}/invocations`` (Invoke): RequestResponse, Event
  and DryRun; ``X-Amz-Log-Type: Tail`` gives ``X-Amz-Log-Result`` (base64 of the log's last
  4 KB, ending with a REPORT line in Lambda's format); an exception raised by the handler
  comes back as status 200 with ``X-Amz-Function-Error: Unhandled`` and
  ``{"errorMessage", "errorType", "stackTrace"}``; payloads over 6 MB get 413
  ``RequestTooLargeException``; an unknown function 404 ``ResourceNotFoundException``;
  throttling (the first N invocations, or more than K at once: the account's concurrency
  limit) gets 429 ``TooManyRequestsException``.
* ``GET /2016-08-19/account-settings/`` (GetAccountSettings) with a configurable limit.

The zip is unpacked once per endpoint (or a folder already unpacked is shared), mounted
read-only where the machine allows, and every invocation runs the handler in a fresh
``python -I -S -B`` subprocess (a cold start each time; ``tests/lambda_warm.py`` keeps warm
ones, as Lambda does): nothing on ``sys.path`` but the stdlib and the bundle folder
(the bootstrap inserts it, as Lambda's runtime adds ``/var/task``), an environment like
Lambda's (``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``,
``LAMBDA_TASK_ROOT``, a fresh ``TMPDIR``; the caller's ``AWS_*`` credentials, region and
endpoints passed through), the event on stdin and the reply on a private pipe.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote

from tests.lambda_runtime import BOOTSTRAP, release, unpack

#: Lambda's limit on a synchronous invocation's request payload, bytes.
PAYLOAD_LIMIT = 6 * 1024 * 1024
#: How much of the log ``X-Amz-Log-Result`` carries, bytes.
LOG_TAIL = 4096
#: The handler Lambda is configured with (as ``sprocket setup`` deploys it).
HANDLER = "lambda_bundle.handler.handler"
FUNCTION = "sprocket-worker"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Invocation:
    """One request to the Invoke API, as the endpoint answered it."""

    request_id: str
    function: str
    status: int
    """HTTP status: 200, 202 (Event), 204 (DryRun), 413, 429, 404."""
    event: Any = None
    """The decoded request payload (None when it was not run)."""
    function_error: str | None = None
    """"Unhandled" when the handler raised (or timed out)."""
    throttled: bool = False
    duration_ms: float = 0.0
    """Handler time, milliseconds (REPORT's Duration)."""
    init_ms: float = 0.0
    """Importing the handler, milliseconds (REPORT's Init Duration); 0 in a warm process."""
    run_ms: float = 0.0
    """The endpoint's wall time running it: process start and exit, init and handler."""
    pid: int = 0
    """The process that ran the handler: a warm one serves several invocations."""


class LocalLambda:
    """The Invoke API over one unpacked bundle; ``url`` is the ``endpoint_url`` for boto3."""

    def __init__(
        self,
        code: Path,
        *,
        function: str = FUNCTION,
        memory_mb: int = 3008,
        timeout: float = 900.0,
        concurrency: int = 1000,
        environment: dict[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        """``code``: the zip (unpacked into a folder of this endpoint) or a folder already
        unpacked. ``concurrency``: the account's limit; more invocations at once are throttled."""
        self._own: Path | None = None
        if code.is_dir():
            self.root = code
        else:
            self._own = Path(tempfile.mkdtemp(prefix="sprocket-lambda-task-"))
            self.root = unpack(code, self._own / "task")
        self.function = function
        self.memory_mb = memory_mb
        self.timeout = timeout
        self.environment = dict(environment or {})
        self.python = python
        self.region = os.environ.get("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
        self._lock = threading.Lock()
        self._concurrency = concurrency
        self._throttle_next = 0
        self._running = 0
        self._invocations: list[Invocation] = []
        self.peak_running = 0
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-lambda", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- what tests steer and read -------------------------------------------------------

    def throttle(self, first: int = 0, *, concurrency: int | None = None) -> None:
        """Throttle the next ``first`` invocations; with ``concurrency``, also any invocation
        that would make more than that many run at once (the account limit)."""
        with self._lock:
            self._throttle_next = first
            if concurrency is not None:
                self._concurrency = concurrency

    @property
    def concurrency(self) -> int:
        """The account's ConcurrentExecutions limit, as GetAccountSettings reports it."""
        return self._concurrency

    @property
    def invocations(self) -> list[Invocation]:
        """Every Invoke request so far, throttled ones included, in arrival order of answers."""
        with self._lock:
            return list(self._invocations)

    @property
    def throttled(self) -> list[Invocation]:
        return [i for i in self.invocations if i.throttled]

    @property
    def runs(self) -> list[Invocation]:
        """Invocations whose handler ran (not throttled or refused)."""
        return [i for i in self.invocations if i.status in (200, 202)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._own is not None:
            release(self.root)
            shutil.rmtree(self._own, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the service -----------------------------------------------------------------------

    def _admit(self) -> bool:
        """Count a starting invocation in, or False if it is throttled."""
        with self._lock:
            if self._throttle_next > 0:
                self._throttle_next -= 1
                return False
            if self._running >= self._concurrency:
                return False
            self._running += 1
            self.peak_running = max(self.peak_running, self._running)
            return True

    def _record(self, invocation: Invocation) -> None:
        """Note an invocation before its reply is sent: a test reads the list the moment
        boto3 returns, so a note made after the reply would race it."""
        with self._lock:
            self._invocations.append(invocation)

    def _done(self) -> None:
        with self._lock:
            self._running -= 1

    def run(self, payload: bytes, request_id: str) -> tuple[dict[str, Any], str]:
        """Run the handler on ``payload`` in a fresh isolated interpreter: (outcome, log)."""
        with tempfile.TemporaryDirectory(prefix="lambda-tmp-") as tmp:
            env = self._env(tmp, request_id)
            started = time.monotonic()
            try:
                proc = subprocess.run(
                    [self.python, "-I", "-S", "-B", "-c", BOOTSTRAP],
                    input=payload,
                    capture_output=True,
                    env=env,
                    cwd=self.root,
                    timeout=self.timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                log = (exc.stderr or b"").decode(errors="replace")
                message = f"Task timed out after {self.timeout:.2f} seconds"
                error = {"errorMessage": message, "errorType": "Sandbox.Timedout"}
                outcome: dict[str, Any] = {"error": error, "duration_ms": (time.monotonic() - started) * 1000}
                return outcome, log
        log = proc.stderr.decode(errors="replace")
        try:
            outcome = json.loads(proc.stdout)
        except json.JSONDecodeError:
            status = f"exit status {proc.returncode}"
            outcome = {
                "error": {
                    "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {status}",
                    "errorType": "Runtime.ExitError",
                },
                "duration_ms": (time.monotonic() - started) * 1000,
            }
        return outcome, log

    def _env(self, tmp: str, request_id: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
        env.update(
            PATH="/usr/local/bin:/usr/bin:/bin",
            LANG="en_US.UTF-8",
            TZ=":UTC",
            TMPDIR=tmp,
            LAMBDA_TASK_ROOT=str(self.root),
            LAMBDA_RUNTIME_DIR=str(Path(self.python).parent),
            AWS_EXECUTION_ENV=f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            AWS_LAMBDA_FUNCTION_NAME=self.function,
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(self.memory_mb),
            AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{self.function}",
            AWS_LAMBDA_LOG_STREAM_NAME=f"local/[$LATEST]{request_id.replace('-', '')}",
            AWS_REGION=env.get("AWS_REGION", self.region),
            AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", self.region),
            _HANDLER=HANDLER,
            _SPROCKET_TIMEOUT=str(self.timeout),
            _SPROCKET_REQUEST_ID=request_id,
            _SPROCKET_ARN=self.arn,
        )
        env.update(self.environment)
        return env

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{self.function}"

    def report_line(self, request_id: str, outcome: dict[str, Any]) -> str:
        """Lambda's REPORT line (tab-separated, as CloudWatch shows it)."""
        duration = float(outcome.get("duration_ms", 0.0))
        used = math.ceil(int(outcome.get("max_memory_kb", 0)) / 1024)
        fields = [
            f"REPORT RequestId: {request_id}",
            f"Duration: {duration:.2f} ms",
            f"Billed Duration: {max(1, math.ceil(duration))} ms",
            f"Memory Size: {self.memory_mb} MB",
            f"Max Memory Used: {used} MB",
        ]
        if "init_ms" in outcome:
            fields.append(f"Init Duration: {float(outcome['init_ms']):.2f} ms")
        return "\t".join(fields) + "\t\n"


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client dropping its kept-alive connection is no error; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(endpoint: LocalLambda) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: with Nagle's algorithm the body would wait for
        # the client's delayed ACK (40 ms a reply), a cost of this stand-in, not of Lambda.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # `format`: the base's name
            """Quiet: tests read the recorded invocations instead."""

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, kind: str, message: str, request_id: str, **extra: str) -> None:
            body = json.dumps({"Type": "User", "message": message, **extra}).encode()
            self._send(status, body, {"x-amzn-ErrorType": kind, "x-amzn-RequestId": request_id})

        def do_GET(self) -> None:
            request_id = str(uuid.uuid4())
            if self.path.rstrip("/") != "/2016-08-19/account-settings":
                self._error(
                    404, "UnknownOperationException", f"no such operation: GET {self.path}", request_id
                )
                return
            limit = endpoint.concurrency
            body = {
                "AccountLimit": {
                    "TotalCodeSize": 80_530_636_800,
                    "CodeSizeUnzipped": 262_144_000,
                    "CodeSizeZipped": 52_428_800,
                    "ConcurrentExecutions": limit,
                    "UnreservedConcurrentExecutions": limit,
                },
                "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 1},
            }
            self._send(200, json.dumps(body).encode(), {"x-amzn-RequestId": request_id})

        def do_POST(self) -> None:
            request_id = str(uuid.uuid4())
            length = int(self.headers.get("Content-Length") or 0)
            payload = self.rfile.read(length)
            parts = self.path.split("?")[0].split("/")
            if len(parts) != 5 or parts[1:3] != ["2015-03-31", "functions"] or parts[4] != "invocations":
                self._error(
                    404, "UnknownOperationException", f"no such operation: POST {self.path}", request_id
                )
                return
            name = unquote(parts[3]).split(":function:")[-1].split(":")[0]
            if name != endpoint.function:
                arn = f"arn:aws:lambda:{endpoint.region}:{ACCOUNT}:function:{name}"
                endpoint._record(Invocation(request_id, name, 404))  # before the reply: see _record
                self._error(404, "ResourceNotFoundException", f"Function not found: {arn}", request_id)
                return
            if len(payload) > PAYLOAD_LIMIT:
                message = (
                    f"Request must be smaller than {PAYLOAD_LIMIT} bytes for the InvokeFunction operation"
                )
                endpoint._record(Invocation(request_id, name, 413))
                self._error(413, "RequestTooLargeException", message, request_id)
                return
            kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
            if kind == "DryRun":
                endpoint._record(Invocation(request_id, name, 204))
                self._send(204, b"", {"x-amzn-RequestId": request_id})
                return
            if not endpoint._admit():
                endpoint._record(Invocation(request_id, name, 429, throttled=True))
                self._error(
                    429, "TooManyRequestsException", "Rate Exceeded.", request_id,
                    Reason="ConcurrentInvocationLimitExceeded",
                )  # fmt: skip
                return
            event = json.loads(payload or b"null")
            if kind == "Event":  # queued: answered at once, run in the background
                self._send(202, b"", {"x-amzn-RequestId": request_id})
                threading.Thread(
                    target=self._invoke, args=(payload, event, name, request_id), daemon=True
                ).start()
                return
            outcome, log = self._invoke(payload, event, name, request_id)
            headers = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": "$LATEST"}
            if "error" in outcome:
                headers["X-Amz-Function-Error"] = "Unhandled"
                body = json.dumps(outcome["error"]).encode()
            else:
                body = json.dumps(outcome.get("payload")).encode()
            if self.headers.get("X-Amz-Log-Type") == "Tail":
                headers["X-Amz-Log-Result"] = base64.b64encode(log.encode()[-LOG_TAIL:]).decode()
            self._send(200, body, headers)

        def _invoke(
            self, payload: bytes, event: Any, name: str, request_id: str
        ) -> tuple[dict[str, Any], str]:
            started = time.monotonic()
            try:
                outcome, output = endpoint.run(payload, request_id)
            finally:
                endpoint._done()
            ran = (time.monotonic() - started) * 1000
            log = (
                f"START RequestId: {request_id} Version: $LATEST\n{output}"
                f"END RequestId: {request_id}\n{endpoint.report_line(request_id, outcome)}"
            )
            failed = "Unhandled" if "error" in outcome else None
            duration, init = (float(outcome.get(k, 0.0)) for k in ("duration_ms", "init_ms"))
            endpoint._record(
                Invocation(request_id, name, 200, event, failed, duration_ms=duration, init_ms=init,
                           run_ms=ran, pid=int(outcome.get("pid", 0)))
            )  # fmt: skip
            return outcome, log

    return Handler
