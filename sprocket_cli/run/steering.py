"""The user's hand on a running job: cancel it, pause or resume dispatching.

Requests arrive as files in the job folder's control folder (from the job's own TUI or from
``sprocket monitor`` in another terminal); a cancel is passed on to running workers through
storage, so that their ffmpeg stops too, on any backend.
"""

from __future__ import annotations

from collections.abc import Iterator

from sprocket_cli.errors import JobCancelledError
from sprocket_cli.events import Event, JobPaused
from sprocket_cli.jobs.control import ControlPoller
from sprocket_cli.run.context import RunContext
from sprocket_cli.run.dispatcher import Dispatcher
from sprocket_cli.storage.layout import CANCEL_KEY


class Steering:
    def __init__(self, run: RunContext, dispatcher: Dispatcher) -> None:
        self.run = run
        self.dispatcher = dispatcher
        # People steer a job on the wall clock; a simulated one runs too fast to steer.
        self.control = ControlPoller(run.job.job_dir) if run.executor.REAL_TIME else None

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
