"""Probe a video with PyAV: geometry, rates, codecs, every frame's timestamp, and the tracks
beside the video (audio, subtitles), chapters and start timecode that the final file keeps.

Keyframes come from demuxing packets only (no decode), which reads a 60 s 1080p file in
tens of milliseconds; one frame is decoded just to learn the display rotation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

from sprocket_cli.errors import InputError


@dataclass(frozen=True)
class AudioInfo:
    """One audio stream of the source."""

    index: int
    """Audio stream number among the source's audio streams (0 = first)."""
    codec: str
    sample_rate: int
    """Samples per second."""
    channels: int
    duration: float
    """Seconds."""
    language: str | None = None
    """ISO 639-2 code of the stream's ``language`` tag (``eng``); None: untagged."""
    title: str | None = None
    """The stream's ``title`` tag (QuickTime's ``name``)."""


@dataclass(frozen=True)
class SubtitleInfo:
    """One subtitle stream of the source."""

    index: int
    """Subtitle stream number among the source's subtitle streams (0 = first)."""
    codec: str
    """ffmpeg's codec name (``mov_text``, ``subrip``, ``hdmv_pgs_subtitle``)."""
    language: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class AttachmentInfo:
    """One attachment of the source (a font in Matroska): a file, not a time-based stream."""

    index: int
    """Attachment number among the source's attachments (0 = first)."""
    filename: str | None
    mimetype: str | None


@dataclass(frozen=True)
class MediaInfo:
    """What the planner and the output need to know about a source video."""

    source: str
    """Path or URL, as ffmpeg will open it."""
    width: int
    """Coded width in pixels, before rotation."""
    height: int
    codec: str
    pix_fmt: str
    fps: Fraction
    """Average frame rate (frames per second)."""
    time_base: Fraction
    """Seconds per pts tick of the video stream."""
    frame_pts: tuple[int, ...]
    """Presentation timestamp of every video frame, sorted, in ``time_base`` ticks."""
    keyframe_pts: tuple[int, ...]
    """Presentation timestamps of the keyframes, sorted, in ``time_base`` ticks."""
    end_pts: int
    """Presentation timestamp just after the last frame (its pts plus its duration)."""
    rotation: int
    """Display rotation in degrees, as ffmpeg applies it when decoding."""
    audio: tuple[AudioInfo, ...]
    subtitles: tuple[SubtitleInfo, ...] = ()
    chapters: int = 0
    """How many chapters the file marks."""
    timecode: str | None = None
    """SMPTE start timecode (``01:00:00:00``) of the video: a QuickTime tmcd track's, or the
    video stream's or file's ``timecode`` tag; None: none."""
    others: tuple[str, ...] = ()
    """Streams the output cannot keep, each said in a few words (``data stream 5 (gpmd)``)."""
    attachments: tuple[AttachmentInfo, ...] = ()
    start: float | None = None
    """Seconds where ffmpeg's timeline of the file starts (its earliest stream): a plain
    ffmpeg run subtracts it from every stream's times; None: not known (the first frame's)."""
    video_tags: tuple[tuple[str, str], ...] = ()
    """The video stream's tags (key, value), as the file holds them (``language``, ``title``,
    ``handler_name``, ``encoder``)."""

    @property
    def video_lead(self) -> float:
        """Seconds the first video frame comes after the file's start, as plain ffmpeg's output
        keeps it (a video that starts after its audio)."""
        first = float(self.frame_pts[0] * self.time_base) if self.frame_pts else 0.0
        return max(0.0, first - self.start) if self.start is not None else 0.0

    @property
    def display_height(self) -> int:
        """Lines of the picture as ffmpeg decodes it: a quarter turn (a phone held upright)
        shows the coded width as its height."""
        return self.width if self.rotation % 180 == 90 else self.height

    @property
    def frame_count(self) -> int:
        return len(self.frame_pts)

    @property
    def start_pts(self) -> int:
        return self.frame_pts[0]

    @property
    def duration(self) -> float:
        """Seconds from the first frame to the end of the last."""
        return float((self.end_pts - self.start_pts) * self.time_base)

    def seconds(self, pts: int) -> float:
        """``pts`` in seconds."""
        return float(pts * self.time_base)


