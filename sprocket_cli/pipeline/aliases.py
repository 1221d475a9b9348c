"""The original Sprocket's pipespec names, read as this project's: one table, applied on load.

The original's ``pipespec/*.pipe`` files (excamera/pipeline) have this project's shape (nodes
with ``name``, ``stage``, ``config``, ``delivery_function``; streams of ``"node:port"``) but
their own stage, port and delivery-function names, and some stages that cut the work
differently (``parallelize_link`` cut a URL into chunks: here the job does; one
``C_C_stealwork_transform`` is decode -> filter -> encode here).
:mod:`~sprocket_cli.pipeline.translate` rewrites a spec's raw JSON into this project's terms
before validation, keeping node names and each stream's index in the file so that problems
still point at the right lines. This project's own names (``decode``, ``blend``, ``draw``,
``encode``) keep their meaning.
"""

from __future__ import annotations

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
    renames: Mapping[str, str] = field(default_factory=dict)
    """Config keys the original named otherwise -> this project's (for a renamed stage)."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """This project's config where the original's stage took none (for a renamed stage)."""


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
    # Two frame streams through an ffmpeg filter graph: [0:v] is frames_0, [1:v] frames_1.
    "merge_filter": Alias("filter_complex", renames={"filter_complex": "graph"}),
    # Named by picture_in_picture.pipe, which the original never shipped: read as frames_1 laid
    # over frames_0's top right corner (resize made it a quarter-size inset).
    "overlay": Alias("filter_complex", defaults={"graph": "[0:v][1:v]overlay=W-w-16:16"}),
}

_FACES = "use the built-in face_recognition pipeline (find_faces takes the person in its config)"

#: The original's stages with no meaning here, each with why (one line, after the stage name).
REFUSED: dict[str, str] = {
    "vidstabaggregate": "(joining the chunks' motions) has no stage here: stab_detect's output is joined "
    "when written; give that file to stab_transform's transforms (built-in stabilize_detect, stabilize)",
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

#: The original's delivery functions that gave a stage its frames (or scenes) in playback order.
SERIALIZED = frozenset(
    {
        "serialized_frame_delivery_func",
        "serialized_frame_with_empty_delivery_func",
        "serialzed_frame_with_empty_delivery_func",
        "smart_serialized_frame_delivery_func",
        "serialized_scene_delivery_func",
    }
)
#: This project's stages the original put them on only to regroup frames into an encoder's
#: chunks, or scenes for drawing: chunk by chunk (or scene by scene) is the same here.
_REGROUPED = frozenset({"encode", "draw"})

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


def wants_order(name: str, stage: str) -> bool:
    """Whether delivery ``name`` on this project's ``stage`` asks for its frames in playback
    order on one worker: a stateful stage, which says so itself here (``Stage.SERIALIZED``)."""
    return name in SERIALIZED and stage not in _REGROUPED


def unordered(name: str, stage: str) -> str:
    """Why delivery ``name`` cannot go on ``stage``, which keeps no state (one line)."""
    return (
        f"delivery {name!r} asks for frames in playback order on one worker, which a stage "
        f"declares itself here (SERIALIZED = True), and stage {stage!r} does not: drop the "
        "delivery function, or declare it on your stateful stage"
    )


def delivery(name: str, stage: str) -> str:
    if wants_order(name, stage):
        return "one_to_one"  # the order comes from the stage's SERIALIZED
    return _DELIVERY_FOR.get((name, stage)) or DELIVERY.get(name, name)


def originals() -> dict[str, list[str]]:
    """This project's stage -> the original's stage names read as it (``sprocket pipelines
    --all``); ``""``: the original's that dissolve (``null``, ``parallelize_link``), and
    ``"refused"``: those with no meaning here."""
    found: dict[str, list[str]] = {}
    for name, alias in STAGES.items():
        ours = "decode -> filter -> encode" if alias.chain else alias.stage
        found.setdefault(ours, []).append(name)
    found["refused"] = sorted(REFUSED)
    return found
