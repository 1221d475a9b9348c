"""Where finished work goes: stream segments and playlists as they complete in order, the audio
rendition beside them, facts for JSON reports, and at the end the final files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from sprocket_cli.errors import JobFailedError, OutputError
from sprocket_cli.events import Event, SegmentReady
from sprocket_cli.media.audioplan import AudioPlan
from sprocket_cli.output.assemble import assemble, write_report
from sprocket_cli.output.audio import AudioRendition, write_audio_rendition
from sprocket_cli.output.folder import copy_stream, is_folder_output
from sprocket_cli.output.playlists import SegmentEntry
from sprocket_cli.output.stream import StreamWriter
from sprocket_cli.pipeline.delivery import DeliveryFunction
from sprocket_cli.plan.scheduling import PlaybackClock
from sprocket_cli.run.context import RunContext
from sprocket_cli.storage.layout import stream_folder
from sprocket_cli.tasks import Result


@dataclass(frozen=True)
class Published:
    """What the outputs hold once the job is done."""

    playlist: str
    """The first video output's HLS playlist key ('' when the job has no video output)."""
    duration: float
    """Seconds of video published."""
    frames: int
    tracks: list[str] = field(default_factory=list)
    """What became of each audio and subtitle track in the final files."""


class Publisher:
    def __init__(
        self,
        run: RunContext,
        delivery: Mapping[str, DeliveryFunction],
        clock: PlaybackClock | None,
    ) -> None:
        self.run = run
        self.clock = clock
        job = run.job
        first_input = job.plan.spec.inputs[0]
        first = job.chunks[first_input]
        self.audio = job.audio or AudioPlan.choose("a", [job.inputs[first_input]])
        self.delivery = delivery
        # The audio rendition is written on a thread while the first video chunks encode.
        self._side = ThreadPoolExecutor(1, thread_name_prefix="sprocket-audio")
        video = {s.dst.node for s in job.plan.spec.streams if s.dst.is_output and s.dst.type == "chunks"}
        self.reports: dict[str, dict[int, dict[str, Any]]] = {
            out: {} for out in job.outputs if out not in video
        }
        """Outputs that are facts, not video (a JSON report): index -> facts, as they come."""
        self.editors = [name for name, d in delivery.items() if d.EDITS]
        """Groups that cut spans out of the video (SceneKeep): the audio waits for their cuts."""
        self.streams = {
            out: StreamWriter(
                run.storage,
                out,
                len(first.chunks),
                first.max_duration,
                None if self.editors else self._audio_rendition(out),
            )
            for out in job.outputs
            if out in video
        }

    def _audio_rendition(self, output: str) -> Future[AudioRendition | None]:
        return self._side.submit(write_audio_rendition, self.audio, self.run.storage, stream_folder(output))

    def cut_audio(self) -> Iterator[Event]:
        """Once a SceneKeep group knows every span it keeps, cut the audio on the same spans
        and let out the segments held back for it."""
        if not self.editors or self.audio.keep is not None:
            return  # nothing cuts the video, or the audio is cut already
        spans = self.delivery[self.editors[0]].kept()
        if spans is None:
            return
        self.audio = replace(self.audio, keep=tuple(spans), parts=self.audio.parts if spans else ())
        for output, writer in self.streams.items():
            yield from self.announce(output, writer.start_audio(self._audio_rendition(output)))

    def take(self, output: str, index: int, result: Result) -> Iterator[Event]:
        """``result`` of chunk ``index`` is for ``output``: a fact for its report, or a segment."""
        if output in self.reports:
            self.reports[output][index] = result.meta
        else:
            yield from self.announce(output, self.streams[output].add(result))

    def announce(self, output: str, entries: list[SegmentEntry]) -> Iterator[Event]:
        """``entries`` became playable: start the playback clock, count late ones, tell."""
        run, accounts = self.run, self.run.accounts
        for entry in entries:
            now = run.now()
            if accounts.first_segment is None:
                accounts.first_segment = now
                if self.clock is not None:
                    self.clock.start(now)
            start = entry.start_ticks / entry.timescale
            deadline = self.clock.deadline(start) if self.clock is not None else None
            if deadline is not None and now > deadline + 1e-9:
                accounts.deadline_misses += 1
            yield run.emit(
                SegmentReady(
                    t=now,
                    output=output,
                    index=entry.index,
                    start=start,
                    duration=entry.duration,
                    playable_until=start + entry.duration,
                    deadline=deadline,
                )
            )

    def finish(self) -> Published:
        """Close the playlists, assemble each final file and write each report."""
        job, storage = self.run.job, self.run.storage
        duration, tracks = 0.0, []
        for output, writer in self.streams.items():
            if not writer.complete:
                raise JobFailedError(f"{output}: {len(writer.published)} of {writer.total} segments")
            writer.finish()
            if (note := writer.preview_note()) is not None:
                tracks.append(note)
            duration += sum(e.duration for e in writer.published)
            dest = job.outputs[output]
            if dest is None or not writer.published:
                continue  # no file asked for, or nothing kept (SceneKeep found no scene)
            if not dest.parent.is_dir():
                raise OutputError(f"{dest.parent}: the output folder no longer exists")
            if is_folder_output(dest):  # the stream is the output (a ladder)
                copy_stream(storage, writer.folder, dest)
                continue
            tracks += assemble(storage, writer.folder, writer.published, self.audio, dest, job.job_dir)
        for output, facts in self.reports.items():
            dest = job.outputs[output]
            if dest is not None:
                write_report(dest, [facts[i] for i in sorted(facts)])
        first = next(iter(self.streams.values()), None)
        return Published(
            playlist=first.playlist_key if first is not None else "",
            duration=duration,
            frames=sum(w.frames for w in self.streams.values()),
            tracks=tracks,
        )

    def close(self) -> None:
        """Wait for the audio rendition's thread (it writes into the stream folder)."""
        self._side.shutdown(wait=True)
