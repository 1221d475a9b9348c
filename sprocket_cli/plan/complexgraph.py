"""A user's ``-filter_complex`` graph over one or more inputs, as plain ffmpeg reads it.

``[0:v]scale=iw/4:-2[p];[1:v][p]overlay=W-w-16:16``: a label ``[N:v]`` (or ``[N]``,
``[N:v:0]``) reads input N's first video stream, as in ffmpeg; the graph's other labels link
its own filters; one output pad is left open (labelled or not) and becomes the output video.
This module reads that structure, says whether the graph can run in chunks, and writes the
graph each chunk runs, with the inputs' frames coming from wherever the chunk has them.

What splits, for now: graphs of per-frame filters only (the filter model's class), whose
multi-input filters keep their defaults at an input's end (no ``shortest=1``, no
``eof_action=pass``). Such a graph pairs frames by their timestamps alone (ffmpeg's framesync
takes, at each output time, every input's latest frame at or before it), so a chunk that
holds every input's frames around its span gives the whole run's frames in that span. The
rest is refused in one line naming the filter: never a silent difference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sprocket_cli.errors import BadFilterError, UsageError
from sprocket_cli.plan.filtergraph import parse_graph, split_unquoted
from sprocket_cli.plan.filtermodel import classify
from sprocket_cli.plan.filteroptions import filter_help
from sprocket_cli.plan.filtertable import HANDLING, FilterClass
from sprocket_cli.plan.framenumbers import number_frames

#: A label that names an input's stream (ffmpeg: a label no filter outputs is a stream specifier).
_STREAM_LIKE = re.compile(r"\d+(:.*)?")
#: The stream specifiers that mean "input N's first video stream".
_FIRST_VIDEO = re.compile(r"(\d+)(?::[vV](?::0)?)?")
_LABEL = re.compile(r"\s*\[([^\]]*)\]")
#: Options by which a multi-input filter ends early or drops an input at its end. A chunk ends
#: its inputs at its own edges, so such a filter would act there too; the defaults (go on to
#: the longest input, repeat each input's last frame) give the whole run's frames.
_EOF_DEFAULTS = {"shortest": "false", "repeatlast": "true", "eof_action": "repeat"}
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}
#: Label prefixes for the pads this module adds, apart from the user's (which get ``g_``).
_IN, _OUT = "fcin", "fcout"


class GraphRefused(UsageError):
    """A filter graph that cannot give plain ffmpeg's frames in chunks (yet), or that reads
    inputs the job does not have."""


@dataclass(frozen=True)
class Step:
    """One filter as written, with the pad labels around it."""

    inputs: tuple[str, ...]
    body: str
    """The filter and its options (``overlay=W-w-16:16``)."""
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class ComplexGraph:
    """A parsed ``-filter_complex`` graph with exactly one open output."""

    text: str
    """As the user wrote it."""
    chains: tuple[tuple[Step, ...], ...]
    streams: frozenset[str]
    """The labels that read an input (``0:v``, ``1``)."""
    output: str | None
    """The open output's label; None: it is the unlabelled end of a chain."""

    @property
    def reads(self) -> tuple[int, ...]:
        """The inputs the graph reads (0 = the first), in order."""
        return tuple(sorted({_input_of(label) for label in self.streams}))

    def check_inputs(self, count: int) -> None:
        """:class:`GraphRefused` unless the graph reads the first input and only inputs
        ``0 .. count - 1``."""
        have = " and ".join(f"[{i}:v]" for i in range(count))
        for label in sorted(self.streams):
            if _input_of(label) >= count:
                inputs = "is one input" if count == 1 else f"are {count} inputs"
                raise GraphRefused(f"unknown input label [{label}]: there {inputs} ({have})")
        if 0 not in self.reads:
            raise GraphRefused("the graph must read the first input ([0:v]): its keyframes cut the work")

    def check_split(self) -> None:
        """:class:`GraphRefused` naming the first filter that keeps the graph from running in
        chunks: anything but a per-frame filter, or a per-frame one told to act at an input's end."""
        for use in parse_graph(self.text):
            help_ = filter_help(use.name)
            if not help_.exists:
                raise BadFilterError(f"{use.name!r}: this ffmpeg has no such filter")
            finding = classify(use)
            if finding.kind is not FilterClass.FRAME:
                what = HANDLING[finding.kind][0]
                raise GraphRefused(
                    f"{use.text!r} is {finding.kind.value} ({what}): a filter graph runs in chunks "
                    "with per-frame filters only, for now"
                )
        self.check_ends()

    def check_ends(self) -> None:
        """:class:`GraphRefused` naming the first multi-input filter told to act at an
        input's end (``shortest=1``, ``eof_action=pass``): a chunk's inputs end at its edges."""
        for use in parse_graph(self.text):
            help_ = filter_help(use.name)
            if not set(_EOF_DEFAULTS) & set(help_.options):
                continue
            values = help_.resolve(use.positional, use.named)
            for option, default in _EOF_DEFAULTS.items():
                if option in values and not _same(values[option], default):
                    raise GraphRefused(
                        f"{use.text!r}: {option}={values[option]} changes the output where an input "
                        "ends, which chunks cannot reproduce yet; leave it at its default"
                    )

    def renumbered(self, offsets: Mapping[tuple[int, int], int]) -> ComplexGraph:
        """The graph with the frame numbers of each step (chain, position) of ``offsets``
        counting from its offset instead of 0
        (:func:`~sprocket_cli.plan.framenumbers.number_frames`)."""
        chains = tuple(
            tuple(
                replace(step, body=number_frames(step.body, offsets[(c, s)])) if (c, s) in offsets else step
                for s, step in enumerate(chain)
            )
            for c, chain in enumerate(self.chains)
        )
        return replace(self, chains=chains)

    def render(self, sources: Mapping[int, str | None], tail: str = "null", out: str | None = None) -> str:
        """The graph reading input N from ``[sources[N]]`` (None: the graph's unlabelled input,
        as ``-vf`` has it), its open output going through ``tail`` into ``[out]`` (None:
        unlabelled). An input read more than once is split first: a label links one pad only.
        The user's own labels get a prefix, so they cannot meet the ones added here."""
        uses: dict[int, list[str]] = {}
        chains = []
        for chain in self.chains:
            steps = []
            for step in chain:
                inputs = []
                for label in step.inputs:
                    if label in self.streams:
                        pads = uses.setdefault(_input_of(label), [])
                        pads.append(f"{_IN}{_input_of(label)}_{len(pads)}")
                        inputs.append(pads[-1])
                    else:
                        inputs.append(f"g_{label}")
                steps.append(Step(tuple(inputs), step.body, tuple(f"g_{label}" for label in step.outputs)))
            chains.append(steps)
        if self.output is None:  # the last filter of a chain with no label after it
            index = next(i for i, c in enumerate(self.chains) if not c[-1].outputs)
            last = chains[index][-1]
            chains[index][-1] = Step(last.inputs, last.body, (_OUT,))
            opened = _OUT
        else:
            opened = f"g_{self.output}"
        splits = []
        for n, pads in sorted(uses.items()):
            source = sources[n]
            fan = "null" if len(pads) == 1 else f"split={len(pads)}"
            splits.append(("" if source is None else f"[{source}]") + fan + _labels(tuple(pads)))
        end = f"[{opened}]{tail}" + ("" if out is None else f"[{out}]")
        return ";".join([*splits, *(",".join(_written(s) for s in chain) for chain in chains), end])


