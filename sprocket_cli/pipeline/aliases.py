"""The original Sprocket's pipespec names, read as this project's: one table, applied on load.

The original's ``pipespec/*.pipe`` files (excamera/pipeline) have this project's shape (nodes
with ``name``, ``stage``, ``config``, ``delivery_function``; streams of ``"node:port"``) but
their own stage, port and delivery-function names, and some stages that cut the work
differently (``parallelize_link`` cut a URL into chunks: here the job does; one
``C_C_stealwork_transform`` is decode -> filter -> encode here). :func:`translate` rewrites a
spec's raw JSON into this project's terms before validation, keeping node names and each
stream's index in the file so that problems still point at the right lines. This project's
own names (``decode``, ``blend``, ``draw``, ``encode``) keep their meaning.
"""

from __future__ import annotations

import itertools
import math
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sprocket_cli.stages.base import port_type

Config = Mapping[str, Any]


class AliasError(Exception):
    """The original's config for a stage cannot be read as this project's (one line)."""


def _fixed(chain: str) -> Callable[[Config], str]:
    return lambda _config: chain


def _chain_key(key: str) -> Callable[[Config], str]:
    """The filter chain in config ``key``; the original's default was ffmpeg's ``null``."""

    def read(config: Config) -> str:
        value = config.get(key, "null")
        if not isinstance(value, str) or not value.strip():
            raise AliasError(f"config {key}: must be an ffmpeg filter chain, not {value!r}")
        return value

    return read


def _time_scale(config: Config) -> str:
    # The original's scale repeated each frame `scale` times (or dropped frames below 1) at
    # the same frame rate: the video plays `scale` times slower. setpts then fps at the
    # source's rate does the same (timing filters: the filter stage runs them on one worker).
    value = config.get("scale", 1)
    try:
        factor = float(value)  # the original read it with float() too
    except (TypeError, ValueError):
        raise AliasError(f"config scale: must be a number, not {value!r}") from None
    if isinstance(value, bool) or not (math.isfinite(factor) and factor > 0):
        raise AliasError(f"config scale: must be a number above 0, not {value!r}")
    return "null" if factor == 1 else f"setpts={factor:g}*PTS,fps=source_fps"


def _resize(config: Config) -> str:
    sizes = [config.get("width", "iw/4"), config.get("height", "-2")]
    for key, value in zip(("width", "height"), sizes, strict=True):
        if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
            raise AliasError(f"config {key}: must be a pixel count or an ffmpeg scale expression")
    return f"scale={sizes[0]}:{sizes[1]}"


#: ffmpeg output arguments by which the original's decoders wrote frames as numbered PNGs:
#: what this project's decode does by itself.
_FRAME_DUMP = {"-f": "image2", "-c:v": "png", "-vcodec": "png"}


def _transform(config: Config) -> str:
    """The ``-vf`` chain in the original's ``transform`` (ffmpeg arguments as one string)."""
    text = config.get("transform", "-vf null")
    if not isinstance(text, str):
        raise AliasError(f"config transform: must be a string of ffmpeg arguments, not {text!r}")
    try:
        args = iter(shlex.split(text))
    except ValueError as exc:
        raise AliasError(f"config transform: {exc}") from None
    chains = []
    for arg in args:
        value = next(args, None)
        if value is None:
            raise AliasError(f"config transform: {arg!r} has no value")
        if arg in ("-vf", "-filter:v"):
            chains.append(value)
        elif arg != "-start_number" and _FRAME_DUMP.get(arg) != value:
            raise AliasError(f"config transform: {arg!r} has no equivalent here (only -vf FILTERS is read)")
    return ",".join(c for c in chains if c != "null")


@dataclass(frozen=True)
class Alias:
    """How one of the original's stages reads here."""

    stage: str = ""
    """This project's stage; empty when the node dissolves (``forwards``) or is ``chain``."""
    vf: Callable[[Config], str] | None = None
    """The filter chain its config stands for (for a decode: one to apply after it)."""
    keys: tuple[str, ...] = ()
    """Config keys the original read; with ``vf`` or ``forwards``, the only ones accepted."""
    ignored: tuple[str, ...] = ()
    """Config keys the original read that change nothing here; dropped."""
    ports: Mapping[str, str] = field(default_factory=dict)
    """Its port names -> this project's, beyond :data:`PORTS`."""
    reads_chunks: bool = False
    """It took decoded frames; this project's stage reads chunks (fed from the decoder's source)."""
    forwards: bool = False
    """It only passed its input on: the node dissolves and its streams join up."""
    chain: bool = False
    """Chunks in, chunks out: it becomes decode -> filter -> encode."""


def _filter(vf: Callable[[Config], str], *keys: str, **more: Any) -> Alias:
    return Alias("filter", vf, keys, **more)


