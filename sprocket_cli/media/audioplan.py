"""What the output carries beside its video: which inputs' audio tracks, subtitles and attachments
(every audio and subtitle track of the first input's, by default, or those ``-map`` names), as
they are, shifted onto the output's timeline, mixed, or none; the first input's chapters, start
timecode and global tags (``-map_metadata``); and the ffmpeg arguments that make them.

Video goes through the workers chunk by chunk; audio needs no per-chunk work, so the stream's
audio rendition and the final file both take it straight from the sources with these arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from sprocket_cli.errors import OptionError
from sprocket_cli.media.containers import AudioTarget, Container, subtitle_target
from sprocket_cli.media.probe import AttachmentInfo, MediaInfo
from sprocket_cli.media.trackmap import DEFAULT, pick, split_metadata

#: ``--audio`` choices: the first input's (a), the second's (b), both mixed, or none. Any other
#: choice is a list of ffmpeg ``-map`` arguments, space-separated (:mod:`~sprocket_cli.media.trackmap`).
CHOICES = ("a", "b", "mix", "none")
_AS_MAPS = {"a": DEFAULT, "b": "1:a?"}
#: Global tags ffmpeg's default copy of the first input's leaves out (fftools/ffmpeg_mux_init.c,
#: copy_meta): an explicit ``-map_metadata`` keeps them.
_NOT_COPIED = ("creation_time", "company_name", "product_name", "product_version")
#: Video stream tags the output's video does not take from the source's: the encoder names
#: itself (as ffmpeg's does); the timecode is :attr:`AudioPlan.timecode`'s.
_VIDEO_OWN = ("encoder", "timecode")


@dataclass(frozen=True)
class AudioPart:
    source: MediaInfo
    delay: float = 0.0
    """Seconds after the output's start that this audio starts (negative: skip into it)."""
    input: int = 0
    """The job's input it is (0: the first)."""


@dataclass(frozen=True)
class Track:
    """A stream the output carries: ``kind`` stream ``number`` of ``parts[part]``'s source."""

    part: int
    kind: str
    """``a`` (audio), ``s`` (subtitles) or ``t`` (an attachment)."""
    number: int


@dataclass(frozen=True)
class Carried:
    """ffmpeg's output arguments for the plan, and a line on each stream it carries."""

    args: list[str]
    said: list[str]