def parse_complex(text: str) -> ComplexGraph:
    """``text`` read as ``-filter_complex`` reads it; :class:`BadFilterError` if it is not a
    graph with one open output, or a label is neither an input nor linked."""
    parse_graph(text)  # names, quotes and empty filters, checked as for -vf
    chains = tuple(
        tuple(_step(written) for written in split_unquoted(chain, ","))
        for chain in split_unquoted(text, ";")
        if chain.strip()
    )
    defined = [label for chain in chains for step in chain for label in step.outputs]
    for label in defined:
        if defined.count(label) > 1:
            raise BadFilterError(f"label [{label}] is the output of more than one filter")
    streams = set()
    for label in (label for chain in chains for step in chain for label in step.inputs):
        if label in defined:
            continue
        if not _STREAM_LIKE.fullmatch(label):
            raise BadFilterError(f"label [{label}] is read but no filter outputs it")
        if not _FIRST_VIDEO.fullmatch(label):
            raise BadFilterError(
                f"[{label}]: the graph reads each input's video as [N:v]; the audio is the first "
                "input's, as it is"
            )
        streams.add(label)
    consumed = {label for chain in chains for step in chain for label in step.inputs}
    labelled = [label for label in defined if label not in consumed]
    open_outputs = [f"[{label}]" for label in labelled]
    open_outputs += ["an unlabelled output" for chain in chains if not chain[-1].outputs]
    if len(open_outputs) != 1:
        found = ", ".join(open_outputs) or "none"
        raise BadFilterError(f"the graph must leave exactly one output open for the video; it leaves {found}")
    return ComplexGraph(text, chains, frozenset(streams), labelled[0] if labelled else None)


def _step(written: str) -> Step:
    """One filter of a chain: ``[a][b]overlay=10:10[c]`` -> (a, b), overlay=10:10, (c,)."""
    inputs = []
    pos = 0
    while m := _LABEL.match(written, pos):
        inputs.append(m[1])
        pos = m.end()
    rest = written[pos:]
    body = split_unquoted(rest, "[")[0]  # labels after the filter start at its first unquoted [
    trailer = rest[len(body) :]
    outputs = [m[1] for m in _LABEL.finditer(trailer)]
    if _LABEL.sub("", trailer).strip():
        raise BadFilterError(f"unexpected text after the labels of {written.strip()!r}")
    return Step(tuple(inputs), body.strip(), tuple(outputs))


def _written(step: Step) -> str:
    return _labels(step.inputs) + step.body + _labels(step.outputs)


def _labels(labels: tuple[str, ...]) -> str:
    return "".join(f"[{label}]" for label in labels)


def _input_of(label: str) -> int:
    return int(label.partition(":")[0])


def _same(value: str, default: str) -> bool:
    """Whether an option's value is its default, booleans however they are spelled."""
    value, default = value.strip().lower(), default.lower()
    if default in ("true", "false"):
        return (value in _TRUE) == (default == "true") and value in _TRUE | _FALSE
    return value in (default, "0")  # eof_action: repeat is 0
