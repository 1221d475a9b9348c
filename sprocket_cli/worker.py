"""run_task(task, storage) -> result: the one code path every worker runs.

Local processes, the Lambda handler and the inline test executor all call :func:`run_task`.
It builds one ffmpeg command from the task's fused stages, runs it, and writes the output
under the task's deterministic key. Writes are exclusive: when copies of a task race (clones,
speculative backups, a gop-pair partner), exactly one copy's output is stored, and the
others notice the output exist and stop early. It imports nothing heavier than
ffmpeg-python: no PyAV, no CLI, no TUI.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import resource
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sprocket_cli.errors import (
    DiskFullError,
    EncoderRefusedError,
    FfmpegError,
    FilterFailedError,
    NoFramesError,
    RepeatingTaskError,
)
from sprocket_cli.media.command import ChunkCommand
from sprocket_cli.media.ffmpeg import STOP_POLL, Stopped, ffmpeg_exe, run_ffmpeg
from sprocket_cli.media.fmp4 import EmptySegment, make_segment
from sprocket_cli.media.renditions import store_renditions, store_segment
from sprocket_cli.media.targetq import Reached, encode_to_target
from sprocket_cli.pipeline.registry import stage_class
from sprocket_cli.stages.base import PythonStage, Span
from sprocket_cli.storage import Storage
from sprocket_cli.storage.layout import CANCEL_KEY
from sprocket_cli.tasks import ChunkRef, Progress, Result, Task, Timings

#: Told a running copy's phase and frames done: ``report("computing", 120)``.
Reporter = Callable[[str, int], None]


#: Seconds between a running task's frame reports (a phase change is reported at once).
REPORT_PERIOD = 0.5


def throttled(task: Task, send: Callable[[Progress], None]) -> Reporter:
    """A reporter for ``task`` that passes each phase change to ``send`` at once and frame
    counts at most every :data:`REPORT_PERIOD` seconds: what an executor relays to the
    coordinator, whatever carries it (a pipe, an actor)."""
    me = worker_id()
    last_phase, last_at = "", 0.0

    def report(phase: str, frames: int) -> None:
        nonlocal last_phase, last_at
        now = time.monotonic()
        if phase != last_phase or now - last_at >= REPORT_PERIOD:
            last_phase, last_at = phase, now
            send(Progress(task.task_id, task.copy, me, phase, frames))

    return report


def warm() -> None:
    """Import the worker path and every stage now, in a worker that waits for its first task
    while the coordinator is still planning."""
    from sprocket_cli.pipeline.registry import STAGE_GROUP, installed

    # Forked workers inherit the binary found here, and skip its check (``ffmpeg -version``).
    with contextlib.suppress(Exception):  # a missing ffmpeg fails the tasks, with its error
        ffmpeg_exe()
    for name in installed(STAGE_GROUP):
        # A stage that fails to load fails the tasks that use it, with its error; not the worker.
        with contextlib.suppress(Exception):
            stage_class(name)


def _ignore(_phase: str, _frames: int) -> None:
    """The reporter of a worker nobody watches."""


def worker_id() -> str:
    """This worker, as events and the TUI name it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


class InjectedFault(RuntimeError):
    """A failure asked for with ``--inject`` (tests and benchmarks)."""


def _inject(task: Task, stop: Callable[[], bool]) -> None:
    fault = task.fault
    if fault is None:
        return
    # A straggler is a slow worker, not slow data: only the first attempt stalls.
    until = time.monotonic() + (fault.sleep if task.attempt == 1 else 0.0)
    while time.monotonic() < until:  # a straggler that still notices it is not needed
        if stop():
            raise Stopped
        time.sleep(min(STOP_POLL, until - time.monotonic()))
    if task.attempt <= fault.kill:
        os.kill(os.getpid(), signal.SIGKILL)
    if task.attempt <= fault.fail:
        raise InjectedFault(f"injected failure of chunk {fault.chunk}, attempt {task.attempt}")