# Chunking a URL: the job chunks every input itself here, so the node dissolves.
_LINK = Alias(forwards=True, keys=("framesperchunk", "chunklimit", "overlap", "filter"))
_STEAL = ("stealwork", "create_straggler")  # work stealing: the coordinator's straggler copies do it here
_GRAY = _fixed("hue=s=0")
_FRAMES = {"frames": "chunks"}

#: The original's stage names (its ``sprocket/stages/*.py`` and the names its pipespecs use).
STAGES: dict[str, Alias] = {
    "decode_from_url": Alias("decode"),
    "decode_from_chunked_link": Alias("decode"),
    "rek_decode": Alias("decode"),
    "C_F_stealwork_decode": Alias("decode", _transform, ("transform",), _STEAL),
    "parallelize_link": _LINK,
    "stream_link": _LINK,
    "null": Alias(forwards=True),  # it forwarded its input: the original timed its own overhead
    "grayscale": _filter(_GRAY),
    "grayscale_flat": _filter(_GRAY),
    "video_filter": _filter(_chain_key("video_filter"), "video_filter"),
    # The same frames on two ports: here one output port feeds any number of streams.
    "duplicate_filter": _filter(
        _chain_key("video_filter"), "video_filter", ports={"frames_0": "frames", "frames_1": "frames"}
    ),
    "scale": _filter(_time_scale, "scale"),
    "pixscale": _filter(_fixed("scale=800:800:flags=neighbor")),  # its ffmpeg -s 800x800 -sws_flags neighbor
    "rotate": _filter(_fixed("transpose=2,transpose=2")),  # 180 degrees, as it ran them
    # Named by the original's picture_in_picture.pipe, which it never shipped: read as a
    # quarter-size inset unless width/height say otherwise.
    "resize": _filter(_resize, "width", "height"),
    "monostage_gs": Alias(vf=_GRAY, chain=True),
    "C_C_stealwork_transform": Alias(vf=_transform, keys=("transform",), ignored=_STEAL, chain=True),
    # framesperchunk sized the frame lists its serialized delivery functions gathered.
    "encode_to_dash": Alias("encode", ignored=("framesperchunk",)),
    "encode_frame_list": Alias("encode", ignored=("framesperchunk",)),
    "scenechange": Alias("scene_change", ports=_FRAMES, reads_chunks=True),
    "vidstabdetect": Alias("stab_detect", ports=_FRAMES, reads_chunks=True),
    "vidstabtransform": Alias("stab_transform"),
}

_FACES = "use the built-in face_recognition pipeline (find_faces takes the person in its config)"

#: The original's stages with no meaning here, each with why (one line, after the stage name).
REFUSED: dict[str, str] = {
    "vidstabaggregate": "(joining the chunks' motions) has no stage here: stab_detect's output is joined "
    "when written; give that file to stab_transform's transforms (built-in stabilize_detect, stabilize)",
    "overlay": "(picture in picture) has no equivalent here: blend lays b over the whole of a "
    "(blend modes, green screen), never as a smaller inset",
    "merge_filter": "(two frame streams through an ffmpeg filter_complex) has no equivalent here: "
    "the only stage taking two videos is blend (blend modes, green screen)",
    "matchFace": f"(indexing the person's photos from input_1:person) has no stage here: {_FACES}",
    "rek": f"(Rekognition, the person coming from matchFace's stream) cannot be mapped: {_FACES}",
    "scene_keep_mod": "(keeping the scenes rek marked) cannot be mapped: use the built-in scene_keep",
    "random_cut": "(a test of the original's frame re-chunking) has no meaning here: chunks are never re-cut",
    "cmd": "(a shell command on the worker) has no meaning here: write a stage plug-in (module:Class)",
    "ddos": "(an HTTP load generator aimed at a test web server) is no video work: no meaning here",
    "rpc_bench": "(the original's RPC round-trip benchmark) is no video work: no meaning here",
    "sopen": "(TCP hole punching between workers) is no video work: no meaning here",
}

#: The original's delivery functions (``sprocket/delivery_function/*``). Its serialized ones
#: regrouped single frames into chunk-sized lists for the encoder; frames travel here as whole
#: chunks already, so one-to-one is the same delivery.
DELIVERY: dict[str, str] = {
    "default_delivery_func": "one_to_one",
    "pair_delivery_func": "pair",
    "anypair_delivery_func": "pair",
    "serialized_frame_delivery_func": "one_to_one",
    "serialized_frame_with_empty_delivery_func": "one_to_one",
    "serialzed_frame_with_empty_delivery_func": "one_to_one",  # its module's spelling
    "smart_serialized_frame_delivery_func": "one_to_one",
    "serialized_scene_delivery_func": "scenes",
}
_DELIVERY_FOR = {("serialized_scene_delivery_func", "draw"): "boxes"}  # draw takes boxes per scene here

