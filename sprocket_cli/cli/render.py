"""Render the core's event stream: Rich progress and a summary, or JSON lines."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from sprocket_cli.events import (
    ChunkStaged,
    Event,
    JobFinished,
    JobPaused,
    JobStarted,
    NodeWork,
    SegmentReady,
    TaskFailed,
    TaskFinished,
)
from sprocket_cli.inputs import DownloadProgress
from sprocket_cli.media.chunkcost import ChunkCost
from sprocket_cli.media.codecs import resolve
from sprocket_cli.media.targetq import chunk_quality
from sprocket_cli.plan.pricing import PRICE_DATE, lambda_cost

console = Console(stderr=True, highlight=False)
#: Nodes the summary gives a line each; the rest of a large cluster share one.
NODE_LINES = 8


def render(events: Iterable[Event], as_json: bool) -> None:
    """Follow ``events`` to the end: JSON lines, or progress then the summary."""
    if as_json:
        render_json(events)
        return
    quality: dict[int, tuple[float, float]] = {}
    started, finished = render_progress(events, quality)
    if started and finished:
        print_summary(started, finished, quality)


def render_json(events: Iterable[Event]) -> JobFinished | None:
    last = None
    for event in events:
        sys.stdout.write(event.to_json() + "\n")
        sys.stdout.flush()
        if isinstance(event, JobStarted):  # for the person at the terminal, as with progress
            for notice in event.notices:
                console.print(f"[yellow]note:[/] {notice}", highlight=False)
        if isinstance(event, JobFinished):
            last = event
    return last


def render_progress(
    events: Iterable[Event], quality: dict[int, tuple[float, float]] | None = None
) -> tuple[JobStarted | None, JobFinished | None]:
    """Show chunks done / total, frames/s, elapsed and ETA while the job runs; gather each
    chunk's (crf, VMAF) into ``quality`` where the encode had a target."""
    started: JobStarted | None = None
    finished: JobFinished | None = None
    frames_done, fps, playable = 0, 0.0, 0.0
    uploads: dict[str, TaskID] = {}
    """Input -> its upload bar (remote workers: local sources go to storage chunk by chunk)."""
    uploaded: dict[str, int] = {}
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )

    def stats() -> str:
        return f"{fps:>6.1f} frames/s  playable to {playable:>6.1f}s"

    with Progress(*columns, console=console, transient=False) as progress:
        bar: TaskID | None = None
        for event in events:
            if isinstance(event, JobStarted):
                started = event
                bar = progress.add_task(event.pipeline, total=event.tasks, unit="tasks", stats=stats())
                preroll = f", {event.preroll:.1f}s pre-roll decode" if event.preroll else ""
                for notice in event.notices:
                    console.print(f"[yellow]note:[/] {notice}", highlight=False)
                console.print(
                    f"job {event.job_id}: {event.chunks} chunks, {event.workers} "
                    f"{event.executor} workers, tasks {' | '.join(event.groups)}{preroll}"
                )
            elif bar is None:
                continue
            elif isinstance(event, TaskFinished):
                frames_done += event.frames
                fps = frames_done / event.t if event.t > 0 else 0.0
                per_chunk = started is None or event.group not in started.span_groups  # not scenes
                progress.update(bar, advance=int(per_chunk), stats=stats())
                for chunk, crf, vmaf in chunk_quality(event.result):
                    if quality is not None:
                        quality[chunk] = (crf, vmaf)
            elif isinstance(event, SegmentReady):
                playable = event.playable_until
                progress.update(bar, stats=stats())
            elif isinstance(event, ChunkStaged) and started is not None:
                if event.input not in uploads:
                    uploads[event.input] = progress.add_task(
                        f"upload {event.input}", total=started.chunks, unit="chunks", stats=""
                    )
                uploaded[event.input] = uploaded.get(event.input, 0) + event.bytes
                megabytes = uploaded[event.input] / 1e6
                progress.update(uploads[event.input], advance=1, stats=f"{megabytes:>8.1f} MB to storage")
            elif isinstance(event, TaskFailed):
                retry = "retrying" if event.will_retry else "giving up"
                console.print(
                    f"[yellow]chunk {event.chunk} ({event.group}) attempt {event.attempt} "
                    f"failed, {retry}:[/] {event.error}",
                    markup=True,
                )
            elif isinstance(event, JobPaused):
                console.print("[yellow]paused[/]: no new tasks start" if event.paused else "resumed")
            elif isinstance(event, JobFinished):
                finished = event
    return started, finished


