"""AWS work as data: a :class:`Step` is one read and a ``decide`` function from its answer to the
:class:`Call` s still needed.

A dry run (:func:`dry_run`) lists every step with the answer it assumes and makes no call; a real
run (:meth:`Runner.apply`) reads, decides and executes step by step, so running the same steps
twice finds everything in place the second time and makes no create, update or delete call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sprocket_cli.aws.errors import aws_errors
from sprocket_cli.aws.session import Clients

Response = Mapping[str, Any]

#: Lambda refuses a new role for some seconds after IAM created it (eventual consistency).
ROLE_NOT_READY = "cannot be assumed by Lambda"
#: Seconds between tries of a call that met ROLE_NOT_READY: about 40 s in all, then give up.
ROLE_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0)


@dataclass(frozen=True)
class Call:
    """One AWS API call: what a dry run prints and a real run executes."""

    #: "s3", "iam", "lambda" or "sts".
    service: str
    #: The boto3 client method, e.g. "create_bucket".
    operation: str
    params: Mapping[str, Any]
    #: Why the call is made, for the user.
    why: str
    #: A waiter of the service and its arguments, run after the call (e.g. until Active).
    wait: tuple[str, Mapping[str, Any]] | None = None
    #: For a read: error codes that mean "not there", so the read answers None.
    missing: frozenset[str] = frozenset()
    #: Added to any error message of this call: what the user can do about it.
    hint: str = ""
    #: Raises when a successful answer still reports a failure (delete_objects' Errors).
    check: Callable[[Response], None] | None = None

    def shown(self) -> str:
        """The parameters as ``Name=value`` pairs (JSON documents compact, as sent)."""
        parts = []
        for key, value in self.params.items():
            text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            parts.append(f"{key}={text}")
        return " ".join(parts)


@dataclass(frozen=True)
class Step:
    """A read and what to do about its answer."""

    #: What the step is about, e.g. "bucket sprocket-123-us-east-1".
    what: str
    read: Call
    #: The calls still needed, given the read's answer (None: the thing does not exist).
    decide: Callable[[Response | None], list[Call]]
    #: The answer a dry run assumes; None is "does not exist".
    assumed: Response | None = None
    #: Read and decide again after the calls, until none is needed (deleting page by page).
    repeat: bool = False


def covers(have: Any, want: Any) -> bool:
    """``have`` holds everything in ``want`` (extra keys the service adds are fine)."""
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(k in have and covers(have[k], v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(have) == len(want) and all(map(covers, have, want))
    return bool(have == want)


def dry_run(steps: list[Step]) -> list[tuple[Call, bool]]:
    """Every call a real run would make when each read answers as assumed: (call, is_read)."""
    planned: list[tuple[Call, bool]] = []
    for step in steps:
        planned.append((step.read, True))
        planned.extend((call, False) for call in step.decide(step.assumed))
    return planned


@dataclass
class Runner:
    """Executes steps against real clients; ``sleep`` is the pause between role-not-ready retries."""

    clients: Clients
    sleep: Callable[[float], None] = time.sleep
    delays: tuple[float, ...] = field(default=ROLE_RETRY_DELAYS)

    def apply(self, steps: list[Step]) -> Iterator[Call]:
        """Read, decide and execute each step; yields each create/update/delete call once done."""
        for step in steps:
            while True:
                calls = step.decide(self.read(step.read))
                for call in calls:
                    self.execute(call)
                    yield call
                if not (step.repeat and calls):
                    break

    def read(self, call: Call) -> Response | None:
        """The read's answer, or None when it says the thing does not exist."""
        from botocore.exceptions import ClientError

        with aws_errors(call.hint):
            try:
                answer: Response = getattr(self.clients.of(call.service), call.operation)(**call.params)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in call.missing:
                    return None
                raise
        return answer

    def execute(self, call: Call) -> Response:
        """Make ``call``, retrying while Lambda cannot yet assume a new role; then its waiter."""
        from botocore.exceptions import ClientError

        client = self.clients.of(call.service)
        with aws_errors(call.hint):
            for attempt in range(len(self.delays) + 1):
                try:
                    answer: Response | None = getattr(client, call.operation)(**call.params)
                    break
                except ClientError as exc:
                    message = str(exc.response.get("Error", {}).get("Message", ""))
                    if ROLE_NOT_READY not in message or attempt == len(self.delays):
                        raise
                    self.sleep(self.delays[attempt])
            if call.wait is not None:
                waiter, params = call.wait
                client.get_waiter(waiter).wait(**params)  # type: ignore[call-overload]
        answer = answer or {}  # upload_file answers None
        if call.check is not None:
            call.check(answer)
        return answer
