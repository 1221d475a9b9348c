"""Video encoders by the names editors use, and the ffmpeg options each needs for a quality,
a speed and a pixel format.

``crf`` and ``preset`` mean one thing to the user (quality: lower is better; speed: x264's
names, ultrafast ... veryslow) and are mapped to each encoder's own options. Intra-frame
mastering codecs (ProRes, DNxHR) have neither: their quality is their profile.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sprocket_cli.errors import OptionError
from sprocket_cli.media.ffmpeg import run_ffmpeg

#: Short names for the encoders editors ask for most.
ALIASES = {
    "x264": "libx264",
    "x265": "libx265",
    "av1": "libsvtav1",
    "vp9": "libvpx-vp9",
    "prores": "prores_ks",
    "dnxhr": "dnxhd",
}
#: x264's speed names, fastest first: ``--preset`` takes them for every encoder that has a speed.
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
#: Codecs written in fragmented MOV segments: the MP4 muxer has no tag for them.
MOV_CODECS = frozenset({"prores", "dnxhd"})
#: Codecs browsers decode in a stream (HEVC: Safari, and Chrome and Edge where the hardware
#: decodes it). A master in another gets an H.264 preview for the live stream.
BROWSER_CODECS = frozenset({"h264", "hevc", "av1", "vp9"})

Options = dict[str, str]


def _x26x(preset: str) -> Options | None:
    return {"preset": preset} if preset in PRESETS else None


def _numbered(option: str, names: tuple[int, ...], low: int, high: int) -> Callable[[str], Options | None]:
    """A speed given as one of :data:`PRESETS` (``names`` holds their numbers) or as a number."""

    def options(preset: str) -> Options | None:
        if preset in PRESETS:
            return {option: str(names[PRESETS.index(preset)])}
        if re.fullmatch(r"-?\d+", preset) and low <= int(preset) <= high:
            return {option: preset}
        return None

    return options


def _vp9(preset: str) -> Options | None:
    # libvpx's speed is a deadline plus cpu-used; realtime is what its fastest settings need.
    if preset in PRESETS:
        deadline, cpu = (
            ("realtime", 8), ("realtime", 7), ("good", 5), ("good", 4), ("good", 3),
            ("good", 2), ("good", 1), ("good", 0), ("best", 0),
        )[PRESETS.index(preset)]  # fmt: skip
        return {"deadline": deadline, "cpu-used": str(cpu)}
    if re.fullmatch(r"\d", preset):
        return {"deadline": "good", "cpu-used": preset}
    return None


@dataclass(frozen=True)
class Encoder:
    """An ffmpeg video encoder and what its options mean."""

    name: str
    """ffmpeg's encoder name (``libx265``)."""
    codec: str
    """ffmpeg's codec name (``hevc``)."""
    crf: tuple[int, int] | None = None
    """The constant-quality range it takes; None: it has no such setting."""
    default_crf: int | None = None
    """The crf when none is asked (the encoder's own default, or sprocket's for x264)."""
    crf_step: float = 1.0
    """The finest crf it takes: x264 and x265 take fractions, which ``--target-vmaf`` uses to
    land near its target where one whole step moves VMAF by two points or more."""
    presets: Callable[[str], Options | None] | None = None
    """The encoder's options for a ``--preset`` value, None for a value it has no match for;
    None: it has no speed setting."""
    presets_help: str = ""
    default_preset: str | None = "veryfast"
    """The speed when none is asked; None: the encoder's own."""
    fixed: Mapping[str, str] = field(default_factory=dict)
    """Options always set (a profile, a tag); the user's encoder args override them."""
    per_chunk_crf: Mapping[str, str] = field(default_factory=dict)
    """Options that keep its headers the same whatever the crf, so that chunks encoded at
    different crfs (``--target-vmaf``) share one init segment and join by stream copy."""
    pix_fmt: str | None = None
    """The pixel format its profile is defined in; None: ffmpeg's nearest to the filters' output."""
    quality: str = ""
    """What sets its quality instead of a crf (said when one is given)."""
    threads_param: tuple[str, str] | None = None
    """(parameter list, key) that sizes its own thread pool, for an encoder that does not
    follow ffmpeg's ``-threads``; None: ``-threads`` is enough."""

    @property
    def segment_format(self) -> str:
        return "mov" if self.codec in MOV_CODECS else "mp4"

    @property
    def browser_playable(self) -> bool:
        return self.codec in BROWSER_CODECS


