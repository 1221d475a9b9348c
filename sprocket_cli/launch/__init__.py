"""From what the user asked to a validated :class:`~sprocket_cli.run.job.Job`, and running it:
:mod:`.prepare` checks everything that can be checked before work starts and makes the job
folder and record, :mod:`.binding` binds the pipespec to its probed inputs, :mod:`.execute`
runs the job.
"""