@dataclass(frozen=True)
class AudioPlan:
    parts: tuple[AudioPart, ...] = ()
    """The sources read, one ``-i`` each. No parts: the output is silent."""
    tracks: tuple[Track, ...] = ()
    """The streams carried, in the output's order (empty with parts: each part's first audio)."""
    mix: bool = False
    """The parts' first audio tracks mixed into one."""
    end: float | None = None
    """Seconds of output audio, when it must stop with the video (``--duration shortest``)."""
    keep: tuple[tuple[float, float], ...] | None = None
    """Spans to keep, in seconds from the first frame, joined in order (SceneKeep); None: all."""
    filters: str | None = None
    """An ffmpeg audio filter chain (``--af``) over each whole track, as ``ffmpeg -af`` runs it:
    one pass over every sample, so whole-track filters (loudnorm) give ffmpeg's result."""
    video_lead: float = 0.0
    """Seconds the first input's video starts after its file's start (its audio starts first):
    the output's video keeps that lead over the audio, as plain ffmpeg's does."""
    timecode: str | None = None
    """The first input's start timecode, which the output's video keeps."""
    dropped: tuple[str, ...] = ()
    """The inputs' streams no output carries (data, unmapped attachments), in a few words each:
    said before work whether or not the plan reads that input (a silent source's font too)."""
    map_metadata: int | None = None
    """``--map-metadata``: the input whose global tags the final file carries, all of them; -1:
    no tags at all, of the file, its streams or its chapters; None: ffmpeg's default, the
    first input's bar :data:`_NOT_COPIED`."""
    tags_from: int | None = None
    """The part read for the global tags; None: none is."""
    video_tags: tuple[tuple[str, str], ...] = ()
    """Tags the output's video takes from the first input's (language, title, handler_name),
    as ``ffmpeg -vf`` copies them: none when the video is made from several inputs (ffmpeg's
    ``-filter_complex`` copies none) or under ``--map-metadata -1``."""

    @classmethod
    def choose(
        cls,
        choice: str,
        inputs: list[MediaInfo],
        offset: float = 0.0,
        end: float | None = None,
        filters: str | None = None,
    ) -> AudioPlan:
        """The plan for ``--audio choice`` (or ``-map``s) over ``inputs`` (the second one
        ``offset`` s late), with the audio filter chain ``filters``."""
        first = inputs[0]
        choice, map_metadata = split_metadata(choice)
        if choice not in CHOICES and not choice.lstrip("-")[:1].isdigit():
            raise OptionError("audio", f"must be one of {', '.join(CHOICES)}, not {choice!r}")
        if choice in ("b", "mix") and len(inputs) < 2:
            raise OptionError("audio", f"{choice} needs a second input")
        picks: tuple[tuple[int, str, int], ...]
        if choice in ("mix", "none"):
            used = [n for n, info in enumerate(inputs) if info.audio] if choice == "mix" else []
            picks = tuple((n, "a", 0) for n in used)
            mix = len(used) > 1
        else:
            picks = tuple(
                (p.input, p.kind, p.number) for p in pick(_AS_MAPS.get(choice, choice).split(), inputs)
            )
            # The first input is read for its chapters even when no stream of it is mapped.
            used = sorted({n for n, _, _ in picks} | ({0} if first.chapters else set()))
            # The first input's own audio, to its end, is not cut (the caller's end is its length).
            if end is not None and {n for n, _, _ in picks} <= {0} and end >= first.duration:
                end = None
            mix = False
        # The input whose global tags the output carries is read for them, as ffmpeg reads it.
        tagged = 0 if map_metadata is None else None if map_metadata < 0 else map_metadata
        if tagged is not None:
            used = sorted({*used, tagged})
        kept = {(n, number) for n, kind, number in picks if kind == "t"}
        dropped = tuple(
            f"{info.source}: {what} not kept"
            for n, info in enumerate(inputs)
            for what in (
                *info.others,
                *(f"attachment {a.index} ({_file(a)})" for a in info.attachments if (n, a.index) not in kept),
            )
        )
        plan = cls(
            parts=tuple(AudioPart(inputs[n], offset * n, n) for n in used),
            tracks=tuple(Track(used.index(n), kind, number) for n, kind, number in picks),
            mix=mix,
            end=end,
            filters=filters,
            video_lead=first.video_lead,
            timecode=first.timecode,
            dropped=dropped,
            map_metadata=map_metadata,
            tags_from=None if tagged is None else used.index(tagged),
            video_tags=()
            if len(inputs) > 1 or (map_metadata or 0) < 0
            else tuple((k, v) for k, v in first.video_tags if k.lower() not in _VIDEO_OWN),
        )
        if not plan.audio_tracks:
            if filters:
                raise OptionError("audio_filters", f"{filters!r}: {first.source} has no audio to filter")
            plan = replace(plan, end=None)
        return (
            plan if plan.tracks or plan.tags_from is not None or first.chapters else replace(plan, parts=())
        )

    @property
    def audio_tracks(self) -> list[Track]:
        return [t for t in self.tracks if t.kind == "a"]

    @property
    def strips(self) -> bool:
        """No tags at all (``--map-metadata -1``)."""
        return self.map_metadata is not None and self.map_metadata < 0

    @property
    def plain(self) -> bool:
        """Each audio track as it is: copied, or transcoded, without a filter graph."""
        return (
            not self.mix
            and all(self.parts[t.part].delay == 0 for t in self.audio_tracks)
            and self.end is None
            and self.keep is None
            and self.filters is None
        )

    def inputs(self) -> list[str]:
        """``-i src`` for each source; they go with the command's other inputs, before outputs."""
        return [arg for part in self.parts for arg in ("-i", part.source.source)]

    def first_audio(self) -> AudioPlan:
        """The plan with only its first audio track (a stream's one audio rendition)."""
        return replace(self, tracks=tuple(self.audio_tracks[:1]), timecode=None)

    def carried(
        self, first_index: int, audio_target: Callable[[str], AudioTarget], container: Container | None = None
    ) -> Carried:
        """Mapping (and filter graph) and codecs: each audio track in what ``audio_target`` of
        its codec says, and, for a final file in ``container``, the subtitles, chapters and
        timecode. ``first_index`` is the ffmpeg input number of the first source."""
        args: list[str] = []
        said: list[str] = []
        graph: list[str] = []
        groups = [self.audio_tracks] if self.mix else [[t] for t in self.audio_tracks]
        for out, group in enumerate(groups):
            head = group[0]
            info = self.parts[head.part].source.audio[head.number]
            target = audio_target(info.codec)
            copied = self.plain and info.codec in target.copies
            if self.plain:
                args += ["-map", f"{first_index + head.part}:a:{head.number}"]
            else:
                graph += self._chains(group, first_index, out)
                args += ["-map", f"[aout{out}]"]
            codec = ["copy"] if copied else list(target.transcode)
            title = None if self.mix else info.title
            tags = [] if self.strips else _tags(f"a:{out}", info.language, title)
            args += [f"-c:a:{out}", *codec, *tags]
            what = f"mix of {len(group)}" if len(group) > 1 else _named(info.language, info.title)
            said.append(f"audio {out} ({what}): {target.describe(info.codec, copied=copied)}")
        if graph:
            args = ["-filter_complex", ";".join(graph), *args]
        if container is not None:
            args += self._subtitles(first_index, container, said)
            args += self._attachments(first_index, container, said)
            args += self._chapters_and_timecode(first_index)
            args += self._metadata(first_index)
        return Carried(args, said)

    def alone(self) -> list[str]:
        """A final file's arguments when it reads no source beside its video (a silent one
        without chapters): the start timecode, or no tags at all."""
        if self.strips:
            return ["-map_metadata", "-1"]
        return ["-metadata:s:v:0", f"timecode={self.timecode}"] if self.timecode else []

    def notices(self, container: Container) -> list[str]:
        """What the user must know before work starts about the streams a final file in
        ``container`` cannot carry as they are: subtitles converted or dropped, attachments
        outside Matroska, and streams that are not kept (data, unmapped attachments)."""
        said = []
        for track in self.tracks:
            part = self.parts[track.part]
            if track.kind == "t" and container.muxer != "matroska":
                named = f"attachment {track.number} ({_file(part.source.attachments[track.number])})"
                said.append(f"{part.source.source}: {named} not kept: {_no_files(container)}")
            elif track.kind == "s" and self.keep is None and part.delay == 0:
                info = part.source.subtitles[track.number]
                target = subtitle_target(container, info.codec)
                if target.codec != "copy":
                    named = _named(info.language, info.title)
                    said.append(f"{part.source.source}: subtitle {track.number} ({named}): {target.said}")
        return [*said, *self.dropped]

    def _chains(self, group: list[Track], first_index: int, out: int) -> list[str]:
        """Graph lines that make ``[aout{out}]`` from ``group``'s tracks."""
        chains = []
        for i, track in enumerate(group):
            delay = self.parts[track.part].delay
            # One track, filtered over its whole length: its samples keep their own times, as
            # under plain ``ffmpeg -af`` (an audio that starts after the video stays late).
            alone = len(group) == 1 and delay == 0 and self.end is None and self.keep is None
            shift = (
                "anull"
                if alone
                else f"adelay={round(delay * 1000)}:all=1"
                if delay > 0
                else f"atrim=start={-delay!r},asetpts=PTS-STARTPTS"
            )
            chains.append(f"[{first_index + track.part}:a:{track.number}]{shift}[a{out}_{i}]")
        mixed = "".join(f"[a{out}_{i}]" for i in range(len(group)))
        tail = f"amix=inputs={len(group)}:duration=longest:normalize=0" if len(group) > 1 else "anull"
        if self.filters is not None:
            tail += f",{self.filters}"
        if self.end is not None:
            tail += f",atrim=end={self.end!r}"
        if self.keep is None:
            return [*chains, f"{mixed}{tail}[aout{out}]"]
        return [*chains, f"{mixed}{tail}[amain{out}]", *_cut(self.keep, f"amain{out}", f"aout{out}")]

    def _mapped(self, kind: str) -> Iterator[tuple[Track, AudioPart]]:
        """Each mapped track of ``kind`` (``s``, ``t``) with the part it comes from, in map order."""
        for track in self.tracks:
            if track.kind == kind:
                yield track, self.parts[track.part]

    def _subtitles(self, first_index: int, container: Container, said: list[str]) -> list[str]:
        args: list[str] = []
        out = 0
        for track, part in self._mapped("s"):
            info = part.source.subtitles[track.number]
            name = f"subtitle {track.number} of input {part.input}"
            if self.keep is not None or part.delay != 0:
                why = "scenes are cut out" if self.keep is not None else "its input starts late"
                said.append(f"{name} ({_named(info.language, info.title)}): dropped ({why})")
                continue
            target = subtitle_target(container, info.codec)
            said.append(f"{name} ({_named(info.language, info.title)}): {target.said}")
            if target.codec is None:
                continue
            args += ["-map", f"{first_index + track.part}:s:{track.number}", f"-c:s:{out}", target.codec]
            args += [] if self.strips else _tags(f"s:{out}", info.language, info.title)
            out += 1
        return args

    def _attachments(self, first_index: int, container: Container, said: list[str]) -> list[str]:
        """Each mapped attachment copied whole (a file, not a time-based stream), into Matroska."""
        args: list[str] = []
        out = 0
        for track, part in self._mapped("t"):
            info = part.source.attachments[track.number]
            name = f"attachment {track.number} of input {part.input} ({_file(info)})"
            if container.muxer != "matroska":
                said.append(f"{name}: dropped ({_no_files(container)})")
                continue
            said.append(f"{name}: copied")
            args += ["-map", f"{first_index + track.part}:t:{track.number}", f"-c:t:{out}", "copy"]
            if self.strips:  # Matroska holds no attachment without its name and type (ffmpeg fails)
                tags = (("filename", info.filename), ("mimetype", info.mimetype))
                args += [
                    arg for key, value in tags if value for arg in (f"-metadata:s:t:{out}", f"{key}={value}")
                ]
            out += 1
        return args

    def _chapters_and_timecode(self, first_index: int) -> list[str]:
        """The first input's chapters (none once scenes are cut out: they would point at
        other pictures) and its start timecode, which MOV and MP4 write as a tmcd track."""
        own = [i for i, part in enumerate(self.parts) if part.source.chapters and part.delay == 0]
        chapters = first_index + own[0] if own and self.keep is None else -1
        timecode = (
            ["-metadata:s:v:0", f"timecode={self.timecode}"] if self.timecode and not self.strips else []
        )
        return ["-map_chapters", str(chapters), *timecode]

    def _metadata(self, first_index: int) -> list[str]:
        """The global tags: none, every one of the input asked for, or by default the first
        input's bar those ffmpeg's default copy leaves out. Without a ``-map_metadata`` ffmpeg
        would copy the joined video's (its first input's), not the source's."""
        if self.tags_from is None:  # --map-metadata -1: no input is read for them
            return ["-map_metadata", "-1"]
        args = ["-map_metadata", str(first_index + self.tags_from)]
        if self.map_metadata is None:
            args += [arg for key in _NOT_COPIED for arg in ("-metadata", f"{key}=")]
        return args


