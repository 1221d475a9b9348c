"""Pacing calls to a rate-limited service: a token bucket before each call, backoff after a refusal.

Both take their clock, sleep and randomness as arguments, so tests drive them with a fake clock
instead of sleeping.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sprocket_cli.errors import UsageError

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """At most ``rate`` calls per second on average, bursts of up to ``burst`` calls.

    Shared by the threads of one process; each worker process has its own bucket, so a job's
    total rate is the per-worker rate times the workers (the caller divides accordingly).
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if not rate > 0:
            raise UsageError(f"a request rate must be > 0 per second, not {rate}")
        self.rate = rate
        #: One second's worth by default: a steady caller is never made to wait.
        self.burst = max(1.0, rate if burst is None else burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is there; returns the seconds waited."""
        waited = 0.0
        with self._lock:  # held while sleeping, so waiters are served in turn
            while True:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return waited
                pause = (1.0 - self._tokens) / self.rate
                self._sleep(pause)
                waited += pause


@dataclass
class Backoff:
    """Exponential backoff with full jitter: try ``n`` waits ``uniform(0, min(cap, base * 2**n))``.

    Full jitter (rather than a fixed doubling) spreads the retries of many workers that were
    throttled at the same moment, so they do not all come back together.
    """

    #: Calls in all, the first included.
    attempts: int = 6
    #: Seconds: the ceiling of the first wait.
    base: float = 0.5
    #: Seconds: no wait is longer.
    cap: float = 20.0
    sleep: Sleep = time.sleep
    rng: Callable[[], float] = field(default=random.random)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.cap < 0:
            raise UsageError(f"bad backoff: attempts {self.attempts}, base {self.base}, cap {self.cap}")

    def wait(self, retry: int) -> float:
        """Sleep before retry number ``retry`` (0 for the first retry); returns the seconds slept."""
        pause = self.rng() * min(self.cap, self.base * 2.0**retry)
        self.sleep(pause)
        return pause
