"""The final file's container, chosen by the output's suffix, and the audio and subtitles it
carries.

Audio is copied when the container takes the source's codec and transcoded when not: to Opus
for WebM, to PCM for ProRes and DNxHR in MOV (what editing systems expect beside them), to AAC
elsewhere. Text subtitles end in the codec plain ffmpeg writes them in: ASS in Matroska and
WebVTT in WebM (those muxers' default subtitle codecs, which ffmpeg encodes to when no ``-c:s``
is given), mov_text in MP4 and MOV (the one text codec they take; ffmpeg names no default for
them and leaves subtitles out); copied when they are in it already, converted when not.
Pictures are copied into Matroska and dropped, said, elsewhere.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from pathlib import Path

from sprocket_cli.errors import OutputError

AAC = ("aac", "-b:a", "192k")
OPUS = ("libopus", "-b:a", "160k")
#: Lossy sources hold no more than 16 bits' worth: PCM from them is 16-bit, from others 24-bit.
LOSSY = frozenset({"aac", "mp3", "mp2", "opus", "vorbis", "ac3", "eac3", "dts"})
PCM = frozenset({"pcm_s16le", "pcm_s24le", "pcm_s16be", "pcm_s24be"})
#: Video codecs that editing systems take in MOV only beside PCM audio.
MASTERING = frozenset({"prores", "dnxhd"})
#: Subtitle codecs of text that ffmpeg decodes and so can write again in another text format.
TEXT_SUBTITLES = frozenset(
    {"subrip", "ass", "ssa", "webvtt", "mov_text", "text", "microdvd", "subviewer", "jacosub", "sami",
     "realtext", "mpl2", "pjs", "vplayer", "stl"}
)  # fmt: skip
PICTURE_SUBTITLES = frozenset({"hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle"})


@dataclass(frozen=True)
class Container:
    name: str
    muxer: str
    """ffmpeg's ``-f`` name."""
    audio: frozenset[str]
    """Audio codecs it takes as they are (and players play from it)."""
    transcode: tuple[str, ...]
    """``-c:a`` arguments for any other audio."""
    _: KW_ONLY
    subtitles: frozenset[str] = frozenset()
    """Subtitle codecs copied as they are: its text codec and the pictures it holds."""
    subtitle_encoder: str = ""
    """ffmpeg's encoder for text subtitles in another codec."""
    subtitle_why: str = ""
    """Why text subtitles are converted, for the summary; empty: the container takes no other."""
    movflags: bool = False
    """An ISO-BMFF file: the index goes first (``+faststart``), so players start at once."""


_MOV_TEXT = frozenset({"mov_text"})
_MP4_AUDIO = frozenset({"aac", "mp3", "alac", "flac", "opus", "ac3", "eac3"})
MP4 = Container(
    "MP4", "mp4", _MP4_AUDIO, AAC, subtitles=_MOV_TEXT, subtitle_encoder="mov_text", movflags=True
)
MOV = Container(
    "MOV",
    "mov",
    frozenset({"aac", "mp3", "alac", "ac3", "eac3", *PCM}),
    AAC,
    subtitles=_MOV_TEXT,
    subtitle_encoder="mov_text",
    movflags=True,
)
MKV = Container(
    "Matroska",
    "matroska",
    frozenset({"aac", "mp3", "mp2", "alac", "flac", "opus", "vorbis", "ac3", "eac3", "dts", "truehd", *PCM}),
    AAC,
    subtitles=frozenset({"ass", *PICTURE_SUBTITLES}),
    subtitle_encoder="ass",
    # It holds SubRip and WebVTT too, but plain ffmpeg writes every text subtitle as ASS.
    subtitle_why="as ffmpeg writes text subtitles in Matroska",
)
WEBM = Container(
    "WebM",
    "webm",
    frozenset({"opus", "vorbis"}),
    OPUS,
    subtitles=frozenset({"webvtt"}),
    subtitle_encoder="webvtt",
)
CONTAINERS = {".mp4": MP4, ".m4v": MP4, ".mov": MOV, ".mkv": MKV, ".webm": WEBM}


def container_for(dest: Path) -> Container:
    """The container ``dest``'s suffix names; :class:`OutputError` for one sprocket cannot write."""
    found = CONTAINERS.get(dest.suffix.lower())
    if found is None:
        names = ", ".join(list(CONTAINERS)[:-1])
        raise OutputError(f"{dest}: the output must end in {names} or {list(CONTAINERS)[-1]}")
    return found


@dataclass(frozen=True)
class AudioTarget:
    """What the final file's audio becomes."""

    copies: frozenset[str]
    """Source codecs copied as they are."""
    transcode: tuple[str, ...]
    """``-c:a`` arguments for the others, and for audio that is filtered or mixed."""
    why: str
    """Why other codecs are transcoded, for the summary."""

    def describe(self, source_codec: str, *, copied: bool) -> str:
        """One line on what happened to audio of ``source_codec``."""
        if copied:
            return f"{source_codec}, copied"
        if source_codec in self.copies:
            return f"{source_codec} -> {self.transcode[0]} (filtered, mixed or cut: re-encoded)"
        return f"{source_codec} -> {self.transcode[0]} ({self.why})"


def audio_target(container: Container, video_codec: str, source_codec: str) -> AudioTarget:
    """The audio for ``container`` beside ``video_codec``, from a source in ``source_codec``."""
    if container is MOV and video_codec in MASTERING:
        pcm = "pcm_s16le" if source_codec in LOSSY else "pcm_s24le"
        return AudioTarget(PCM, (pcm,), f"{video_codec} in MOV goes with PCM audio")
    names = ", ".join(sorted(container.audio))
    return AudioTarget(container.audio, container.transcode, f"{container.name} takes {names}")


@dataclass(frozen=True)
class SubtitleTarget:
    """What one subtitle stream becomes in the final file."""

    codec: str | None
    """``-c:s`` value (``copy``, or an encoder); None: the stream is dropped."""
    said: str
    """What happened to it, and why, in a few words."""


def subtitle_target(container: Container, codec: str) -> SubtitleTarget:
    """The way subtitles in ``codec`` go into ``container``."""
    if codec in container.subtitles:
        return SubtitleTarget("copy", f"{codec}, copied")
    takes = ", ".join(sorted(container.subtitles))
    if codec in TEXT_SUBTITLES:
        encoder = container.subtitle_encoder
        why = container.subtitle_why or f"{container.name} takes {takes}"
        return SubtitleTarget(encoder, f"{codec} -> {encoder} ({why})")
    kind = "pictures" if codec in PICTURE_SUBTITLES else "not text ffmpeg can convert"
    return SubtitleTarget(None, f"{codec} dropped ({kind}; {container.name} takes {takes})")
