"""A job prepared from what the user asked (or resumed from its record).

Everything that can be checked before work starts is checked here: inputs probe as video,
outputs can be written and do not clobber anything, the pipespec's endpoints are bound.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from sprocket_cli.backends import open_backend
from sprocket_cli.errors import OutputError, UsageError
from sprocket_cli.events import TaskFinished
from sprocket_cli.inputs import is_url, readable, signed_here
from sprocket_cli.jobs.journal import read_journal
from sprocket_cli.jobs.options import RECORDED_OPTIONS, JobOptions
from sprocket_cli.jobs.records import (
    JOB_FILE,
    JobRecord,
    all_jobs,
    create_job_dir,
    file_identity,
    fingerprint,
    job_folder,
    lock_outputs,
    new_job_id,
    private_journal,
    read_record,
    recorded_input,
    status,
    unlock_outputs,
    write_record,
)
from sprocket_cli.launch.binding import Bound, bind, check_bindings
from sprocket_cli.media.audioplan import AudioPlan
from sprocket_cli.media.chunking import align_chunks, plan_chunks, whole_seconds
from sprocket_cli.media.containers import CONTAINERS, container_for
from sprocket_cli.media.probe import MediaInfo, probe
from sprocket_cli.output.assemble import remove_stale_parts
from sprocket_cli.output.folder import check_folder_output, is_folder_output
from sprocket_cli.pipeline.pipespec import Pipespec, parse, to_dict
from sprocket_cli.plan.fusion import plan
from sprocket_cli.run import Job
from sprocket_cli.storage import Storage
from sprocket_cli.storage.local import LocalStorage
from sprocket_cli.tasks import Result


def check_output(dest: Path, sources: list[str], *, overwrite: bool, report: bool = False) -> Path:
    """``dest`` made absolute, or :class:`OutputError` if writing it would lose something.

    ``report``: the output is facts (a JSON report), not video.
    """

    dest = dest.expanduser().absolute()
    if report and dest.suffix.lower() != ".json":
        raise OutputError(f"{dest}: a report is written as JSON: name it .json")
    if not report and is_folder_output(dest):  # the stream itself: HLS and DASH
        check_folder_output(dest, overwrite=overwrite)
        return dest
    if not report:
        container_for(dest)  # a suffix that names a container sprocket writes
    for src in sources:
        if "://" not in src and Path(src).exists() and dest.exists() and dest.samefile(src):
            raise OutputError(f"{dest}: the output is the input; choose another -o")
    if not dest.parent.is_dir():
        raise OutputError(f"{dest.parent}: the output folder does not exist")
    if not os.access(dest.parent, os.W_OK):
        raise OutputError(f"{dest.parent}: the output folder is not writable")
    if dest.exists() and not overwrite:
        raise OutputError(f"{dest}: already exists; pass --overwrite to replace it")
    return dest


def prepare_job(
    spec: Pipespec,
    inputs: Mapping[str, str],
    outputs: Mapping[str, Path],
    options: JobOptions,
    probed: Mapping[str, MediaInfo] | None = None,
    storage_for: Callable[[Path, str], Storage] | None = None,
    named: Mapping[str, str] | None = None,
) -> Job:
    """Bind ``spec``'s endpoints, probe and cut the inputs, and create the job folder.

    ``inputs`` are what ffmpeg reads; ``named`` what the user named, as recorded (an ``s3://``
    object rather than the URL presigned for this run; default: ``inputs``).

    With ``options.resume``, an interrupted job asking for the same work is picked up instead;
    ``storage_for(job folder, job id)`` is where its finished outputs are (default: the folder).
    """
    check_bindings("input", spec.inputs, inputs)
    check_bindings("output", spec.outputs, outputs)
    dests = {name: Path(p).expanduser().absolute() for name, p in outputs.items()}
    found = {str(d): file_identity(d) for d in dests.values()} if options.overwrite else {}
    record = JobRecord(
        job_id=new_job_id(),
        spec=to_dict(spec),
        inputs={k: recorded_input(v) for k, v in (named or inputs).items()},
        outputs={k: str(v) for k, v in dests.items()},
        options={k: getattr(options, k) for k in RECORDED_OPTIONS},
        fingerprints={k: fingerprint(v) for k, v in inputs.items()},
        pid=os.getpid(),
        # What --overwrite agreed to replace, so that a resume replaces that and nothing newer.
        owned={d: i for d, i in found.items() if i is not None},
    )
    if options.resume:
        earlier = next(
            (
                j
                for j in all_jobs(options.job_parent)
                if j.state in ("interrupted", "cancelled") and j.record.same_work(record)
            ),
            None,
        )
        if earlier is not None:
            storage = storage_for(earlier.job_dir, earlier.record.job_id) if storage_for else None
            return resume_job(earlier.job_dir, options, probed, storage)
    media = {name: (probed or {}).get(name) or probe(src) for name, src in inputs.items()}
    reports = {s.dst.node for s in spec.streams if s.dst.is_output and s.dst.type != "chunks"}
    for name, dest in dests.items():
        check_output(dest, list(inputs.values()), overwrite=options.overwrite, report=name in reports)
    # Bound before the job folder exists: a stage that cannot bind (a photo with no face) leaves
    # nothing behind.
    bound = bind(spec, [media[name] for name in spec.inputs])
    # Locked before the job folder exists: a job refused for another's output leaves nothing.
    job_dir = job_folder(record.job_id, options.job_parent)
    lock_outputs(dests.values(), record.job_id, job_dir, overwrite=options.overwrite)
    try:
        for dest in dests.values():
            remove_stale_parts(dest)
        create_job_dir(record, options.job_parent)
        return _build(record, job_dir, bound, media, options, completed={})
    except BaseException:
        unlock_outputs(dests.values())
        raise


def resume_job(
    job_dir: Path,
    options: JobOptions | None = None,
    probed: Mapping[str, MediaInfo] | None = None,
    storage: Storage | None = None,
) -> Job:
    """The job recorded in ``job_dir``, with the tasks its journal shows finished (and whose
    outputs are still in ``storage``, by default the job folder) marked done, so that only the
    rest runs."""
    record = read_record(job_dir)
    st = status(job_dir)
    if st.state == "finished":
        raise UsageError(f"{record.job_id}: already finished; nothing to resume")
    if st.state == "running":
        raise UsageError(
            f"{record.job_id}: still running (pid {record.pid}); watch it with `sprocket monitor`"
        )
    for name, path in record.inputs.items():
        if fingerprint(path) != record.fingerprints.get(name):
            raise UsageError(f"{path}: the input changed since the job started; start a new job instead")
    dests = [Path(p) for p in record.outputs.values()]
    for dest in dests:
        if not dest.parent.is_dir():
            raise OutputError(f"{dest.parent}: the output folder no longer exists")
    spec = parse(json.dumps(record.spec), source=str(job_dir / JOB_FILE), name=record.spec.get("name", "job"))
    # An s3:// input is presigned anew: the first run's URL was never kept.
    media = {name: (probed or {}).get(name) or probe(readable(src)) for name, src in record.inputs.items()}
    storage = storage or LocalStorage(job_dir)
    completed: dict[str, Result] = {}
    for event in read_journal(job_dir):
        if isinstance(event, TaskFinished) and event.result is not None:
            result = Result.from_json(json.dumps(event.result))
            if storage.exists(result.output_key) and (
                result.init_key is None or storage.exists(result.init_key)
            ):
                completed[result.task_id] = result
    # --overwrite of this resume, not the recorded one: what appeared at -o since the job
    # started is the user's new file, which the first run's --overwrite never agreed to lose.
    overwrite = options is not None and options.overwrite
    lock_outputs(dests, record.job_id, job_dir, overwrite=overwrite, owned=record.owned)
    try:
        for dest in dests:
            found = None if is_folder_output(dest) else file_identity(dest)  # a folder's files are replaced
            if not overwrite and found is not None and found != record.owned.get(str(dest)):
                raise OutputError(
                    f"{dest}: job {record.job_id} did not write this file (it appeared after the job "
                    "started); move it away, or rerun the job's command with --resume --overwrite"
                )
            remove_stale_parts(dest)  # a kill during assembly left it; the lock makes it ours
        private_journal(job_dir)  # a job from before journals were private
        write_record(job_dir, replace(record, pid=os.getpid()))
        recorded = {**record.options, "backend_options": record.backend_options}
        merged = JobOptions(
            **{**recorded, "job_parent": job_dir.parent, "faults": (options or JobOptions()).faults}
        )
        return _build(record, job_dir, bind(spec, [media[n] for n in spec.inputs]), media, merged, completed)
    except BaseException:
        unlock_outputs(dests)
        raise


def _build(
    record: JobRecord,
    job_dir: Path,
    bound: Bound,
    media: Mapping[str, MediaInfo],
    options: JobOptions,
    completed: Mapping[str, Result],
) -> Job:
    spec, offset, end_pts = bound.spec, bound.offset, bound.end_pts
    backend = open_backend(options.backend, dict(options.backend_options))
    staging, remote = options.stage_local_inputs, backend.REMOTE
    first = spec.inputs[0]
    if bound.whole:
        first_plan = plan_chunks(media[first], whole_seconds(media[first], end_pts), None, end_pts)
    else:
        # A cut keeps part of the video (its audio stays whole, as with plain ffmpeg's -vf).
        start_pts, video_end = bound.span or (None, end_pts)
        first_plan = plan_chunks(
            media[first],
            options.chunk_seconds,
            options.first_chunk_seconds,
            video_end,
            bound.roll,
            bound.drops,
            start_pts,
            # This machine's processes start a task for ~0.1 s: its last chunks may be small
            # enough to end together. A remote task costs more (an invocation, uploads), so
            # there the last chunks halve instead.
            None if remote else options.workers,
        )
    audio = _audio(
        options.audio,
        [_named(media[n], record.inputs[n]) for n in spec.inputs],
        offset,
        end_pts,
        options.audio_filters,
    )
    return Job(
        job_id=record.job_id,
        job_dir=job_dir,
        plan=plan(spec),
        inputs=dict(media),
        # Every input after the first is cut on the first's chunk spans, so that chunk i of
        # each is the same stretch of presentation time (the pair delivery function).
        chunks={
            first: first_plan,
            **{name: align_chunks(first_plan, media[first], media[name], offset) for name in spec.inputs[1:]},
        },
        outputs={k: Path(v) for k, v in record.outputs.items()},
        retries=options.retries,
        keep_intermediate=options.keep_intermediate,
        workers=options.workers,
        policy=options.policy,
        deadline_start=options.deadline_start,
        faults=options.faults,
        stragglers=options.stragglers,
        speculate_after=options.speculate_after,
        task_timeout=options.task_timeout,
        completed=dict(completed),
        # Before any work: the tracks a final file's container cannot carry as they are.
        notices=(
            *bound.notices,
            *(
                n
                for dest in record.outputs.values()
                # A video's container; not a report's (find-face's .json).
                if (container := CONTAINERS.get(Path(dest).suffix.lower())) is not None
                for n in audio.notices(container)
            ),
        ),
        named_inputs=dict(record.inputs),
        audio=audio,
        # Workers elsewhere cannot read this machine's files (unless on a folder they share):
        # they get them cut into storage.
        staged_inputs=frozenset(
            name
            for name, info in media.items()
            if not is_url(info.source) and (staging or not backend.reads_in_place(info.source))
        ),
    )


def _audio(
    choice: str, inputs: list[MediaInfo], offset: Fraction, end_pts: int | None, filters: str | None
) -> AudioPlan:
    """``--audio`` over the inputs; cut at the video's end when the video ends early (shortest)
    or the audio is not the first input's own."""
    first = inputs[0]
    end = None
    if end_pts is not None and (choice != "a" or end_pts < first.end_pts):
        end = float((end_pts - first.frame_pts[0]) * first.time_base)
    return SignedAtUse.choose(choice, inputs, float(offset), end, filters)


def _named(info: MediaInfo, recorded: str) -> MediaInfo:
    """``info`` naming its source as recorded when that is an ``s3://`` object: the URL the
    probe read it through is not kept (:class:`SignedAtUse` signs another when it is read)."""
    return replace(info, source=recorded) if recorded.startswith("s3://") else info


@dataclass(frozen=True)
class SignedAtUse(AudioPlan):
    """An audio plan whose ``s3://`` sources go to ffmpeg as URLs signed as each command is
    built (:func:`~sprocket_cli.inputs.signed_here`: the object was checked as the job was
    made, so no request is repeated): the stream's audio is segmented as the job
    starts and the final file assembled as it ends, maybe hours later or in a resume, and
    the job holds no URL in between."""

    def inputs(self) -> list[str]:
        return [signed_here(arg) for arg in super().inputs()]
