"""run_task(task, storage) -> result: the one code path every worker runs.

Local processes, the Lambda handler and the inline test executor all call :func:`run_task`.
It builds one ffmpeg command from the task's fused stages, runs it, and writes the output
under the task's deterministic key with an atomic rename, so a retried or duplicated task
is harmless. It imports nothing heavier than ffmpeg-python: no PyAV, no CLI, no TUI.
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import time
from pathlib import Path

from sprocket_cli.media.command import ChunkCommand
from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.media.fmp4 import make_segment
from sprocket_cli.registry import stage_class
from sprocket_cli.storage import Storage
from sprocket_cli.tasks import Result, Task, Timings


def init_key(output_key: str, init_hash: str) -> str:
    """Where a segment's init part lives: beside it, named by content so chunks share it."""
    folder = output_key.rpartition("/")[0]
    return f"{folder}/init_{init_hash}.mp4" if folder else f"init_{init_hash}.mp4"


class InjectedFault(RuntimeError):
    """A failure asked for with ``--inject`` (tests and benchmarks)."""


def _inject(task: Task) -> None:
    fault = task.fault
    if fault is None:
        return
    if fault.sleep:
        time.sleep(fault.sleep)
    if task.attempt <= fault.kill:
        os.kill(os.getpid(), signal.SIGKILL)
    if task.attempt <= fault.fail:
        raise InjectedFault(f"injected failure of chunk {fault.chunk}, attempt {task.attempt}")


def run_task(task: Task, storage: Storage) -> Result:
    started = time.time()
    _inject(task)
    with tempfile.TemporaryDirectory(prefix="sprocket-task-") as tmp:
        read_t0 = time.monotonic()
        input_path = _input_path(task, storage, tmp)
        read = time.monotonic() - read_t0

        command = ChunkCommand(input_path, threads=task.threads)
        for call in task.stages:
            stage = stage_class(call.stage)
            stage().contribute(stage.Config(**call.config), command, task.chunk)
        out_path = os.path.join(tmp, "out")
        compute_t0 = time.monotonic()
        run_ffmpeg(
            command.args(out_path),
            what=f"chunk {task.chunk.index} ({task.group}, attempt {task.attempt})",
        )
        compute = time.monotonic() - compute_t0

        write_t0 = time.monotonic()
        extra: dict[str, object] = {}
        frames = task.chunk.frame_count
        if task.output_type == "chunks":
            segment = make_segment(Path(out_path).read_bytes(), task.chunk.start_ticks)
            key = init_key(task.output_key, segment.init_hash)
            if not storage.exists(key):
                storage.put_bytes(key, segment.init)
            storage.put_bytes(task.output_key, segment.media)
            frames = segment.frames
            extra = {
                "init_key": key,
                "init_hash": segment.init_hash,
                "start_ticks": task.chunk.start_ticks,
                "duration_ticks": segment.duration,
                "timescale": segment.timescale,
                "codec": segment.codec,
                "meta": {"width": segment.width, "height": segment.height},
            }
        else:
            storage.put_file(task.output_key, out_path)
        write = time.monotonic() - write_t0
    return Result(
        task_id=task.task_id,
        chunk=task.chunk.index,
        group=task.group,
        output_key=task.output_key,
        output_type=task.output_type,
        frames=frames,
        timings=Timings(started=started, read=read, compute=compute, write=write),
        worker=f"{socket.gethostname()}:{os.getpid()}",
        **extra,  # type: ignore[arg-type]  # keys match Result's optional fields
    )


def _input_path(task: Task, storage: Storage, tmp: str) -> str:
    if task.source is not None:
        return task.source
    if task.input_key is None:
        raise ValueError(f"task {task.task_id} has neither a source nor an input key")
    local = storage.local_path(task.input_key)
    if local is not None:
        return local
    path = os.path.join(tmp, "in")
    storage.get_file(task.input_key, path)
    return path