def print_summary(
    started: JobStarted, finished: JobFinished, quality: dict[int, tuple[float, float]] | None = None
) -> None:
    """The job's figures; ``quality``: chunk -> (crf, VMAF) of a ``--target-vmaf`` encode."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for name, path in finished.outputs.items():
        table.add_row("output" if name == "output_0" else name, path)
    table.add_row("duration", f"{started.duration:.3f}s in -> {finished.duration_out:.3f}s out")
    table.add_row("frames", f"{started.frames} in -> {finished.frames_out} out")
    table.add_row("chunks", f"{started.chunks} ({' | '.join(started.groups)})")
    chunking = ChunkCost.from_dict(started.chunk_cost) if started.chunk_cost else None
    if chunking is not None:
        table.add_row("chunking", chunking.line())
    if quality:
        encoder = chunking.encoder if chunking else None
        table.add_row("quality", quality_line(quality, encoder, started.target_vmaf))
    for i, line in enumerate(finished.tracks):
        table.add_row("tracks" if i == 0 else "", line)
    table.add_row(
        "workers",
        f"{started.workers} {started.executor}, {finished.worker_seconds:.1f} worker-seconds, "
        f"policy {started.policy}",
    )
    if NodeWork.apart(finished.nodes):
        for line in node_lines(finished.nodes, finished.wall):
            table.add_row("", line)
    if finished.billed_seconds and started.memory_mb and started.arch:
        cost = lambda_cost(finished.billed_seconds, finished.invocations, started.memory_mb, started.arch)
        table.add_row(
            "lambda",
            f"{finished.invocations} invocations, {cost.gb_seconds:.1f} GB-seconds billed, "
            f"${cost.dollars:.4f} ({started.memory_mb} MB {started.arch}, prices of {PRICE_DATE})",
        )
    speed = started.duration / finished.wall if finished.wall else 0.0
    table.add_row("wall time", f"{finished.wall:.2f}s ({speed:.2f}x real time)")
    if finished.breakdown is not None:
        table.add_row("utilisation", finished.breakdown.headline())
    if finished.playlist:  # a job whose output is a report has no stream
        share = 100 * finished.first_segment / finished.wall if finished.wall else 0.0
        table.add_row("first segment", f"{finished.first_segment:.2f}s ({share:.0f}% of wall time)")
        if started.policy == "streaming":
            table.add_row("deadlines", f"{finished.deadline_misses} segments late for playback")
        table.add_row("stream", str(Path(started.job_dir) / finished.playlist))
    table.add_row("job", f"{started.job_id} ({started.job_dir})")
    console.print(table)


def node_lines(nodes: dict[str, NodeWork], wall: float) -> list[str]:
    """A line per node, the busiest first: its tasks, worker-seconds, share of the frames per
    second of ``wall`` and, where known, its CPUs and GPUs; the nodes past :data:`NODE_LINES` in one."""
    busiest = sorted(nodes.items(), key=lambda item: -item[1].worker_seconds)
    lines = []
    for name, work in busiest[:NODE_LINES]:
        size = f", {work.cpus} CPU" if work.cpus else ""
        size += f", {work.gpus} GPU" if work.gpus else ""
        rate = work.frames / wall if wall else 0.0
        lines.append(
            f"{name}: {plural(work.tasks, 'task')}, {work.worker_seconds:.1f} worker-s, "
            f"{rate:.1f} frames/s{size}"
        )
    rest = busiest[NODE_LINES:]
    if rest:
        seconds = sum(work.worker_seconds for _, work in rest)
        tasks = sum(work.tasks for _, work in rest)
        lines.append(f"{plural(len(rest), 'more node')}: {plural(tasks, 'task')}, {seconds:.1f} worker-s")
    return lines


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def quality_line(
    quality: dict[int, tuple[float, float]], encoder: str | None = None, target: float | None = None
) -> str:
    """``crf 22.75-31.5, VMAF 89.6-90.4 over 4 chunks`` (each chunk's in ``--json``), and the
    chunks that ``encoder``'s lowest quality (its top crf) still leaves above ``target``, which
    would otherwise look like a search that missed."""
    crfs = [crf for crf, _ in quality.values()]
    scores = [vmaf for _, vmaf in quality.values()]
    line = (
        f"crf {min(crfs):g}-{max(crfs):g}, VMAF {min(scores):.1f}-{max(scores):.1f} "
        f"over {len(quality)} chunks (each chunk's in --json)"
    )
    scale = resolve(encoder).crf if encoder else None
    if scale is None:
        return line
    top = scale[1]
    above = [v for crf, v in quality.values() if crf >= top and (target is None or v >= target)]
    if above:
        they = "stays" if len(above) == 1 else "stay"
        line += (
            f"; {plural(len(above), 'chunk')} {they} above the target at crf {top}, {encoder}'s "
            f"lowest quality (VMAF {min(above):.1f}-{max(above):.1f})"
        )
    return line


class DownloadBar:
    """A byte progress bar for URL downloads, used as yt-dlp's progress callback."""

    def __init__(self, url: str) -> None:
        self.progress = Progress(
            TextColumn("[bold]download"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.progress.add_task(url, total=None)

    def __enter__(self) -> DownloadBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, report: DownloadProgress) -> None:
        self.progress.update(self.task, completed=report.downloaded, total=report.total)
