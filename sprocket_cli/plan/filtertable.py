"""The reviewed table: how each ffmpeg video filter relates one output frame to its input.

Reviewed by hand against ffmpeg's documentation and sources, then checked where it matters by
tests and ``bench/filter_fidelity.py`` (chunked against the whole file, lossless, bit-exact). A
filter missing here is treated as needing the whole stream: never guessed to be per-frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from enum import Enum


class FilterClass(Enum):
    FRAME = "per-frame"
    """Each output frame depends only on its own input frame and its timestamp (expressions in
    ``t`` or ``pts`` see whole-file times on every worker)."""
    WINDOW = "windowed"
    """Also needs a few neighbouring frames: each chunk decodes them and drops them."""
    RATE = "rate"
    """Resamples the frame rate on a fixed time grid (``fps``): exact in parallel, since every
    worker sees whole-file timestamps and drops what falls past its chunk's end."""
    RETIME = "retime"
    """Stretches time by a constant (``setpts=2*PTS``): each chunk's frames land at that
    multiple of their own times, so the chunk is placed there."""
    PAD = "end padding"
    """Adds frames after the last (``tpad=stop=N``): every chunk but the last drops its own."""
    TIMING = "timing"
    """Changes which frames exist or when they are shown, depending on earlier frames."""
    FRAME_NUMBER = "frame-number"
    """Reads frame numbers (``n``), which restart at each chunk."""
    STATE = "unbounded state"
    """Carries state from every earlier frame (recursive filters, random number streams)."""
    WHOLE = "whole-stream"
    """Needs the whole stream before it can give its first frame, or reorders it."""
    UNKNOWN = "unclassified"
    """Not in this table yet: run as whole-stream until it is reviewed."""


#: What each class means and what sprocket does with it, for ``sprocket filters`` and the docs.
HANDLING: Mapping[FilterClass, tuple[str, str]] = {
    FilterClass.FRAME: ("each output frame from its own input frame and time", "split as it is"),
    FilterClass.WINDOW: (
        "also reads a few neighbouring frames",
        "split; each chunk decodes the neighbours it needs and drops them",
    ),
    FilterClass.RATE: (
        "resamples the rate on a fixed time grid",
        "split; framerate and minterpolate with a few frames either side",
    ),
    FilterClass.RETIME: (
        "scales time by a constant (setpts=k*PTS, k >= 0.25)",
        "split; off the frame-rate grid, each chunk decodes the frames ffmpeg's drop rule reads",
    ),
    FilterClass.PAD: ("adds frames after the last (tpad's stop)", "split"),
    FilterClass.TIMING: (
        "decides which frames exist or when, from earlier ones",
        "one worker; a trim opening the chain with setpts=PTS-STARTPTS after it splits over "
        "the frames it keeps",
    ),
    FilterClass.FRAME_NUMBER: (
        "counts frames (n, %{n}, frame-numbered fades)",
        "split where each chunk can count from its first frame (fades: with their length as "
        "pre-roll); else one worker",
    ),
    FilterClass.STATE: ("carries state from every earlier frame", "one worker"),
    FilterClass.WHOLE: ("needs the whole stream, or reorders it", "one worker"),
    FilterClass.UNKNOWN: ("not reviewed yet", "one worker"),
}

#: (frames before, frames after) a windowed filter reads, from its resolved options.
Window = Callable[[Mapping[str, str]], tuple[int, int]]


def _int(values: Mapping[str, str], key: str) -> int:
    return int(float(values[key]))


def _radius(key: str) -> Window:
    return lambda v: (_int(v, key), _int(v, key))


def _names(text: str) -> frozenset[str]:
    """Filter names from a block of text (a table reads better as words than as a list)."""
    return frozenset(text.split())


#: Filters whose output frame is a function of its input frame (and its time) alone.
PER_FRAME = _names(
    """
    addroi alphaextract alphamerge avgblur backgroundkey bilateral blend bm3d boxblur cas curves
    chromahold chromakey chromanr chromashift ciescope colorbalance colorchannelmixer colorcontrast
    colorcorrect colorhold colorize colorkey colorlevels colormap colormatrix colorspace
    colortemperature convolution convolve copy corr cover_rect crop dblur dctdnoiz deband
    deblock deconvolve deflate delogo despill dilation displace drawbox drawgrid drawtext
    edgedetect epx eq erosion exposure extractplanes fade fftfilt field fieldorder fillborders
    floodfill format gblur geq gradfun grayworld greyedge guided haldclut hflip histeq histogram
    hqx hstack hsvhold hsvkey hue huesaturation identity il inflate kerndeint kirsch
    lenscorrection limitdiff limiter lumakey lut lut1d lut2 lut3d lutrgb lutyuv maskedclamp
    maskedmax maskedmerge maskedmin maskedthreshold maskfun median mergeplanes midequalizer
    monochrome morpho msad multiply negate nlmeans noformat normalize null oscilloscope overlay
    noise owdenoise pad paletteuse perspective pixelize pixscope pp7 premultiply prewitt
    pseudocolor psnr remap removegrain removelogo rgbashift roberts rotate sab scale scale2ref
    scharr selectivecolor setdar setfield setparams setrange setsar shear showinfo shufflepixels
    shuffleplanes sidedata signalstats smartblur sobel split spp ssim stereo3d subtitles ass
    super2xsai swaprect swapuv threshold tonemap transpose unpremultiply unsharp uspp v360
    vaguedenoiser varblur vectorscope vflip vibrance vstack waveform xbr xmedian xstack
    yaepblur zscale datascope fsync bbox blurdetect blockdetect entropy siti colordetect
    """
)

