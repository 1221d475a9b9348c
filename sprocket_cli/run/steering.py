"""The user's hand on a running job: cancel it, pause or resume dispatching.

Requests arrive as files in the job folder's control folder (from the job's own TUI or from
``sprocket monitor`` in another terminal); a cancel is passed on to running workers through
storage, so that their ffmpeg stops too, on any backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sprocket_cli.errors import JobCancelledError
from sprocket_cli.events import Event, JobPaused
from sprocket_cli.jobs.control import ControlPoller, clear_requests
from sprocket_cli.run.context import RunContext
from sprocket_cli.run.dispatcher import Dispatcher
from sprocket_cli.storage.layout import CANCEL_KEY


class Steering:
    def __init__(self, run: RunContext, dispatcher: Dispatcher) -> None:
        self.run = run
        self.dispatcher = dispatcher
        # People steer a job on the wall clock; a simulated one runs too fast to steer.
        self.control = ControlPoller(run.job.job_dir) if run.executor.REAL_TIME else None

    def begin(self) -> None:
        """Forget an earlier run's requests, and its cancel in storage the job folder is not (S3)."""
        clear_requests(self.run.job.job_dir)
        self.run.storage.delete(CANCEL_KEY)

    def stop(self, ended: bool) -> None:
        """Stop the copies still running; after a failure or an interruption, tell remote ones
        (on Lambda, say) to stop instead of working, and billing, to the end."""
        running, storage = self.dispatcher.running, self.run.storage
        for future in running:
            future.cancel()
        if not ended and running and not storage.exists(CANCEL_KEY):
            with contextlib.suppress(OSError):  # a full disk: the failure is told already
                storage.put_bytes(CANCEL_KEY, b"")  # a resume removes it

    @property
    def active(self) -> bool:
        """Whether requests are looked at (the loop then wakes at least every poll interval)."""
        return self.control is not None

    def poll(self) -> Iterator[Event]:
        """Act on the requests since the last look; a cancel ends the job here."""
        if self.control is None:
            return
        run, dispatcher = self.run, self.dispatcher
        asked = self.control.poll(run.executor.now())
        if asked.cancel:
            if not run.storage.exists(CANCEL_KEY):
                run.storage.put_bytes(CANCEL_KEY, b"")  # running workers stop on seeing it
            job_id = run.job.job_id
            raise JobCancelledError(f"{job_id}: cancelled; `sprocket resume {job_id}` picks it up again")
        if asked.paused != dispatcher.paused:
            dispatcher.paused = asked.paused
            yield run.emit(JobPaused(t=run.now(), paused=dispatcher.paused))