def _tags(stream: str, language: str | None, title: str | None) -> list[str]:
    """``-metadata:s:...`` for ``stream``'s language and title, whatever the muxer called them
    in the source (QuickTime's ``name``, which plain ffmpeg does not carry over)."""
    tags = [("language", language), ("title", title)]
    return [arg for key, value in tags if value for arg in (f"-metadata:s:{stream}", f"{key}={value}")]


def _file(info: AttachmentInfo) -> str:
    return ", ".join(x for x in (info.filename, info.mimetype) if x) or "unnamed"


def _no_files(container: Container) -> str:
    return f"{container.name} cannot hold attachments"


def _named(language: str | None, title: str | None) -> str:
    return ", ".join(x for x in (language, repr(title) if title else None) if x) or "untagged"


#: Seconds of fade at each side of a join: a hard cut in a waveform clicks; 5 ms does not, and
#: is too short to hear as a fade.
JOIN_FADE = 0.005


def _cut(spans: tuple[tuple[float, float], ...], src: str, dest: str) -> list[str]:
    """Graph lines keeping ``spans`` of ``[src]`` (sample-exact trims) joined into ``[dest]``."""
    split = "".join(f"[{dest}s{i}]" for i in range(len(spans)))
    lines = [f"[{src}]asplit={len(spans)}{split}" if len(spans) > 1 else f"[{src}]anull[{dest}s0]"]
    for i, (start, end) in enumerate(spans):
        fade = min(JOIN_FADE, (end - start) / 4)
        lines.append(
            f"[{dest}s{i}]atrim=start={start!r}:end={end!r},asetpts=PTS-STARTPTS,"
            f"afade=t=in:d={fade!r},afade=t=out:st={end - start - fade!r}:d={fade!r}[{dest}k{i}]"
        )
    joined = "".join(f"[{dest}k{i}]" for i in range(len(spans)))
    lines.append(f"{joined}concat=n={len(spans)}:v=0:a=1[{dest}]")
    return lines