_X264_HELP = f"one of {', '.join(PRESETS)}"
KNOWN = {
    e.name: e
    for e in (
        Encoder(
            "libx264",
            "h264",
            crf=(0, 51),
            default_crf=23,
            crf_step=0.25,
            presets=_x26x,
            presets_help=_X264_HELP,
            # Else x264 writes the crf's quantiser into the picture parameter set.
            per_chunk_crf={"x264-params": "stitchable=1"},
        ),
        # QuickTime and Safari play HEVC in MP4/MOV only under the hvc1 tag (ffmpeg writes hev1).
        # x265 puts its settings in the init segment, thread counts included, which differ from
        # chunk to chunk: without them, every chunk's init is the same and they join.
        Encoder(
            "libx265",
            "hevc",
            crf=(0, 51),
            default_crf=28,
            crf_step=0.25,
            presets=_x26x,
            presets_help=_X264_HELP,
            fixed={"tag:v": "hvc1", "x265-params": "info=0"},
        ),
        Encoder(
            "libsvtav1",
            "av1",
            crf=(0, 63),
            default_crf=35,
            presets=_numbered("preset", (12, 11, 10, 9, 8, 6, 4, 2, 0), -2, 13),
            presets_help=f"{_X264_HELP}, or -2 to 13",
            # It sizes its pool by the machine's cores whatever -threads says: two workers on
            # two cores then ran four busy threads each, and took 1.23x plain ffmpeg's time.
            threads_param=("svtav1-params", "lp"),
        ),
        Encoder(
            "libaom-av1",
            "av1",
            crf=(0, 63),
            default_crf=32,
            presets=_numbered("cpu-used", (8, 8, 7, 6, 5, 4, 3, 2, 1), 0, 8),
            presets_help=f"{_X264_HELP}, or 0 to 8",
            fixed={"row-mt": "1"},
        ),
        # b:v 0 makes crf a constant quality; without it libvpx treats crf as a cap on a bitrate.
        Encoder(
            "libvpx-vp9",
            "vp9",
            crf=(0, 63),
            default_crf=31,
            presets=_vp9,
            presets_help=f"{_X264_HELP}, or 0 to 8",
            fixed={"b:v": "0", "row-mt": "1"},
        ),
        # ProRes 422 HQ, marked as Apple's so that Final Cut and Resolve take it as their own.
        Encoder(
            "prores_ks",
            "prores",
            fixed={"profile:v": "hq", "vendor": "apl0"},
            pix_fmt="yuv422p10le",
            quality="ProRes quality is set by its profile (HQ; another with encoder args -profile:v 4444)",
        ),
        # Plain DNxHD takes only a few broadcast sizes and bitrates; DNxHR takes any size.
        Encoder(
            "dnxhd",
            "dnxhd",
            fixed={"profile:v": "dnxhr_hq"},
            pix_fmt="yuv422p",
            quality="DNxHR quality is set by its profile (dnxhr_hq; another with encoder args "
            "-profile:v dnxhr_hqx)",
        ),
    )
}


@functools.cache
def _ffmpeg_video_encoders() -> dict[str, str]:
    """Every video encoder of the ffmpeg binary: name -> codec (one ``ffmpeg -encoders`` run)."""
    out = run_ffmpeg(["-encoders"], what="listing ffmpeg's encoders").stdout
    found = {}
    for line in out.splitlines():
        row = re.match(r"\s*V[\w.]{5}\s+(\S+)\s+(.*)$", line)
        if row is not None and row.group(1) != "=":
            codec = re.search(r"\(codec (\S+)\)\s*$", row.group(2))
            found[row.group(1)] = codec.group(1) if codec else row.group(1)
    return found


def resolve(name: str) -> Encoder:
    """The encoder ``name`` (an alias or any video encoder of the ffmpeg binary) stands for.

    The table's encoders are known without asking ffmpeg, so workers pay nothing for them.
    """
    real = ALIASES.get(name, name)
    if real in KNOWN:
        return KNOWN[real]
    codec = _ffmpeg_video_encoders().get(real)
    if codec is None:
        aliases = ", ".join(f"{a} ({n})" for a, n in ALIASES.items())
        raise OptionError("codec", f"{name!r} is no video encoder of this ffmpeg (aliases: {aliases})")
    # An encoder outside the table gets crf and preset as options of those names, if asked.
    return Encoder(
        real,
        codec,
        (0, 63),
        presets=lambda p: {"preset": p},
        presets_help="its own names",
        default_preset=None,
    )


