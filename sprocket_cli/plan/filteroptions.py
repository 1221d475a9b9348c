"""What ffmpeg itself says about a filter (``ffmpeg -h filter=NAME``): its options in order.

ffmpeg gives positional values (``tmix=9``, ``fade=in:0:30``) to the filter's options in the
order it declares them, skipping aliases (``s`` for ``size``), so reading a window length or a
frame-numbered fade needs that order. The answer comes from the binary that will run the job,
so it is right for whatever version the user has.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from sprocket_cli.media.ffmpeg import ffmpeg_exe

_OPTION = re.compile(r"^   (\S+)\s+<(\w+)>\s+\S+\s+(.*?)\s*(?:\(default (.*)\))?$")


@dataclass(frozen=True)
class FilterHelp:
    exists: bool
    """False when this ffmpeg has no such filter."""
    options: tuple[str, ...] = ()
    """Option names in declaration order, aliases left out."""
    aliases: tuple[tuple[str, str], ...] = ()
    """alias -> the option it names."""
    defaults: tuple[tuple[str, str], ...] = ()
    """option -> its default, as ffmpeg prints it."""
    timeline: bool = False
    """The filter takes ``enable=``."""

    def resolve(self, positional: tuple[str, ...], named: tuple[tuple[str, str], ...]) -> dict[str, str]:
        """Every option's value as the filter will see it: defaults, then positional, then named."""
        values = dict(self.defaults)
        values.update(zip(self.options, positional, strict=False))
        alias = dict(self.aliases)
        for key, value in named:
            values[alias.get(key, key)] = value
        return values


@functools.cache
def filter_help(name: str) -> FilterHelp:
    """``ffmpeg -h filter=name``, read once per process."""
    import subprocess

    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-h", f"filter={name}"], capture_output=True, text=True, check=False
    )
    return parse_help(proc.stdout)


def parse_help(text: str) -> FilterHelp:
    if not text.startswith("Filter "):
        return FilterHelp(exists=False)
    options: list[str] = []
    aliases: list[tuple[str, str]] = []
    defaults: list[tuple[str, str]] = []
    last: tuple[str, str] | None = None  # (type, description) of the last option
    for line in text.splitlines():
        m = _OPTION.match(line)
        if m is None:
            continue
        name, kind, description, default = m.groups()
        if options and last == (kind, description):
            aliases.append((name, options[-1]))
            continue
        options.append(name)
        last = (kind, description)
        if default is not None:
            defaults.append((name, default.strip('"')))
    return FilterHelp(
        exists=True,
        options=tuple(options),
        aliases=tuple(aliases),
        defaults=tuple(defaults),
        timeline="support for timeline" in text,
    )
