"""Running a job from the command line: inputs fetched or read in place, the shared options
made into JobOptions, the job started through the session API and followed to the end.

The job commands import this when they run, not when they are listed or show their help:
it reaches the session, the backends and Rich's progress. What only some jobs use (the TUI's
glue, the stream's server for --open, the ray backend for --ray-address) is imported when
asked for: a job's first task waits for every import before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from sprocket_cli.backends import backend_class
from sprocket_cli.cli.render import DownloadBar, render
from sprocket_cli.errors import UsageError
from sprocket_cli.inputs import is_url, readable, resolve_input, serves_ranges
from sprocket_cli.jobs.options import JobOptions
from sprocket_cli.jobs.records import jobs_root
from sprocket_cli.pipeline.pipespec import Pipespec
from sprocket_cli.plan.scheduling import POLICIES
from sprocket_cli.session import JobRequest, start
from sprocket_cli.tasks import Fault

if TYPE_CHECKING:
    from sprocket_cli.cli.playback import Playback

#: Flags of their own for the ray backend's settings (see RayBackend.OPTIONS), each the same as
#: ``--backend-opt SETTING=...``: option name, flag, setting, what two different values name.
RAY_FLAGS = (
    ("ray_address", "--ray-address", "address", "clusters"),
    ("ray_storage", "--storage", "storage", "places for the job's items"),
    ("ray_resources", "--resources", "resources", "resource maps"),
)


def local_input(text: str, job: dict[str, Any]) -> str:
    """A path or URL the job reads ``text`` from: a local file, an ``s3://`` object (read in
    place with range requests, through a presigned URL made per job), or an http(s) URL: read in place by
    remote workers when its server serves byte ranges, else downloaded once and reused."""
    if text.startswith("s3://"):
        readable(text)  # there and readable, or a one-line error now; presigned per job
        return text
    if is_url(text) and backend_class(job["backend"]).REMOTE and serves_ranges(text):
        return text
    if not is_url(text):
        return resolve_input(text, Path("."))
    quiet = job["as_json"]
    folder = (
        (job["job_dir"] or jobs_root()).parent / "downloads" / hashlib.sha1(text.encode()).hexdigest()[:12]
    )
    existing = sorted(folder.glob("source.*")) if folder.is_dir() else []
    existing = [p for p in existing if not p.name.endswith(".part")]
    if existing:
        return str(existing[0])
    if quiet:
        return resolve_input(text, folder)
    with DownloadBar(text) as bar:
        return resolve_input(text, folder, bar)


def default_output(source_text: str, suffix: str) -> Path:
    stem = Path(urlparse(source_text).path).stem if is_url(source_text) else Path(source_text).stem
    return Path.cwd() / f"{stem or 'video'}-{suffix}.mp4"


def follow(
    spec: Pipespec,
    inputs: dict[str, str],
    outputs: dict[str, Path],
    job: dict[str, Any],
    check: Callable[[], None] | None = None,
    *,
    audio: str = "a",
    audio_filters: str | None = None,
) -> Path:
    """Start the job through the session API (``check`` runs beside the probe) and follow it,
    rendering its events (or in the TUI); return the job folder."""
    as_json = job["as_json"]
    tui = _tui(job["tui"], as_json)
    playback = _playback(job["open_stream"], job["player"], job["serve_for"])
    options = replace(_job_options(job, audio), audio_filters=audio_filters)
    handle = start(JobRequest(spec, inputs, outputs, options), check=check)
    remote = handle.storage if handle.remote else None  # the local server proxies its stream
    if playback is not None:
        playback.storage = remote
    if tui:
        from sprocket_cli.cli.tuirun import run_tui  # the TUI's glue, for --tui only

        player = playback.player if playback is not None else None
        run_tui(handle.events(), open_stream=playback is not None, player=player, storage=remote)
        return handle.job_dir
    render(playback.watch(handle.events()) if playback is not None else handle.events(), as_json)
    if playback is not None:
        playback.linger()
    return handle.job_dir


def _job_options(cli: dict[str, Any], audio: str) -> JobOptions:
    """JobOptions from the job commands' shared options (:data:`~options.JOB_OPTIONS`)."""
    return JobOptions(
        workers=cli["workers"],
        chunk_seconds=cli["chunk_seconds"],
        first_chunk_seconds=min(cli["first_chunk_seconds"], cli["chunk_seconds"]),
        retries=cli["retries"],
        keep_intermediate=cli["keep_intermediate"],
        overwrite=cli["overwrite"],
        job_parent=cli["job_dir"],
        **_scheduling(cli["policy"], cli["deadline_start"], cli["open_stream"]),
        faults=_faults(cli["inject"] or []),
        resume=cli["resume"],
        backend=cli["backend"],
        backend_options=tuple(_backend_options(cli).items()),
        stragglers=cli["stragglers"],
        speculate_after=cli["speculate_after"],
        task_timeout=cli["task_timeout"],
        audio=audio,
    )


