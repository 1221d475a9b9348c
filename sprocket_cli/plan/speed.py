"""``--speed X``: picture and sound retimed together, as an editor's speed change.

The picture is ``setpts=PTS/X`` (ffmpeg then drops or repeats frames to keep the output's
frame rate); the sound is an ``atempo`` chain, which keeps the pitch. ffmpeg's atempo takes
0.5 to 100 per instance, so slower than half speed is two instances.
"""

from __future__ import annotations

from sprocket_cli.errors import OptionError, UsageError

#: The range an editor's speed change takes (a quarter to four times).
SLOWEST, FASTEST = 0.25, 4.0


def atempo_chain(speed: float) -> str:
    """atempo filters whose product is ``speed``."""
    parts = []
    while speed < 0.5:
        parts.append("atempo=0.5")
        speed /= 0.5
    parts.append(f"atempo={speed!r}")
    return ",".join(parts)


def with_speed(vf: str | None, af: str | None, speed: float | None) -> tuple[str, str | None]:
    """The ``-vf`` and ``-af`` chains that apply ``vf``, ``af`` and then the speed change."""
    if speed is None:
        if vf is None and af is None:
            raise UsageError("give a --vf chain, an --af chain or a --speed")
        return vf or "null", af
    if not SLOWEST <= speed <= FASTEST:
        raise OptionError("speed", f"must be from {SLOWEST} to {FASTEST}, not {speed}")
    video = f"setpts=PTS/{speed!r}"
    return (f"{vf},{video}" if vf else video), (f"{af},{atempo_chain(speed)}" if af else atempo_chain(speed))