def probe(source: str) -> MediaInfo:
    """Probe ``source`` (path or URL); raise :class:`InputError` naming what is wrong."""
    import av  # lazy: PyAV loads libav*, which the CLI's --help should not pay for

    if "://" not in source:
        if not os.path.exists(source):
            raise InputError(f"{source}: no such file")
        if os.path.isdir(source):
            raise InputError(f"{source}: is a folder, not a video file")
        if os.path.getsize(source) == 0:
            raise InputError(f"{source}: the file is empty")
    # Over HTTP (a presigned s3:// object), PyAV's libavformat with one connection per request
    # loses the first packet of an MP4 whose index is at its end when the server keeps
    # connections alive, as S3 does: after reading the index it resumes past the first
    # packet (seen: 99 of 100 frames; the ffmpeg binary reads all 100). With persistent
    # connections it reads every packet, from servers that keep them alive or not.
    http = source.startswith(("http://", "https://"))
    try:
        container = av.open(source, options={"multiple_requests": "1"} if http else {})
    except av.error.FFmpegError as exc:
        raise InputError(f"{source}: not a readable video ({exc.strerror or exc})") from exc
    with container:
        if not container.streams.video:
            raise InputError(f"{source}: has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        time_base = stream.time_base
        if time_base is None:
            raise InputError(f"{source}: the video stream has no time base")
        frame_pts, keyframes, end_pts = _scan_packets(container, stream, source)
        rotation = _rotation(container, stream)
        fps = stream.average_rate or stream.guessed_rate or Fraction(25)
        audio = tuple(
            AudioInfo(
                index=i,
                # The codec's name, not its decoder's (mp3, not mp3float): what muxers take.
                codec=a.codec_context.codec.canonical_name,
                sample_rate=int(a.codec_context.sample_rate or 0),
                channels=int(a.codec_context.layout.nb_channels),
                duration=float(a.duration * a.time_base)
                if a.duration is not None and a.time_base is not None
                else 0.0,
                **_tags(a.metadata),
            )
            for i, a in enumerate(container.streams.audio)
        )
        subtitles = tuple(
            SubtitleInfo(index=i, codec=_codec_name(s), **_tags(s.metadata))
            for i, s in enumerate(container.streams.subtitles)
        )
        chapters = len(container.chapters())
        return MediaInfo(
            source=source,
            width=int(ctx.width),
            height=int(ctx.height),
            codec=ctx.name,
            pix_fmt=str(ctx.pix_fmt),
            fps=Fraction(fps),
            time_base=Fraction(time_base),
            frame_pts=frame_pts,
            keyframe_pts=keyframes,
            end_pts=end_pts,
            rotation=rotation,
            audio=audio,
            subtitles=subtitles,
            chapters=chapters,
            timecode=_timecode(container, stream),
            others=_others(container, chapters),
            attachments=_attachments(container),
            start=None if container.start_time is None else container.start_time / 1_000_000,
            video_tags=tuple(stream.metadata.items()),
        )


@dataclass(frozen=True)
class Tracks:
    """The audio, subtitle and attachment streams of a source, without its video's frames."""

    source: str
    audio: tuple[AudioInfo, ...]
    subtitles: tuple[SubtitleInfo, ...]
    attachments: tuple[AttachmentInfo, ...] = ()


def probe_tracks(source: str) -> Tracks:
    """``source``'s audio and subtitle streams, from its header alone (no packet is read):
    enough to check a ``-map`` before the job starts."""
    import av

    with av.open(source) as container:
        return Tracks(
            source,
            tuple(
                AudioInfo(i, _codec_name(a), 0, 0, 0.0, **_tags(a.metadata))
                for i, a in enumerate(container.streams.audio)
            ),
            tuple(
                SubtitleInfo(i, _codec_name(s), **_tags(s.metadata))
                for i, s in enumerate(container.streams.subtitles)
            ),
            _attachments(container),
        )


def video_stream(path: str) -> tuple[str, dict[str, str]]:
    """The codec of ``path``'s first video stream (``prores``; ``av1`` whichever decoder reads
    it) and its tags, from one look at the file."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        return str(stream.codec_context.codec.canonical_name), dict(stream.metadata)


def _tags(metadata: dict[str, str]) -> dict[str, str | None]:
    """A stream's language and title; QuickTime files keep the title as ``name``."""
    tags = {k.lower(): v for k, v in metadata.items()}
    language = tags.get("language")
    return {
        "language": None if language in (None, "", "und") else language,
        "title": tags.get("title") or tags.get("name") or None,
    }


def _codec_name(stream) -> str:  # type: ignore[no-untyped-def]  # PyAV types
    ctx = stream.codec_context
    return str(ctx.codec.canonical_name) if ctx is not None and ctx.codec is not None else "none"


def _timecode(container, video) -> str | None:  # type: ignore[no-untyped-def]  # PyAV types
    """The start timecode: the video's tag, a tmcd (data) track's, or the file's (Matroska
    writes tag names in capitals)."""
    for metadata in (video.metadata, *(s.metadata for s in container.streams.data), container.metadata):
        found = {k.lower(): v for k, v in metadata.items()}.get("timecode")
        if found:
            return str(found)
    return None


def _others(container, chapters: int) -> tuple[str, ...]:  # type: ignore[no-untyped-def]  # PyAV types
    """Data streams that carry neither the timecode nor the chapters (which the output writes
    anew), in a few words each."""
    found = []
    for stream in container.streams.data:
        if "timecode" in stream.metadata:
            continue
        handler = stream.metadata.get("handler_name", "").lower()
        if chapters and ("text" in handler or "subtitle" in handler):
            continue  # QuickTime's chapter track: written again from the chapters
        kind = getattr(stream, "codec_tag", None) or _codec_name(stream)
        found.append(f"data stream {stream.index} ({kind})")
    return tuple(found)


def _attachments(container) -> tuple[AttachmentInfo, ...]:  # type: ignore[no-untyped-def]  # PyAV types
    """The attachments (fonts of styled subtitles, cover art in Matroska), named by their tags."""
    return tuple(
        AttachmentInfo(i, s.metadata.get("filename"), s.metadata.get("mimetype"))
        for i, s in enumerate(s for s in container.streams if s.type == "attachment")
    )


def _scan_packets(container, stream, source: str) -> tuple[tuple[int, ...], tuple[int, ...], int]:  # type: ignore[no-untyped-def]  # PyAV types
    """Every frame's pts and the keyframes' pts, by demuxing packets (no decode)."""
    import av

    pts: list[int] = []
    keys: list[int] = []
    end = None
    untimed = 0
    try:
        for packet in container.demux(stream):
            if packet.pts is None:
                untimed += packet.size > 0  # the flush packet at the end is empty
                continue
            pts.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
            tail = packet.pts + (packet.duration or 0)
            end = tail if end is None else max(end, tail)
    except av.error.FFmpegError as exc:
        if not pts:
            raise InputError(f"{source}: the video data cannot be read ({exc})") from exc
        # A file cut mid-stream: keep what was demuxed, like a player would.
    if not pts and untimed:
        raise InputError(
            f"{source}: the video has no timestamps (a raw stream?); put it in a container "
            "first, e.g. ffmpeg -i IN -c copy OUT.mp4"
        )
    if not pts or end is None:
        raise InputError(f"{source}: the video stream has no frames")
    pts.sort()
    if not keys:
        raise InputError(f"{source}: the video stream has no keyframe")
    keys.sort()
    return tuple(pts), tuple(keys), max(end, pts[-1] + 1)


def _rotation(container, stream) -> int:  # type: ignore[no-untyped-def]  # PyAV types
    """Display rotation in degrees, read from the first decoded frame's side data."""
    import av

    container.seek(0, stream=stream)
    try:
        for frame in container.decode(stream):
            return int(getattr(frame, "rotation", 0) or 0)
    except av.error.FFmpegError:
        return 0
    return 0
