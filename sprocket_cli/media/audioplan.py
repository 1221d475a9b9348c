"""Which audio the output carries: one input's as it is (the default), another input's shifted
onto the output's timeline, a mix of two, or none; and the ffmpeg arguments that make it.

Video goes through the workers chunk by chunk; audio needs no per-chunk work, so the stream's
audio rendition and the final file both take it straight from the sources with these arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from sprocket_cli.errors import OptionError
from sprocket_cli.media.containers import AudioTarget
from sprocket_cli.media.probe import MediaInfo

#: ``--audio`` choices: the first input's (a), the second's (b), both mixed, or none.
CHOICES = ("a", "b", "mix", "none")


@dataclass(frozen=True)
class AudioPart:
    source: MediaInfo
    delay: float = 0.0
    """Seconds after the output's start that this audio starts (negative: skip into it)."""


@dataclass(frozen=True)
class AudioPlan:
    parts: tuple[AudioPart, ...] = ()
    """No parts: the output is silent."""
    end: float | None = None
    """Seconds of output audio, when it must stop with the video (``--duration shortest``)."""
    keep: tuple[tuple[float, float], ...] | None = None
    """Spans to keep, in seconds from the first frame, joined in order (SceneKeep); None: all."""
    filters: str | None = None
    """An ffmpeg audio filter chain (``--af``) over the whole track, as ``ffmpeg -af`` runs it:
    one pass over every sample, so whole-track filters (loudnorm) give ffmpeg's result."""
    video_lead: float = 0.0
    """Seconds the first input's video starts after its file's start (its audio starts first):
    the output's video keeps that lead over the audio, as plain ffmpeg's does."""

    @classmethod
    def choose(
        cls,
        choice: str,
        inputs: list[MediaInfo],
        offset: float = 0.0,
        end: float | None = None,
        filters: str | None = None,
    ) -> AudioPlan:
        """The plan for ``--audio choice`` over ``inputs`` (the second one ``offset`` s late),
        with the audio filter chain ``filters``."""
        if choice not in CHOICES:
            raise OptionError("audio", f"must be one of {', '.join(CHOICES)}, not {choice!r}")
        parts = [AudioPart(inputs[0])]
        if len(inputs) > 1:
            parts.append(AudioPart(inputs[1], offset))
        elif choice in ("b", "mix"):
            raise OptionError("audio", f"{choice} needs a second input")
        chosen = {"a": parts[:1], "b": parts[1:], "mix": parts, "none": []}[choice]
        with_audio = tuple(p for p in chosen if p.source.audio)
        if filters and not with_audio:
            raise OptionError("audio_filters", f"{filters!r}: {inputs[0].source} has no audio to filter")
        return cls(with_audio, end, filters=filters, video_lead=inputs[0].video_lead)

    @property
    def plain(self) -> bool:
        """One source, as it is: its audio can be stream-copied."""
        return (
            len(self.parts) == 1
            and self.parts[0].delay == 0
            and self.end is None
            and self.keep is None
            and self.filters is None
        )

    def inputs(self) -> list[str]:
        """``-i src`` for each source; they go with the command's other inputs, before outputs."""
        return [arg for part in self.parts for arg in ("-i", part.source.source)]

    @property
    def source_codec(self) -> str:
        """The first source's audio codec (the one a plain plan can copy)."""
        return self.parts[0].source.audio[0].codec

    def copies(self, target: AudioTarget) -> bool:
        """Whether the audio goes to ``target`` as it is, by stream copy."""
        return self.plain and self.source_codec in target.copies

    def output_args(self, first_index: int, target: AudioTarget) -> list[str]:
        """Mapping (or the mixing graph) and codec for ``target``: ``-map ... -c:a ...``.

        ``first_index`` is the ffmpeg input number of the first audio source.
        """
        if self.plain:
            codec = ["copy"] if self.copies(target) else target.transcode
            return ["-map", f"{first_index}:a:0", "-c:a", *codec]
        chains = []
        # One source, filtered over its whole length: its samples keep their own times, as
        # under plain ``ffmpeg -af`` (an audio that starts after the video stays late).
        alone = len(self.parts) == 1 and self.parts[0].delay == 0 and self.end is None and self.keep is None
        for i, part in enumerate(self.parts):
            shift = (
                "anull"
                if alone
                else f"adelay={round(part.delay * 1000)}:all=1"
                if part.delay > 0
                else f"atrim=start={-part.delay!r},asetpts=PTS-STARTPTS"
            )
            chains.append(f"[{first_index + i}:a:0]{shift}[a{i}]")
        mixed = "".join(f"[a{i}]" for i in range(len(self.parts)))
        tail = (
            f"amix=inputs={len(self.parts)}:duration=longest:normalize=0" if len(self.parts) > 1 else "anull"
        )
        if self.filters is not None:
            tail += f",{self.filters}"
        if self.end is not None:
            tail += f",atrim=end={self.end!r}"
        if self.keep is None:
            graph = ";".join([*chains, f"{mixed}{tail}[aout]"])
        else:
            graph = ";".join([*chains, f"{mixed}{tail}[amain]", *_cut(self.keep, "amain", "aout")])
        return ["-filter_complex", graph, "-map", "[aout]", "-c:a", *target.transcode]


#: Seconds of fade at each side of a join: a hard cut in a waveform clicks; 5 ms does not, and
#: is too short to hear as a fade.
JOIN_FADE = 0.005


def _cut(spans: tuple[tuple[float, float], ...], src: str, dest: str) -> list[str]:
    """Graph lines keeping ``spans`` of ``[src]`` (sample-exact trims) joined into ``[dest]``."""
    split = "".join(f"[s{i}]" for i in range(len(spans)))
    lines = [f"[{src}]asplit={len(spans)}{split}" if len(spans) > 1 else f"[{src}]anull[s0]"]
    for i, (start, end) in enumerate(spans):
        fade = min(JOIN_FADE, (end - start) / 4)
        lines.append(
            f"[s{i}]atrim=start={start!r}:end={end!r},asetpts=PTS-STARTPTS,"
            f"afade=t=in:d={fade!r},afade=t=out:st={end - start - fade!r}:d={fade!r}[k{i}]"
        )
    joined = "".join(f"[k{i}]" for i in range(len(spans)))
    lines.append(f"{joined}concat=n={len(spans)}:v=0:a=1[{dest}]")
    return lines