#: The original's port names -> this project's (types: a port's name without ``_N``).
PORTS: dict[str, str] = {
    "video_link": "chunks",
    "chunked_link": "chunks",
    "video_url": "chunks",
    "frame": "frames",
    "frame_list": "frames",
    "scene_list": "cuts",
}

#: The original's node and stream keys for its Lambda runtime (function, region, queues):
#: the executor is chosen per run here, so they change nothing.
IGNORED_NODE_KEYS = frozenset({"lambda_function", "event", "region"})
IGNORED_STREAM_KEYS = frozenset({"durable"})


def port(name: str, ports: tuple[str, ...], own: Mapping[str, str]) -> str:
    """``name`` on a node with ``ports``: as given, or this project's name for the original's."""
    if name in ports:
        return name
    ours = own.get(name) or PORTS.get(name, name)
    return ours if ours in ports else name


def end_port(name: str, other: str, other_is_end: bool) -> str:
    """An ``input_N``/``output_N`` port, named after the other end's type where the original's
    name means it (a stream between two endpoints takes this project's names on both)."""
    ours = PORTS.get(name, name)
    return ours if other_is_end or ours == port_type(other) else name


@dataclass(frozen=True)
class NodeProblem:
    """A node that cannot be read here, in place of its JSON: the validator reports it there."""

    name: str
    message: str


@dataclass
class Translation:
    nodes: list[tuple[int, Any]] = field(default_factory=list)
    """(index in the file, node JSON or :class:`NodeProblem`), in the file's order."""
    streams: list[tuple[int, Any]] = field(default_factory=list)
    """(index in the file, stream JSON); streams added for an expanded node come last."""
    ports: dict[str, dict[str, str]] = field(default_factory=dict)
    """Node -> its original stage's own port names -> this project's."""
    origins: dict[str, str] = field(default_factory=dict)
    """Node -> the original's stage name it was written with, for messages."""


def _node_of(end: object) -> str | None:
    return end.partition(":")[0] if isinstance(end, str) and end.count(":") == 1 else None


def delivery(name: str, stage: str) -> str:
    return _DELIVERY_FOR.get((name, stage)) or DELIVERY.get(name, name)