def _backend_options(cli: dict[str, Any]) -> dict[str, str]:
    """The backend's settings: ``--backend-opt``'s, and the ray backend's own flags
    (``--ray-address``, ``--storage``, ``--resources``) as its settings."""
    options = bindings(cli["backend_opt"] or [], "--backend-opt")
    given = [(flag, key, what, cli[name]) for name, flag, key, what in RAY_FLAGS if cli[name] is not None]
    if not given:
        return options
    from sprocket_cli.backends.ray_cluster import RayBackend  # for these flags only

    for flag, key, what, value in given:
        if cli["backend"] != RayBackend.NAME:
            raise UsageError(f"{flag} goes with --backend {RayBackend.NAME}, not --backend {cli['backend']}")
        already = options.setdefault(key, value)
        if already != value:
            raise UsageError(f"{flag} {value} and --backend-opt {key}={already} name two {what}: give one")
    return options


def _faults(values: list[str]) -> tuple[Fault, ...]:
    faults = []
    for value in values:
        chunk, _, spec = value.partition(":")
        try:
            fields = {k: float(v) for k, v in (kv.split("=") for kv in spec.split(",") if kv)}
            faults.append(
                Fault(
                    chunk=int(chunk),
                    sleep=fields.pop("sleep", 0.0),
                    fail=int(fields.pop("fail", 0)),
                    kill=int(fields.pop("kill", 0)),
                )
            )
        except ValueError:
            fields = {"": 0.0}
        if fields:
            raise UsageError(f"--inject takes CHUNK:sleep=S,fail=N,kill=N, not {value!r}")
    return tuple(faults)


def _scheduling(policy: str | None, deadline_start: float, open_stream: bool) -> dict[str, Any]:
    """JobOptions fields for ``--policy``: streaming is the default when the user watches."""
    chosen = policy or ("streaming" if open_stream else "overall")
    if chosen not in POLICIES:
        raise UsageError(f"--policy must be one of {', '.join(POLICIES)}, not {chosen!r}")
    return {"policy": chosen, "deadline_start": deadline_start if chosen == "streaming" else None}


def _tui(tui: bool, as_json: bool) -> bool:
    if tui and as_json:
        raise UsageError("--tui and --json do not go together: the TUI owns the terminal")
    return tui


def _playback(open_stream: bool, player: str | None, serve_for: float | None) -> Playback | None:
    if not open_stream:
        if player is not None or serve_for is not None:
            raise UsageError("--player and --serve-for go with --open")
        return None
    from sprocket_cli.cli.playback import Playback, choose_player  # the stream's server, for --open only

    return Playback(player=choose_player(player), serve_for=serve_for)


def bindings(values: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or not name or not target:
            raise UsageError(f"{flag} takes NAME=VALUE (like {flag} input_0=in.mp4), not {value!r}")
        out[name] = target
    return out


def overrides(values: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for value in values:
        path, sep, raw = value.partition("=")
        node, dot, key = path.partition(".")
        if not sep or not dot or not node or not key:
            raise UsageError(f"--set takes NODE.KEY=VALUE (like --set filter.vf=hue=s=0), not {value!r}")
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = raw  # plain strings need no quotes
        out.setdefault(node, {})[key] = parsed
    return out
