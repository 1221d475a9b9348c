"""A chain that opens with a cut (``trim=start=3:end=7,setpts=PTS-STARTPTS``) splits into chunks.

ffmpeg's trim keeps the frames from its start to its end and drops the rest; the setpts after
it restarts the kept frames' times at zero. That is a chunk plan over the kept frames whose
output timeline starts at the first of them, so the planner works out which frames trim keeps
(:meth:`Cut.keeps`, by trim's own rules over the probed timestamps) and the chunks run the
rest of the chain. A bare trim (no restart) keeps ffmpeg's times from the source's zero, and
frame-numbered filters after the cut count kept frames: those still run on one worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from sprocket_cli.plan.filtergraph import FilterUse, parse_graph

_RESTART = re.compile(r"^\s*PTS\s*-\s*STARTPTS\s*$")
#: ffmpeg's duration syntax (libavutil/parseutils.c av_parse_time): [-][[HH:]MM:]SS[.frac]
#: or a number of seconds with an optional ms/us suffix.
_CLOCK = re.compile(r"^(-)?(?:(?:(\d+):)?(\d+):)?(\d+)(?:\.(\d*))?$")
_SUFFIXED = re.compile(r"^(-)?(\d+)(?:\.(\d*))?(s|ms|us)$")
#: trim's "not set" defaults, as ``ffmpeg -h filter=trim`` prints them.
_UNSET = {"INT64_MAX", "I64_MIN", "I64_MAX", "-1"}
#: AV_NOPTS_VALUE: trim's start_pts/end_pts when not given.
_NOPTS = -(2**63)


def restarts(use: FilterUse) -> bool:
    """Whether ``use`` is ``setpts=PTS-STARTPTS``: the kept frames' times from zero."""
    expr = dict(use.named).get("expr", use.positional[0] if use.positional else "")
    return use.name == "setpts" and _RESTART.match(expr) is not None


def restart_at(vf: str, origin_pts: int) -> str:
    """``vf`` (a chain whose cut the chunk plan made) with its restart counting from the cut's
    first frame, ``origin_pts`` in the stream's ticks, rather than from the chunk's first
    frame: every chunk's frames then carry the times plain ffmpeg gives them."""
    out = vf
    for use in parse_graph(vf):
        if restarts(use):
            out = out.replace(use.text, f"setpts=PTS-{origin_pts}", 1)
    return out


def microseconds(text: str) -> int:
    """An ffmpeg duration in microseconds, as av_parse_time reads it (digits past the sixth
    decimal are ignored); ValueError for anything else."""
    text = text.strip()
    m = _SUFFIXED.match(text)
    if m is not None:
        sign, whole, frac, unit = m.groups()
        scale = {"s": 1_000_000, "ms": 1_000, "us": 1}[unit]
        value = int(whole) * scale + int(((frac or "") + "000000")[:6]) * scale // 1_000_000
        return -value if sign else value
    m = _CLOCK.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not a duration")
    sign, hours, minutes, seconds, frac = m.groups()
    value = ((int(hours or 0) * 60 + int(minutes or 0)) * 60 + int(seconds)) * 1_000_000
    value += int(((frac or "") + "000000")[:6])
    return -value if sign else value


def rescale(us: int, time_base: Fraction) -> int:
    """``us`` microseconds in ``time_base`` ticks, rounded half away from zero (av_rescale_q)."""
    ticks = Fraction(us, 1_000_000) / time_base
    whole = int(abs(ticks) + Fraction(1, 2))
    return whole if ticks >= 0 else -whole


@dataclass(frozen=True)
class Cut:
    """A trim, and its options as the filter resolves them."""

    text: str
    options: tuple[tuple[str, str], ...]

    def _given(self, key: str) -> str | None:
        value = dict(self.options).get(key)
        return None if value is None or value in _UNSET else value

    def keeps(self, frame_pts: tuple[int, ...], time_base: Fraction) -> tuple[int, int]:
        """(first, stop): trim passes frames ``first`` to ``stop - 1`` of a stream with these
        timestamps, by vf_trim's rules (start by frame or time, whichever passes first; end
        by frame, time or duration, whichever holds longest)."""
        start_frame = int(self._given("start_frame") or -1)
        end_frame = self._given("end_frame")
        start_pts = self._pts("start", "start_pts", time_base, earlier=True)
        end_pts = self._pts("end", "end_pts", time_base, earlier=False)
        duration = rescale(microseconds(self._given("duration") or "0"), time_base)
        unbounded = start_frame < 0 and start_pts == _NOPTS
        first: int | None = None
        for i, pts in enumerate(frame_pts):
            if first is None:
                if not (
                    unbounded
                    or (start_frame >= 0 and i >= start_frame)
                    or (start_pts != _NOPTS and pts >= start_pts)
                ):
                    continue
                first = i
            if end_frame is None and end_pts == _NOPTS and not duration:
                continue
            if (
                (end_frame is not None and i < int(end_frame))
                or (end_pts != _NOPTS and pts < end_pts)
                or (duration and pts - frame_pts[first] < duration)
            ):
                continue
            return first, i
        return (len(frame_pts) if first is None else first), len(frame_pts)

    def _pts(self, time_key: str, pts_key: str, time_base: Fraction, *, earlier: bool) -> int:
        """trim's start (end) pts: the ``earlier`` (else later) of the time and the pts given."""
        given = self._given(pts_key)
        pts = int(given) if given is not None else _NOPTS
        seconds = self._given(time_key)
        if seconds is None:
            return pts
        from_time = rescale(microseconds(seconds), time_base)
        if pts == _NOPTS:
            return from_time
        # vf_trim: start_pts = min(start, start_pts), end_pts = max(end, end_pts).
        return min(pts, from_time) if earlier else max(pts, from_time)