#: gop-pair: share of its own compute time a worker waits for its partner before taking over.
PARTNER_GRACE = 0.25


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    until = time.monotonic() + seconds
    while not condition() and time.monotonic() < until:
        time.sleep(min(STOP_POLL, max(0.0, until - time.monotonic())))


def cpu_seconds() -> float:
    """CPU-seconds this process and its waited-for children (ffmpeg) have used so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class _Outcome:
    frames: int = 0
    read: float = 0.0
    compute: float = 0.0
    write: float = 0.0
    cpu: float = 0.0
    stored: bool = False
    """False when another copy stored the output first."""
    fields: dict[str, Any] = field(default_factory=dict)


def run_task(task: Task, storage: Storage, report: Reporter = _ignore) -> Result:
    started, cpu = time.time(), cpu_seconds()
    # Injected trouble hits the first copy only: a straggler is a slow worker, not slow data.
    outcome = _work(task, task.chunk, task.output_key, storage, report, with_faults=task.copy == 0)
    outcome.cpu = cpu_seconds() - cpu
    meta: dict[str, Any] = dict(outcome.fields.pop("meta", {}))
    partner_key = task.partner_output_key
    if task.partner is not None and partner_key is not None and outcome.stored:
        # gop-pair: our half is done. A partner of equal speed is about done too, so give it
        # a grace of a quarter of our own time; then take its half unless it has delivered, stopping
        # the moment it does.
        _wait_for(lambda: storage.exists(partner_key), PARTNER_GRACE * outcome.compute)
        cpu = cpu_seconds()
        partner = _work(task, task.partner, partner_key, storage, report, with_faults=False)
        partner.cpu = cpu_seconds() - cpu
        if partner.stored:
            meta["partner"] = _result(task, task.partner, partner_key, partner, started).to_dict()
        outcome.compute += partner.compute
        outcome.read += partner.read
        outcome.write += partner.write
        outcome.cpu += partner.cpu
    outcome.fields["meta"] = meta
    return _result(task, task.chunk, task.output_key, outcome, started)


def _result(task: Task, chunk: ChunkRef, key: str, outcome: _Outcome, started: float) -> Result:
    return Result(
        task_id=task.task_id if chunk == task.chunk else task.partner_task_id or task.task_id,
        chunk=chunk.index,
        group=task.group,
        output_key=key,
        output_type=task.output_type,
        frames=outcome.frames,
        timings=Timings(
            started=started, read=outcome.read, compute=outcome.compute, write=outcome.write, cpu=outcome.cpu
        ),
        worker=worker_id(),
        superseded=not outcome.stored,
        **outcome.fields,
    )


def _work(
    task: Task, chunk: ChunkRef, key: str, storage: Storage, report: Reporter, *, with_faults: bool
) -> _Outcome:
    """Run the task's stages over ``chunk`` and store the output under ``key`` exclusively."""
    outcome = _Outcome()

    def taken() -> bool:
        """Whether to stop: another copy delivered, or the user cancelled the job."""
        return storage.exists(key) or storage.exists(CANCEL_KEY)

    if taken():
        return outcome
    first = stage_class(task.stages[0].stage)
    if issubclass(first, PythonStage):
        return _work_python(task, first, chunk, key, storage, report, taken)
    with tempfile.TemporaryDirectory(prefix="sprocket-task-") as tmp:
        t0 = time.monotonic()
        report("reading", 0)
        lanes = [(chunk, task.source, task.input_key), *((m.chunk, m.source, m.key) for m in task.more)]
        paths = [
            _input_path(source, ikey, storage, os.path.join(tmp, f"in{i}"))
            for i, (_, source, ikey) in enumerate(lanes)
        ]
        command = ChunkCommand(
            paths,
            threads=task.threads,
            context=task.context,
            scratch=tmp,
            lane_chunks=[lane_chunk for lane_chunk, _, _ in lanes],
        )
        for call in task.stages:
            stage = stage_class(call.stage)
            command.focus(call.lane)
            lane_chunk = lanes[call.lane][0] if call.lane is not None else chunk
            stage().contribute(stage.Config(**call.config), command, lane_chunk)
        out_path = os.path.join(tmp, "out")
        t1 = time.monotonic()
        outcome.read = t1 - t0
        if command.skip:
            # Nothing of the chunk is kept: an empty output still marks the task as delivered
            # (copies and resume look for it), and the stream leaves the chunk out.
            outcome.stored = storage.put_bytes(key, b"", exclusive=True)
            outcome.fields = {"meta": {"empty": True}}
            return outcome
        report("computing", 0)

        def run(args: list[str], doing: str = "") -> None:  # a target's probes run the same way
            what = f"chunk {chunk.index} ({task.group}, attempt {task.attempt}){doing}"
            run_ffmpeg(args, what=what, stop=taken, on_frames=lambda frames: report("computing", frames))

        reached: Reached | None = None
        try:
            if with_faults:
                _inject(task, taken)
            if command.target is None:
                run(command.args(out_path))
            else:
                reached = encode_to_target(command, command.target, chunk.frame_count, out_path, tmp, run)
        except Stopped:
            outcome.compute = time.monotonic() - t1
            return outcome
        except FfmpegError as exc:
            raise repeating(exc.stderr, tmp) or exc from None
        t2 = time.monotonic()
        outcome.compute = t2 - t1
        outcome.frames = chunk.frame_count
        report("writing", chunk.frame_count)
        with _disk_full_named(storage, key):
            start = chunk.start_ticks if command.start_ticks is None else command.start_ticks
            more = store_renditions(command, start, key, out_path, storage)  # before the main marks it done
            _store(task, chunk, command.start_ticks, key, out_path, storage, outcome)
            if more:
                outcome.fields.setdefault("meta", {})["renditions"] = more
        if reached is not None:
            outcome.fields.setdefault("meta", {}).update(reached.facts())
        outcome.write = time.monotonic() - t2
    return outcome


