"""``-map`` as ffmpeg reads it, for the streams the output carries beside the video: which audio,
subtitle and attachment streams of which input, in the order asked; and ``-map_metadata``.

The syntax is ffmpeg's: ``0`` (every stream of the first input, attachments too), ``0:a``,
``0:a:1``, ``0:s``, ``0:t``, ``1:a`` (the second input's audio), ``0:a:m:language:fra`` (by
tag), a trailing ``?`` (no error when nothing matches), and ``-0:a:2`` (a negative map: drop
what it matches from the streams mapped before it). Maps apply in order; without a positive one
the output carries every audio and subtitle stream of the first input (not its attachments,
as ffmpeg's default selection). The video is never mapped: it is the filter's output. Chapters
and the start timecode come with the first input whatever the maps, as ffmpeg keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sprocket_cli.errors import OptionError
from sprocket_cli.media.probe import AttachmentInfo, AudioInfo, MediaInfo, SubtitleInfo, Tracks

#: The maps of every audio and subtitle stream of the first input: ffmpeg's ``0`` without the
#: attachments, which its default stream selection leaves out.
DEFAULT = "0:a? 0:s?"
#: How the job's audio choice carries ``--map-metadata N`` after its maps (:func:`split_metadata`).
_METADATA = "map_metadata="
_MAP = re.compile(
    r"(?P<negative>-)?(?P<input>\d+)"
    r"(?::(?P<kind>[a-zA-Z]))?(?::(?P<number>\d+))?"
    r"(?::m:(?P<key>[^:?]+)(?::(?P<value>[^?]+))?)?"
    r"(?P<optional>\?)?"
)
_KINDS = {"a": "audio", "s": "subtitle", "t": "attachment"}
_REFUSED = {
    "v": "the video is the filter's output",
    "V": "the video is the filter's output",
    "d": "data streams are not kept (the timecode and chapters are, without a map)",
}


@dataclass(frozen=True)
class StreamMap:
    """One ``-map`` argument."""

    text: str
    negative: bool
    input: int
    kind: str | None
    """``a``, ``s`` or ``t``; None: every kind."""
    number: int | None
    """Stream number among the input's streams of ``kind``; None: every one."""
    tag: tuple[str, str | None] | None
    """(key, value) a stream's tags must hold (value None: the key at all)."""
    optional: bool

    def matches(self, kind: str, info: AudioInfo | SubtitleInfo | AttachmentInfo) -> bool:
        """Whether the input's ``kind`` stream ``info`` is one this map names."""
        if self.kind not in (None, kind) or self.number not in (None, info.index):
            return False
        if self.tag is None:
            return True
        key, value = self.tag
        if isinstance(info, AttachmentInfo):
            tags = {"filename": info.filename, "mimetype": info.mimetype}
        else:
            tags = {"language": info.language, "title": info.title}
        found = tags.get(key.lower())
        return found is not None and (value is None or found == value)


@dataclass(frozen=True)
class Pick:
    """A stream the output carries: ``kind`` stream ``number`` of input ``input``."""

    input: int
    kind: str
    """``a``, ``s`` or ``t``."""
    number: int


def parse_map(text: str, inputs: int) -> StreamMap:
    """``text`` as a map over ``inputs`` inputs; :class:`OptionError` (``map``) in one line for
    syntax sprocket does not take, a video stream, or an input that is not there."""
    found = _MAP.fullmatch(text.strip())
    if found is None:
        raise OptionError(
            "map",
            f"{text!r}: takes ffmpeg's -map forms: 0, 0:a or 1:a, 0:s, 0:t, a stream's number "
            "after its kind, -0:s (drop), m:language:fra (by tag)",
        )
    kind = found["kind"]
    if kind in _REFUSED:
        if found["negative"] and kind == "d":
            kind = "d"  # excluding what is never kept: nothing to do
        else:
            raise OptionError("map", f"{text!r}: {_REFUSED[kind]}; takes 0:a or 1:a, 0:s and the like")
    elif kind is not None and kind not in _KINDS:
        raise OptionError(
            "map", f"{text!r}: no stream kind {kind!r} (a: audio, s: subtitles, t: attachments)"
        )
    elif kind is None and found["number"] is not None:
        raise OptionError(
            "map", f"{text!r}: name a stream by kind and number (0:s:0: the first subtitles), not its index"
        )
    number = int(found["input"])
    if number >= inputs:
        more = " (give a second video)" if number == 1 else ""
        raise OptionError("map", f"{text!r}: there is no input {number}{more}")
    return StreamMap(
        text=text,
        negative=bool(found["negative"]),
        input=number,
        kind=kind,
        number=None if found["number"] is None else int(found["number"]),
        tag=None if found["key"] is None else (found["key"], found["value"]),
        optional=bool(found["optional"]),
    )


def check_maps(texts: Sequence[str], inputs: int) -> None:
    """Refuse, in one line, any of ``texts`` that cannot work over ``inputs`` inputs: before
    the sources are probed."""
    for text in texts:
        parse_map(text, inputs)


def pick(texts: Sequence[str], media: Sequence[MediaInfo | Tracks]) -> tuple[Pick, ...]:
    """The streams ``texts`` map from ``media``, in the output's order."""
    maps = [parse_map(text, len(media)) for text in texts]
    if not any(not m.negative for m in maps):
        maps[:0] = [parse_map(text, len(media)) for text in DEFAULT.split()]
    picked: list[Pick] = []
    for m in maps:
        if m.kind == "d":
            continue
        source = media[m.input]
        kinds: tuple[tuple[str, Sequence[AudioInfo | SubtitleInfo | AttachmentInfo]], ...] = (
            ("a", source.audio),
            ("s", source.subtitles),
            ("t", source.attachments),
        )
        named = [
            Pick(m.input, kind, info.index)
            for kind, infos in kinds
            for info in infos
            if m.matches(kind, info)
        ]
        if m.negative:
            picked = [p for p in picked if p not in named]
        elif named or m.optional or m.kind is None:  # ``0`` maps the video too: never empty
            picked += named
        else:
            raise OptionError(
                "map",
                f"{m.text!r} matches no stream: {source.source} has {len(source.audio)} audio, "
                f"{len(source.subtitles)} subtitle and {len(source.attachments)} attachment streams",
            )
    return tuple(picked)


def metadata_choice(value: int, inputs: int) -> str:
    """``--map-metadata value`` as it follows the maps in the job's audio choice; :class:`OptionError`
    (``map_metadata``) in one line for an input that is not there."""
    if value < -1 or value >= inputs:
        more = " (give a second video)" if value == 1 else ""
        raise OptionError(
            "map_metadata", f"{value}: takes -1 (no tags) or an input's number, 0 to {inputs - 1}{more}"
        )
    return f"{_METADATA}{value}"


def split_metadata(choice: str) -> tuple[str, int | None]:
    """The job's audio choice without its ``--map-metadata``, and that: None when not given
    (ffmpeg's default: the first input's global tags, bar creation_time)."""
    words = choice.split()
    given = [int(w.removeprefix(_METADATA)) for w in words if w.startswith(_METADATA)]
    rest = " ".join(w for w in words if not w.startswith(_METADATA))
    return rest or "a", given[-1] if given else None