#: Filters that read neighbouring frames, and how many, from their options. Checked by
#: measurement: the smallest pre- and post-roll that makes a chunk bit-exact.
WINDOWED: Mapping[str, Window] = {
    "tmix": lambda v: (_int(v, "frames") - 1, 0),
    "tblend": lambda v: (1, 0),
    "deflicker": lambda v: (0, _int(v, "size") - 1),  # looks forward only
    "atadenoise": lambda v: (_int(v, "s") // 2, _int(v, "s") // 2),
    "tmidequalizer": _radius("radius"),
    # Each frame is built from itself and the 2r after it (and labelled with its own time).
    "tmedian": lambda v: (0, 2 * _int(v, "radius")),
    "fftdnoiz": lambda v: (_int(v, "prev"), _int(v, "next")),
    "dedot": lambda v: (2, 2),
    "scdet": lambda v: (1, 0),
    "lagfun": lambda v: (_fade_out(float(v["decay"])), 0),
}

#: The most frames a chunk decodes before or after its own for a window: a filter reading
#: further runs on one worker (decoding more than that twice costs more than it saves).
LONGEST_WINDOW = 600


def _fade_out(decay: float) -> int:
    """Frames after which lagfun's state from before them no longer shows.

    lagfun keeps max(frame, previous x decay) in floats and writes it truncated to integers:
    a start value (at most 2^16 - 1, the deepest integer format) decayed k times falls below
    1 and truncates away. A chunk starting k frames early then writes ffmpeg's values exactly.
    """
    if decay <= 0:
        return 0
    if decay >= 1:
        return LONGEST_WINDOW + 1  # never fades
    return math.ceil(math.log(2**16 - 1) / -math.log(decay)) + 1


#: Filters that are per-frame unless their options ask for a random stream that continues from
#: frame to frame (a chunk would restart it): why, when they do.
RANDOM_STATE: Mapping[str, str] = {
    "noise": "temporal noise (allf=t) continues its random stream from frame to frame",
    "vignette": "its dither continues a random stream from frame to frame (dither=0 splits)",
}

#: Windowed filters that give no frame for the first frames of the stream (they have no
#: neighbour to read yet): the output starts that many frames later, as ffmpeg's does.
DROPS_LEADING: Mapping[str, int] = {"tblend": 1}

#: Rate filters whose grid counts from the first frame they are given: (frames before, frames
#: after) a chunk decodes for them. Measured: framerate blends the two frames around each slot
#: (its scene detection reads the pair before); minterpolate's motion search reads further.
ANCHORED_RATES: Mapping[str, tuple[int, int]] = {"framerate": (2, 2), "minterpolate": (8, 3)}

#: Filters that decide which frames exist, or when, from what came before.
TIMING = _names(
    """
    setpts settb select trim tpad framestep decimate mpdecimate
    interlace tinterlace telecine detelecine pullup fieldmatch separatefields weave
    doubleweave repeatfields tile untile freezeframes dejudder fieldhint interleave
    """
)

#: Why a filter needs the whole stream (or state from every earlier frame).
WHOLE_STREAM: Mapping[str, str] = {
    "reverse": "it outputs the frames in reverse order",
    "loop": "it repeats frames it has to keep from earlier in the stream",
    "palettegen": "it makes one palette from every frame",
    "thumbnail": "it picks one frame per batch counted from the start",
    "shuffleframes": "it reorders frames",
    "vidstabdetect": "it analyses the whole stream (use `sprocket stabilize`)",
    "vidstabtransform": "it reads the whole stream's transforms file",
    "deshake": "it tracks motion from the start of the stream",
    "feedback": "it loops frames back through another graph",
    "graphmonitor": "it draws the filter graph's state over time",
    "drawgraph": "it draws metadata over time",
    "segment": "it splits the stream by frame count",
    "cue": "it waits for wall-clock times",
    "realtime": "it paces by wall-clock time",
    "random": "it shuffles frames with a random number stream",
    "xfade": "it joins two streams at a time",
    "mix": "it mixes several streams frame by frame from their starts",
    "signature": "it fingerprints the whole stream",
    "vfrdet": "it measures the whole stream's frame rate",
    "idet": "it accumulates statistics over the stream",
    "cropdetect": "it accumulates the crop over the stream",
    "blackdetect": "it times black intervals across frames",
    "blackframe": "it counts frames from the start",
    "mestimate": "it estimates motion from frame to frame",
    "mcdeint": "it follows motion from frame to frame",
    "zoompan": "it counts frames and carries zoom state from the start",
    "scroll": "its position accumulates from the first frame",
    "hqdn3d": "its temporal part is recursive: each frame depends on every earlier one",
    "amplify": "it labels each frame with the oldest timestamp of its window",
    "photosensitivity": "it blends each frame with its own previous output",
    "freezedetect": "it times frozen intervals across frames",
    "elbg": "its random number stream continues from frame to frame",
}

#: Deinterlacers read one frame either side, whether they send a frame per frame or per field
#: (the fields' frames keep times inside their source frame's, so chunks still join).
DEINTERLACERS = frozenset({"yadif", "bwdif", "w3fdif", "estdif", "nnedi"})


def class_members() -> dict[FilterClass, list[str]]:
    """Every reviewed filter by class, for ``sprocket filters`` and the docs (the state class
    lists the filters whose options can ask for a random stream)."""
    return {
        FilterClass.FRAME: sorted(PER_FRAME),
        FilterClass.WINDOW: sorted({*WINDOWED, *DEINTERLACERS}),
        FilterClass.RATE: sorted({"fps", *ANCHORED_RATES}),
        FilterClass.RETIME: ["setpts"],
        FilterClass.PAD: ["tpad"],
        FilterClass.TIMING: sorted(TIMING),
        FilterClass.STATE: sorted(RANDOM_STATE),
        FilterClass.WHOLE: sorted(WHOLE_STREAM),
    }
