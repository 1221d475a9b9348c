"""What ``sprocket blend`` can be asked: the modes, fits and durations, validated on input."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from sprocket_cli.errors import OptionError, UsageError

#: ffmpeg ``blend`` filter modes (``ffmpeg -h filter=blend``), the aliases included.
BLEND_MODES: tuple[str, ...] = (
    "addition", "addition128", "and", "average", "bleach", "burn", "darken", "difference",
    "difference128", "divide", "dodge", "exclusion", "extremity", "freeze", "geometric", "glow",
    "grainextract", "grainmerge", "hardlight", "hardmix", "hardoverlay", "harmonic", "heat",
    "interpolate", "lighten", "linearlight", "multiply", "multiply128", "negation", "normal", "or",
    "overlay", "phoenix", "pinlight", "reflect", "screen", "softdifference", "softlight", "stain",
    "subtract", "vividlight", "xor",
)  # fmt: skip
CHROMA = "chroma"
"""Green screen: b's key colour becomes transparent and b is laid over a."""
MODES: tuple[str, ...] = (*BLEND_MODES, CHROMA)
FITS: tuple[str, ...] = ("pad", "crop", "stretch")
DURATIONS: tuple[str, ...] = ("first", "shortest", "longest")
_HEX_COLOR = re.compile(r"(?:0x|#)([0-9a-fA-F]{6})")


@dataclass(frozen=True)
class BlendOptions:
    """What ``sprocket blend`` was asked to do; validated on construction."""

    mode: str = "normal"
    """A :data:`BLEND_MODES` name, or ``chroma`` (green screen)."""
    opacity: float = 1.0
    """0..1: how much of the effect shows; 0 leaves a unchanged, 1 is the full mode (for
    ``normal``: b covers a; for ``chroma``: b's kept pixels are opaque)."""
    key_color: str = "0x00FF00"
    """chroma: the colour of b that lets a show through, ``0xRRGGBB`` or ``#RRGGBB``."""
    similarity: float = 0.3
    """chroma: how far from the key colour still counts as key (0 < s <= 1, ffmpeg chromakey)."""
    blend_edge: float = 0.0
    """chroma: 0..1, soft edge width around the keyed area (0 = hard edge)."""
    fit: str = "pad"
    """How b is brought to a's size: ``pad`` (fit inside, black bars; transparent bars in
    chroma mode), ``crop`` (cover, centre crop) or ``stretch`` (exactly a's size)."""
    offset: float = 0.0
    """Seconds: where b's first frame appears on a's timeline; negative skips into b. Read as
    the decimal the user typed (0.52 is exactly 13/25 s)."""
    duration: str = "first"
    """``first`` (a's length), ``shortest`` or ``longest``: see :func:`output_duration`."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"unknown blend mode {self.mode!r}; valid modes: {', '.join(MODES)}")
        _check_range("opacity", self.opacity, 0.0, 1.0)
        _check_range("similarity", self.similarity, 0.0, 1.0, low_open=True)
        _check_range("blend_edge", self.blend_edge, 0.0, 1.0)
        if not _HEX_COLOR.fullmatch(self.key_color):
            raise OptionError("key_color", f"must look like 0x00FF00 or #00FF00, not {self.key_color!r}")
        if self.fit not in FITS:
            raise OptionError("fit", f"{self.fit!r} is unknown; valid: {', '.join(FITS)}")
        if self.duration not in DURATIONS:
            raise OptionError("duration", f"{self.duration!r} is unknown; valid: {', '.join(DURATIONS)}")
        if not math.isfinite(self.offset):
            raise OptionError("offset", f"must be a number of seconds, not {self.offset}")

    @property
    def offset_exact(self) -> Fraction:
        """The offset in seconds as the exact decimal that was typed (0.52 -> 13/25)."""
        return Fraction(repr(self.offset))

    @property
    def ffmpeg_key_color(self) -> str:
        match = _HEX_COLOR.fullmatch(self.key_color)
        assert match is not None  # checked in __post_init__
        return "0x" + match.group(1).upper()


def _check_range(option: str, value: float, low: float, high: float, *, low_open: bool = False) -> None:
    below = value <= low if low_open else value < low
    if not math.isfinite(value) or below or value > high:
        bracket = "(" if low_open else "["
        raise OptionError(option, f"must be in {bracket}{low:g}, {high:g}], not {value}")