def _store(
    task: Task,
    chunk: ChunkRef,
    start: int | None,
    key: str,
    out_path: str,
    storage: Storage,
    outcome: _Outcome,
) -> None:
    """Store ffmpeg's output at ``out_path`` under ``key`` exclusively: a segment and its
    init part, or the file as it is."""
    if task.output_type != "chunks":
        outcome.stored = storage.put_file(key, out_path, exclusive=True)
        return
    start_ticks = chunk.start_ticks if start is None else start
    try:
        segment = make_segment(out_path, start_ticks)
    except EmptySegment:
        raise NoFramesError("the filters left no frame to encode") from None
    ikey, outcome.stored = store_segment(segment, key, storage)
    outcome.frames = segment.frames
    outcome.fields = {
        "init_key": ikey,
        "init_hash": segment.init_hash,
        "start_ticks": start_ticks,
        "duration_ticks": segment.duration,
        "timescale": segment.timescale,
        "codec": segment.codec,
        "meta": {"width": segment.width, "height": segment.height, "bytes": segment.media_bytes},
    }


@contextlib.contextmanager
def _disk_full_named(storage: Storage, key: str) -> Iterator[None]:
    """A full disk under ``key`` as :class:`DiskFullError` naming the file: a bare ENOSPC from
    a write names no path, and the user must learn which file system to free."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        local = storage.local_path(key)  # the store removed its half-written temporary
        raise DiskFullError(f"{local or key}: No space left on device") from None


# What ffmpeg's stderr says when the failure is in the work itself, not in the machine. Its
# lines start with the logging contexts, ``[Parsed_drawtext_0 @ 0x55d0] `` for a filter of a
# -vf chain, ``[libx264 @ 0x55d0] `` for an encoder library, ``[vost#0:0/libx264 @ 0x55d0]
# [enc:libx264 @ 0x55e0] `` for ffmpeg's own encoding thread.
_LINE = re.compile(r"^((?:\[[^]]* @ 0x[0-9a-f]+\] ?)*)(.*)$")
_FILTER = re.compile(r"\[Parsed_(\w+?)_\d+ @")
_ENCODER = re.compile(r"\[(?:vost#[\d:]+/|enc:)(\w+) @")
_FILTER_FAILED = ("Error while filtering", "Error reinitializing filters", "Failed to configure")
_ENCODER_REFUSED = (
    "Error submitting video frame to the encoder",
    "Error encoding a frame",
    "Error while opening encoder",
    "Error initializing output stream",
)
#: The machine, not the work: worth another attempt (memory or a hardware encoder's session
#: may be free then). Matched in lower case anywhere in a line.
_TRANSIENT = ("cannot allocate memory", "out of memory", "resource temporarily unavailable")


def repeating(stderr: str, scratch: str) -> RepeatingTaskError | None:
    """The failure that ffmpeg's ``stderr`` describes if it would repeat on every attempt (a
    filter or the encoder refusing the frames, a full disk under ``scratch``), else None:
    a killed ffmpeg, an unreadable input or a lack of memory may go better next time."""
    lines = [(m.group(1), m.group(2).strip()) for m in map(_LINE.match, stderr.splitlines()) if m]
    said = [(context, text) for context, text in lines if text]
    if any("No space left on device" in text for _, text in said):
        return DiskFullError(f"{scratch}: No space left on device")
    if any(word in text.lower() for _, text in said for word in _TRANSIENT):
        return None
    if any(text.startswith(_FILTER_FAILED) for _, text in said):
        # The filter's own line says why; the lines after it only say that the run failed.
        named = [(m.group(1), t) for c, t in said if (m := _FILTER.search(c))]
        filt, reason = named[0] if named else ("chain", said[0][1])
        return FilterFailedError(f"filter {filt} failed on the frames: {reason}")
    refused = [t for _, t in said if t.startswith(_ENCODER_REFUSED)]
    if refused:
        encoder = next((m.group(1) for c, _ in said if (m := _ENCODER.search(c))), "the encoder")
        # The encoder library's own line (its context is its name alone) says why.
        own = [t for c, t in said if c.startswith(f"[{encoder} @")]
        return EncoderRefusedError(f"encoder {encoder} refused the frames: {(own or refused)[0]}")
    return None


def _work_python(
    task: Task,
    stage: type[PythonStage[Any]],
    chunk: ChunkRef,
    key: str,
    storage: Storage,
    report: Reporter,
    stop: Callable[[], bool],
) -> _Outcome:
    """A Python stage: its facts are stored as JSON under ``key`` and returned as the result's meta."""
    outcome = _Outcome()
    with tempfile.TemporaryDirectory(prefix="sprocket-task-") as tmp:
        t0 = time.monotonic()
        report("reading", 0)
        path = _input_path(task.source, task.input_key, storage, os.path.join(tmp, "in"))
        t1 = time.monotonic()
        report("computing", 0)
        call = task.stages[0]
        try:
            facts = stage().run(stage.Config(**call.config), Span(chunk, path, task.context, report, stop))
        except Stopped:
            outcome.read, outcome.compute = t1 - t0, time.monotonic() - t1
            return outcome
        t2 = time.monotonic()
        report("writing", chunk.frame_count)
        with _disk_full_named(storage, key):
            outcome.stored = storage.put_bytes(key, json.dumps(facts).encode(), exclusive=True)
    outcome.read, outcome.compute, outcome.write = t1 - t0, t2 - t1, time.monotonic() - t2
    outcome.frames = chunk.frame_count
    outcome.fields = {"meta": facts}
    return outcome


def _input_path(source: str | None, key: str | None, storage: Storage, dest: str) -> str:
    """Where ffmpeg reads one input: the source (or the storage's copy of it), or an
    intermediate from storage."""
    if source is not None:
        return storage.local_source(source, dest)
    if key is None:
        raise ValueError("a task input has neither a source nor an input key")
    local = storage.local_path(key)
    if local is not None:
        return local
    storage.get_file(key, dest)
    return dest
