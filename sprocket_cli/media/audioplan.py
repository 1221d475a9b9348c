"""What the output carries beside its video: which inputs' audio tracks and subtitles (every one
of the first input's, by default, or those ``-map`` names), as they are, shifted onto the
output's timeline, mixed, or none; the first input's chapters and start timecode; and the
ffmpeg arguments that make them.

Video goes through the workers chunk by chunk; audio needs no per-chunk work, so the stream's
audio rendition and the final file both take it straight from the sources with these arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sprocket_cli.errors import OptionError
from sprocket_cli.media.containers import AudioTarget, Container, subtitle_target
from sprocket_cli.media.probe import MediaInfo
from sprocket_cli.media.trackmap import pick

#: ``--audio`` choices: the first input's (a), the second's (b), both mixed, or none. Any other
#: choice is a list of ffmpeg ``-map`` arguments, space-separated (:mod:`~sprocket_cli.media.trackmap`).
CHOICES = ("a", "b", "mix", "none")
_AS_MAPS = {"a": "0", "b": "1:a?"}


@dataclass(frozen=True)
class AudioPart:
    source: MediaInfo
    delay: float = 0.0
    """Seconds after the output's start that this audio starts (negative: skip into it)."""


@dataclass(frozen=True)
class Track:
    """A stream the output carries: ``kind`` stream ``number`` of ``parts[part]``'s source."""

    part: int
    kind: str
    """``a`` (audio) or ``s`` (subtitles)."""
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
    """The inputs' streams no output carries (data, attachments), in a few words each: said
    before work whether or not the plan reads that input (a silent source's font too)."""

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
        if choice not in CHOICES and not choice.lstrip("-")[:1].isdigit():
            raise OptionError("audio", f"must be one of {', '.join(CHOICES)}, not {choice!r}")
        if choice in ("b", "mix") and len(inputs) < 2:
            raise OptionError("audio", f"{choice} needs a second input")
        if choice in ("mix", "none"):
            parts = tuple(AudioPart(info, offset * n) for n, info in enumerate(inputs) if info.audio)
            chosen = parts if choice == "mix" else ()
            tracks = tuple(Track(n, "a", 0) for n in range(len(chosen)))
            mix = len(chosen) > 1
        else:
            picks = pick(_AS_MAPS.get(choice, choice).split(), inputs)
            # The first input is read for its chapters even when no stream of it is mapped.
            used = sorted({p.input for p in picks} | ({0} if first.chapters else set()))
            parts = tuple(AudioPart(inputs[n], offset * n) for n in used)
            tracks = tuple(Track(used.index(p.input), p.kind, p.number) for p in picks)
            # The first input's own audio, to its end, is not cut (the caller's end is its length).
            if end is not None and {p.input for p in picks} <= {0} and end >= first.duration:
                end = None
            chosen, mix = parts, False
        dropped = tuple(f"{info.source}: {other} not kept" for info in inputs for other in info.others)
        plan = cls(chosen, tracks, mix, end, None, filters, first.video_lead, first.timecode, dropped)
        if not plan.audio_tracks:
            if filters:
                raise OptionError("audio_filters", f"{filters!r}: {first.source} has no audio to filter")
            plan = replace(plan, end=None)
        return plan if plan.tracks or (plan.parts and first.chapters) else replace(plan, parts=())

    @property
    def audio_tracks(self) -> list[Track]:
        return [t for t in self.tracks if t.kind == "a"]

    @property
    def plain(self) -> bool:
        """Each audio track as it is: copied, or transcoded, without a filter graph."""
        return (
            not self.mix
            and all(p.delay == 0 for p in self.parts)
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
            args += [f"-c:a:{out}", *codec, *_tags(f"a:{out}", info.language, title)]
            what = f"mix of {len(group)}" if len(group) > 1 else _named(info.language, info.title)
            said.append(f"audio {out} ({what}): {target.describe(info.codec, copied=copied)}")
        if graph:
            args = ["-filter_complex", ";".join(graph), *args]
        if container is not None:
            args += self._subtitles(first_index, container, said)
            args += self._chapters_and_timecode(first_index)
        return Carried(args, said)

    def notices(self, container: Container) -> list[str]:
        """What the user must know before work starts about the streams a final file in
        ``container`` cannot carry as they are: subtitles converted or dropped, and streams
        that are never kept (data, attachments)."""
        said = []
        for track in self.tracks:
            part = self.parts[track.part]
            if track.kind == "s" and self.keep is None and part.delay == 0:
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

    def _subtitles(self, first_index: int, container: Container, said: list[str]) -> list[str]:
        args: list[str] = []
        out = 0
        for track in self.tracks:
            if track.kind != "s":
                continue
            part = self.parts[track.part]
            info = part.source.subtitles[track.number]
            name = f"subtitle {track.number} of input {track.part}"
            if self.keep is not None or part.delay != 0:
                why = "scenes are cut out" if self.keep is not None else "its input starts late"
                said.append(f"{name} ({_named(info.language, info.title)}): dropped ({why})")
                continue
            target = subtitle_target(container, info.codec)
            said.append(f"{name} ({_named(info.language, info.title)}): {target.said}")
            if target.codec is None:
                continue
            args += ["-map", f"{first_index + track.part}:s:{track.number}", f"-c:s:{out}", target.codec]
            args += _tags(f"s:{out}", info.language, info.title)
            out += 1
        return args

    def _chapters_and_timecode(self, first_index: int) -> list[str]:
        """The first input's chapters (none once scenes are cut out: they would point at
        other pictures) and its start timecode, which MOV and MP4 write as a tmcd track."""
        own = [i for i, part in enumerate(self.parts) if part.source.chapters and part.delay == 0]
        chapters = first_index + own[0] if own and self.keep is None else -1
        timecode = ["-metadata:s:v:0", f"timecode={self.timecode}"] if self.timecode else []
        return ["-map_chapters", str(chapters), *timecode]


def _tags(stream: str, language: str | None, title: str | None) -> list[str]:
    """``-metadata:s:...`` for ``stream``'s language and title, whatever the muxer called them
    in the source (QuickTime's ``name``, which plain ffmpeg does not carry over)."""
    tags = [("language", language), ("title", title)]
    return [arg for key, value in tags if value for arg in (f"-metadata:s:{stream}", f"{key}={value}")]


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
