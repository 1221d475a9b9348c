"""Running a job: the coordinator's loop and the parts it delegates to.

``coordinator`` routes items and waits on the executor; ``taskmaker`` turns ready items into
tasks; ``dispatcher`` owns the ready queue, the worker slots, retries and copies;
``publisher`` owns the stream, the reports and the final files; ``context`` is what they share.
"""

from sprocket_cli.run.coordinator import run_job
from sprocket_cli.run.job import Job

__all__ = ["Job", "run_job"]