@functools.cache
def pixel_formats(encoder: str) -> tuple[str, ...]:
    """The pixel formats ``encoder`` takes, as its ffmpeg help lists them (empty: it does not
    say, and takes what ffmpeg gives it)."""
    out = run_ffmpeg(["-h", f"encoder={encoder}"], what=f"asking ffmpeg about {encoder}").stdout
    listed = re.search(r"Supported pixel formats:(.*)", out)
    return tuple(listed.group(1).split()) if listed else ()


def check_pix_fmt(codec: str, pix_fmt: str) -> None:
    """:class:`OptionError` if ``codec``'s encoder cannot encode ``pix_fmt``: ffmpeg would pick
    another on its own (with a warning few read), and the output would not be what was asked."""
    enc = resolve(codec)
    takes = pixel_formats(enc.name)
    if takes and pix_fmt not in takes:
        raise OptionError("pix_fmt", f"{pix_fmt!r}: {enc.name} takes {', '.join(takes)}")


#: Options whose value is a ``key=value:key=value`` list for the encoder library.
_PARAM_LISTS = frozenset({"x264-params", "x265-params", "svtav1-params", "aom-params"})
#: Options the job's command sets itself: given as encoder args they would break the chunks.
_RESERVED = {"c:v", "codec:v", "vcodec", "c", "codec", "f", "vf", "filter:v", "r", "map"}


def parse_encoder_args(text: str) -> Options:
    """``-name value`` pairs (shell quoting) as options; ``-name`` is an ffmpeg output option."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise OptionError("encoder_args", f"{text!r}: {exc}") from None
    if len(words) % 2 or not all(w.startswith("-") and len(w) > 1 for w in words[::2]):
        raise OptionError("encoder_args", f"takes -option value pairs (like '-tune grain'), not {text!r}")
    options = {key[1:]: value for key, value in zip(words[::2], words[1::2], strict=True)}
    reserved = sorted(k for k in options if k in _RESERVED)
    if reserved:
        raise OptionError(
            "encoder_args", f"-{reserved[0]} is set by the job itself (the codec, the filters, the container)"
        )
    return options


def encoder_options(
    codec: str,
    crf: float | None = None,
    preset: str | None = None,
    pix_fmt: str | None = None,
    encoder_args: str = "",
    *,
    per_chunk_crf: bool = False,
) -> Options:
    """The ffmpeg output options (``{"c:v": ..., "crf": ...}``) for ``codec`` at ``crf`` and
    ``preset`` (None: the encoder's defaults) in ``pix_fmt``, then the user's ``encoder_args``;
    ``per_chunk_crf``: with what chunks of different crfs need to join."""
    enc = resolve(codec)
    options: Options = {"c:v": enc.name, **enc.fixed}
    if per_chunk_crf:
        _merge(options, enc.per_chunk_crf)
    if enc.presets is None:
        if preset is not None:
            raise OptionError("preset", f"does not go with {enc.name}: {enc.quality}")
    else:
        speed = preset or enc.default_preset
        chosen = enc.presets(speed) if speed is not None else {}
        if chosen is None:
            raise OptionError("preset", f"{speed!r}: {enc.name} takes {enc.presets_help}")
        options.update(chosen)
    if enc.crf is None:
        if crf is not None:
            raise OptionError("crf", f"does not go with {enc.name}: {enc.quality}")
    else:
        low, high = enc.crf
        if crf is not None and not low <= crf <= high:
            raise OptionError("crf", f"{crf:g}: {enc.name} takes {low} to {high}")
        quality = crf if crf is not None else enc.default_crf
        if quality is not None:
            options["crf"] = f"{quality:g}"  # 23, or 27.25 from --target-vmaf
    fmt = pix_fmt or enc.pix_fmt
    if fmt:
        options["pix_fmt"] = fmt
    _merge(options, parse_encoder_args(encoder_args))
    return options


def threaded(options: Mapping[str, str | int], threads: int) -> dict[str, str | int]:
    """``options`` (an encoder's, with its ``c:v``) for an encoder on ``threads`` threads: its
    library's own setting where it has one, ahead of the user's (which still wins)."""
    known = KNOWN.get(str(options.get("c:v", "")))
    if known is None or known.threads_param is None or not threads:
        return dict(options)
    key, name = known.threads_param
    given = options.get(key)
    return {**options, key: f"{name}={threads}" + (f":{given}" if given else "")}


def _merge(options: Options, more: Mapping[str, str]) -> None:
    """Add ``more`` to ``options``; lists of key=value pairs are joined (the later wins where
    both set one): the user's join ours."""
    for key, value in more.items():
        joined = key in _PARAM_LISTS and key in options
        options[key] = f"{options[key]}:{value}" if joined else value
