"""Read an ffmpeg filter graph string (``-vf``/``-af``) into the filters it uses and their options.

This follows ffmpeg's own two levels of quoting (libavfilter/graphparser.c and
libavutil/opt.c): the graph level splits chains on ``;`` and filters on ``,``, honouring
``'...'`` and ``\\``; each filter's argument string then splits on ``:`` into ``key=value`` or
positional values, again honouring quotes and escapes. Nothing is evaluated: the model only
needs to know which filters run and what each option says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sprocket_cli.errors import BadFilterError

_LABEL = re.compile(r"\s*\[[^\]]*\]\s*")
_NAME = re.compile(r"[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?")


@dataclass(frozen=True)
class FilterUse:
    """One filter in a graph, as written."""

    name: str
    """The filter's name, without an ``@instance`` suffix."""
    positional: tuple[str, ...]
    """Values given without a key, in order (``fade=in:0:30`` -> ``in``, ``0``, ``30``)."""
    named: tuple[tuple[str, str], ...]
    """``key=value`` options, unquoted, in order."""
    text: str
    """The filter as written, for messages."""


def split_unquoted(text: str, seps: str) -> list[str]:
    """``text`` cut at top-level ``seps``, keeping quotes and escapes for the next level."""
    parts, current, quoted, i = [], [], False, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if c == "'":
            quoted = not quoted
        elif c in seps and not quoted:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(c)
        i += 1
    if quoted:
        raise BadFilterError(f"unterminated quote in filter graph {text!r}")
    parts.append("".join(current))
    return parts


def _unquote(text: str) -> str:
    """One level of ffmpeg quoting removed: ``'a:b'`` -> ``a:b``, ``a\\,b`` -> ``a,b``."""
    out, quoted, i = [], False, 0
    while i < len(text):
        c = text[i]
        if c == "'":
            quoted = not quoted
        elif c == "\\" and not quoted and i + 1 < len(text):
            out.append(text[i + 1])
            i += 1
        else:
            out.append(c)
        i += 1
    return "".join(out).strip()


def parse_graph(graph: str) -> list[FilterUse]:
    """Every filter of ``graph`` in the order written; :class:`BadFilterError` if it is not one."""
    uses = []
    for chain in split_unquoted(graph, ";"):
        for written in split_unquoted(chain, ","):
            body = _LABEL.sub("", written).strip()  # pad labels: [in]scale=...[out]
            if not body:
                if chain.strip():
                    raise BadFilterError(f"empty filter in {graph!r}")
                continue
            head, _, args = body.partition("=")
            name = head.strip()
            if not _NAME.fullmatch(name):
                raise BadFilterError(f"{name!r} is not a filter name (in {graph!r})")
            uses.append(_use(name.partition("@")[0], args, body))
    if not uses:
        raise BadFilterError("the filter graph is empty")
    return uses


def arguments(text: str) -> list[str]:
    """A filter's written options (``fade=in:0:30:c='red'`` -> ``in``, ``0``, ``30``,
    ``c='red'``), each as written, quotes kept: for rewriting some and keeping the others."""
    args = text.partition("=")[2]
    return split_unquoted(args, ":") if args else []


def _use(name: str, args: str, text: str) -> FilterUse:
    positional: list[str] = []
    named: list[tuple[str, str]] = []
    for part in split_unquoted(args, ":") if args else []:
        key, eq, value = part.partition("=")
        if eq and re.fullmatch(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*", key):
            named.append((key.strip(), _unquote(value)))
        else:
            positional.append(_unquote(part))
    return FilterUse(name, tuple(positional), tuple(named), text.strip())