class _Translator:
    def __init__(self, nodes: list[Any]) -> None:
        self.out = Translation()
        self.names = {n["name"] for n in nodes if isinstance(n, dict) and isinstance(n.get("name"), str)}
        self.forwards: dict[str, str] = {}
        """Dissolved node -> its original stage."""
        self.ends: dict[str, tuple[str, str]] = {}
        """Expanded node -> (the part its inputs go to, the part its outputs come from)."""
        self.reads_chunks: set[str] = set()
        self.decodes: set[str] = set()
        self.internal: list[dict[str, str]] = []
        """Streams between the parts of expanded nodes."""

    def node(self, index: int, raw: Any) -> None:
        if not (
            isinstance(raw, dict) and isinstance(raw.get("name"), str) and isinstance(raw.get("stage"), str)
        ):
            self.out.nodes.append((index, raw))  # malformed: the validator says how
            return
        node = {k: v for k, v in raw.items() if k not in IGNORED_NODE_KEYS}
        name, stage = node["name"], node["stage"]
        alias = STAGES.get(stage)
        target = alias.stage if alias else stage
        if isinstance(node.get("delivery_function"), str):
            node["delivery_function"] = delivery(node["delivery_function"], target)
        if stage in REFUSED:
            self.out.nodes.append((index, NodeProblem(name, f"stage {stage!r} {REFUSED[stage]}")))
            return
        if alias is None:
            self.out.nodes.append((index, node))
            if stage == "decode":
                self.decodes.add(name)
            return
        try:
            parts = self.parts(name, stage, alias, node)
        except AliasError as exc:
            self.out.nodes.append((index, NodeProblem(name, f"stage {stage!r}: {exc}")))
            return
        self.out.nodes.extend((index, part) for part in parts)
        self.out.ports[name] = dict(alias.ports)
        self.out.origins[name] = stage
        self.decodes.update(p["name"] for p in parts if p["stage"] == "decode")
        if alias.reads_chunks:
            self.reads_chunks.add(name)

    def parts(self, name: str, stage: str, alias: Alias, node: dict[str, Any]) -> list[dict[str, Any]]:
        """The nodes of this project that ``node`` (the original's ``stage``) becomes."""
        config = node.get("config", {})
        if not isinstance(config, dict):
            raise AliasError('"config" must be an object')
        unknown = sorted(set(config) - {*alias.keys, *alias.ignored})
        if unknown and (alias.vf is not None or alias.forwards):
            read = ", ".join(alias.keys) or "no config keys"
            raise AliasError(f"unknown config key {unknown[0]!r} (the original's {stage} read {read})")
        if alias.forwards:
            self.forwards[name] = stage
            return []
        if alias.vf is None:  # a rename: the rest of the config is this project's stage's own
            kept = {k: v for k, v in config.items() if k not in alias.ignored}
            return [{**node, "stage": alias.stage, "config": kept}]
        vf = alias.vf(config)
        if alias.stage == "filter":
            return [{**node, "stage": "filter", "config": {"vf": vf}}]
        if not alias.chain:  # a decoder whose ffmpeg arguments also filtered: decode -> filter
            then = [{"name": f"{name}_filter", "stage": "filter", "config": {"vf": vf}}] if vf else []
            return self.join(name, [{**node, "stage": alias.stage, "config": {}}, *then])
        # Chunks in and out: decode -> filter -> encode; the filter keeps the name, for --set.
        first = {"name": f"{name}_decode", "stage": "decode"}
        if "delivery_function" in node:
            first["delivery_function"] = node.pop("delivery_function")
        middle = {**node, "stage": "filter", "config": {"vf": vf or "null"}}
        return self.join(name, [first, middle, {"name": f"{name}_encode", "stage": "encode"}])

    def join(self, name: str, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Name the parts of an expanded node and join them with streams of frames."""
        if len(parts) == 1:
            return parts
        taken = [p["name"] for p in parts if p["name"] != name and p["name"] in self.names]
        if taken:
            raise AliasError(f"it becomes {len(parts)} nodes, but a node is already called {taken[0]!r}")
        named = next(p for p in parts if p["name"] == name)
        fuse = {"fuse": named["fuse"]} if "fuse" in named else {}  # "fuse": false splits them all
        parts = [{**p, **fuse} for p in parts]
        self.ends[name] = (parts[0]["name"], parts[-1]["name"])
        for a, b in itertools.pairwise(parts):
            self.internal.append({"src": f"{a['name']}:frames", "dst": f"{b['name']}:frames"})
        return parts

    def streams(self, raw_streams: list[Any]) -> None:
        fed_by: dict[str, object] = {}
        """Node -> the source end of the first stream into it (what a dissolved node forwards)."""
        for raw in raw_streams:
            if isinstance(raw, dict):
                fed_by.setdefault(_node_of(raw.get("dst")) or "", raw.get("src"))
        for index, raw in enumerate(raw_streams):
            if not isinstance(raw, dict):
                self.out.streams.append((index, raw))
                continue
            stream = {k: v for k, v in raw.items() if k not in IGNORED_STREAM_KEYS}
            if _node_of(stream.get("dst")) in self.forwards:
                continue  # the dissolved node's input: joined to its outputs below
            src = self.upstream(stream.get("src"), fed_by)
            if src is None:
                continue  # a dissolved node nothing feeds: what it fed is reported unconnected
            stream["src"] = self.end(src, 1)
            stream["dst"] = self.end(stream.get("dst"), 0)
            if _node_of(stream["dst"]) in self.reads_chunks and _node_of(src) in self.decodes:
                # The original's stage took decoded frames; this project's reads the chunks the
                # decoder was given, so it is fed from the decoder's source.
                stream["src"] = self.upstream(fed_by.get(_node_of(src) or ""), fed_by) or src
            self.out.streams.append((index, stream))
        self.out.streams.extend((len(raw_streams) + i, s) for i, s in enumerate(self.internal))

    def upstream(self, end: object, fed_by: Mapping[str, object]) -> object:
        """``end``, or what feeds it if it is a dissolved node's (repeatedly); None: nothing."""
        seen: set[str] = set()
        while (node := _node_of(end)) in self.forwards and node is not None and node not in seen:
            seen.add(node)
            end = fed_by.get(node)
        return None if _node_of(end) in seen else end

    def end(self, end: object, side: int) -> object:
        """An expanded node's end as the part that takes its inputs (0) or gives its outputs (1)."""
        node = _node_of(end)
        if node is None or node not in self.ends:
            return end
        return f"{self.ends[node][side]}:{str(end).partition(':')[2]}"

    def idle(self) -> NodeProblem | None:
        """If every node dissolved, nothing is left to run: name one (a ``null`` first)."""
        if not self.forwards or self.out.nodes:
            return None
        name = next((n for n, s in self.forwards.items() if s == "null"), next(iter(self.forwards)))
        stage = self.forwards[name]
        return NodeProblem(name, f"stage {stage!r} only passes its input on, and no node here does any work")


def translate(nodes: list[Any], streams: list[Any]) -> Translation:
    """The spec's ``nodes`` and ``streams`` in this project's terms (unchanged if they use them)."""
    t = _Translator(nodes)
    for index, raw in enumerate(nodes):
        t.node(index, raw)
    idle = t.idle()
    if idle is not None:
        t.out.nodes.append((0, idle))
    t.streams(streams)
    return t.out
