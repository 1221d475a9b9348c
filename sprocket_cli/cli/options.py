"""Options shared by the job commands, as Annotated aliases so each is defined once."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from sprocket_cli.jobs.options import DEFAULT_CHUNK_SECONDS, DEFAULT_FIRST_CHUNK_SECONDS

Output = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Final file to write: .mp4 .m4v .mov .mkv or .webm (never overwritten without --overwrite).",
    ),
]
Workers = Annotated[
    int,
    typer.Option("--workers", "-w", min=1, help="Parallel workers (default: CPU count)."),
]
ChunkSeconds = Annotated[
    float,
    typer.Option(
        "--chunk-seconds",
        min=0.04,
        help="Target chunk length in seconds; cuts stay on keyframes where the source has them.",
    ),
]
FirstChunkSeconds = Annotated[
    float,
    typer.Option(
        "--first-chunk-seconds",
        min=0.04,
        help="Length of the first chunk; later chunks double up to --chunk-seconds (first segment sooner).",
    ),
]
Overwrite = Annotated[bool, typer.Option("--overwrite", "-y", help="Replace an existing output file.")]
KeepIntermediate = Annotated[
    bool,
    typer.Option("--keep-intermediate", help="Keep intermediate items in the job folder."),
]
Retries = Annotated[
    int, typer.Option("--retries", min=0, help="Retries per failed task before the job fails.")
]
JobDir = Annotated[
    Path | None,
    typer.Option("--job-dir", help="Folder to create the job folder in (default: user data dir)."),
]
Json = Annotated[
    bool, typer.Option("--json", help="Print the event stream as JSON lines instead of progress.")
]
Codec = Annotated[
    str,
    typer.Option(
        "--codec",
        help="Video encoder: any ffmpeg encoder, or x264, x265, av1 (libsvtav1), vp9 (libvpx-vp9), "
        "prores (prores_ks, 422 HQ 10-bit) or dnxhr (dnxhd, DNxHR HQ). The container follows -o.",
    ),
]
Preset = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help="Speed: ultrafast ... veryslow (default veryfast), mapped to each encoder's own; "
        "SVT-AV1 and VP9 also take their numbers.",
    ),
]
Crf = Annotated[
    int | None,
    typer.Option(
        "--crf",
        help="Quality, lower is better and larger, on the encoder's scale: x264 and x265 0-51 "
        "(default 23, 28), AV1 and VP9 0-63 (35, 31). ProRes and DNxHR have none.",
    ),
]
TargetVmaf = Annotated[
    float | None,
    typer.Option(
        "--target-vmaf",
        help="Per-chunk quality instead of one --crf: each chunk gets the highest crf whose VMAF "
        "against the filtered frames reaches N (50-100; 93 is hard to tell from the source), found "
        "by a few probe encodes; the summary and --json give each chunk's crf and measured VMAF.",
    ),
]
PixFmt = Annotated[
    str | None,
    typer.Option(
        "--pix-fmt",
        help="Encoded pixel format (yuv420p10le, ...); default: the codec profile's or the source's.",
    ),
]
EncoderArgs = Annotated[
    str,
    typer.Option(
        "--encoder-args",
        help="More encoder options as ffmpeg takes them, e.g. '-tune grain -x265-params aq-mode=3'.",
    ),
]
Ladder = Annotated[
    str | None,
    typer.Option(
        "--ladder",
        help="Heights of an adaptive stream, e.g. 1080,720,480: each chunk is decoded and filtered "
        "once and encoded at every height (widths keep the aspect ratio); -o names a folder, which "
        "gets an HLS master playlist and a DASH manifest with one variant per height and one audio "
        "rendition. Heights above the source's are refused (a ladder only scales down).",
    ),
]

Open = Annotated[
    bool,
    typer.Option("--open", help="Serve the stream on 127.0.0.1 and open a player on the first segment."),
]
Player = Annotated[
    str | None,
    typer.Option("--player", help="Play in mpv, ffplay or vlc instead of the browser."),
]
ServeFor = Annotated[
    float | None,
    typer.Option(
        "--serve-for",
        min=0,
        help="With --open: seconds to serve after the job (default: until Ctrl-C).",
    ),
]

Policy = Annotated[
    str | None,
    typer.Option(
        "--policy",
        help="Scheduling: overall (finish soonest), first-frame (first segment soonest) or "
        "streaming (just ahead of playback). Default: streaming with --open, else overall.",
    ),
]
DeadlineStart = Annotated[
    float,
    typer.Option(
        "--deadline-start", min=0, help="Streaming: seconds after the first segment that playback starts."
    ),
]

Tui = Annotated[
    bool,
    typer.Option(
        "--tui", help="Run the job inside the TUI: per-worker progress, chunk strip, costs, log (? for keys)."
    ),
]

Inject = Annotated[
    list[str] | None,
    typer.Option(
        "--inject",
        hidden=True,  # for tests and benchmarks, not for editors
        help="Inject trouble: CHUNK:sleep=S,fail=N,kill=N (repeatable).",
    ),
]

Resume = Annotated[
    bool,
    typer.Option(
        "--resume", help="Continue an interrupted run of this same command instead of starting over."
    ),
]

Stragglers = Annotated[
    str,
    typer.Option(
        "--stragglers",
        help="Straggler mitigation: none, clone (every task twice), speculative (backup after "
        "--speculate-after x the median) or gop-pair (pairs of workers finish each other's chunk).",
    ),
]
SpeculateAfter = Annotated[
    float,
    typer.Option("--speculate-after", min=1.0, help="speculative: backup after K x the median task time."),
]

TaskTimeout = Annotated[
    float | None,
    typer.Option("--task-timeout", min=0.1, help="Retry a task that has no result after this many seconds."),
]

Backend = Annotated[
    str,
    typer.Option(
        "--backend",
        help="Where tasks run: local (processes here) or lambda (the function `sprocket setup` "
        "deployed; intermediates in its S3 bucket). With lambda, raise --workers (e.g. 200).",
    ),
]

BackendOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--backend-opt",
        help="A setting of the backend: KEY=VALUE (repeatable); `sprocket backends` lists each "
        "backend's settings.",
    ),
]

RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="With --backend ray: the cluster's head, HOST:PORT or auto (the cluster `ray start` "
        "runs here, or $RAY_ADDRESS; the default). Same as --backend-opt address=...",
    ),
]

RayStorage = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="With --backend ray: where chunk results live, object (the cluster's object store; the "
        "default), job (the job folder, on a path every node sees) or s3://BUCKET/PREFIX (any "
        "S3-compatible endpoint, MinIO too; a resume finds them there). Same as --backend-opt storage=...",
    ),
]

RayResources = Annotated[
    str | None,
    typer.Option(
        "--resources",
        help="With --backend ray: Ray resources each stage's tasks need, STAGE=RESOURCE:AMOUNT, "
        "comma-separated (find_faces=GPU:1,encode=CPU:4). Same as --backend-opt resources=...",
    ),
]

DEFAULT_WORKERS = os.cpu_count() or 1
DEFAULTS = {
    "chunk_seconds": DEFAULT_CHUNK_SECONDS,
    "first_chunk_seconds": DEFAULT_FIRST_CHUNK_SECONDS,
    "workers": DEFAULT_WORKERS,
}


#: The options every job command takes (filter, run, blend, find-face): name, type, default.
JOB_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("workers", Workers, DEFAULT_WORKERS),
    ("backend", Backend, "local"),
    ("backend_opt", BackendOpt, None),
    ("ray_address", RayAddress, None),
    ("ray_storage", RayStorage, None),
    ("ray_resources", RayResources, None),
    ("chunk_seconds", ChunkSeconds, DEFAULT_CHUNK_SECONDS),
    ("first_chunk_seconds", FirstChunkSeconds, DEFAULT_FIRST_CHUNK_SECONDS),
    ("retries", Retries, 3),
    ("keep_intermediate", KeepIntermediate, False),
    ("overwrite", Overwrite, False),
    ("job_dir", JobDir, None),
    ("as_json", Json, False),
    ("open_stream", Open, False),
    ("player", Player, None),
    ("serve_for", ServeFor, None),
    ("policy", Policy, None),
    ("deadline_start", DeadlineStart, 5.0),
    ("tui", Tui, False),
    ("stragglers", Stragglers, "none"),
    ("speculate_after", SpeculateAfter, 2.0),
    ("task_timeout", TaskTimeout, None),
    ("resume", Resume, False),
    ("inject", Inject, None),
)


JOB_DEFAULTS: dict[str, Any] = {name: default for name, _, default in JOB_OPTIONS}


def job_command(fn: Callable[..., None]) -> Callable[..., None]:
    """``fn`` with :data:`JOB_OPTIONS` added to its parameters, so that every job command
    declares each shared option once, here. They reach ``fn`` as ``job``: name -> value."""
    # eval_str: Typer finds its Option/Argument metadata in the evaluated Annotated types.
    own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "job"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, kind, default in JOB_OPTIONS
    ]

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> None:
        job = {name: kwargs.pop(name) for name, _, _ in JOB_OPTIONS}
        if job["backend"] == "local":
            from sprocket_cli.executors.forking import start_early

            start_early()  # the workers' imports beside this command's, on 2 cores
        from sprocket_cli.media.ffmpeg import find_ffmpeg_soon

        find_ffmpeg_soon()
        fn(**kwargs, job=job)

    # Typer reads the parameters from the signature and their types from the annotations.
    wrapper.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *shared]}
    return wrapper
