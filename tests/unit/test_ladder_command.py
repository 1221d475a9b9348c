"""A task that writes several renditions decodes its chunk once: one ffmpeg input, a split, and an
output per rendition (the ladder's rungs, or a master and its H.264 preview)."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from sprocket_cli.errors import OptionError
from sprocket_cli.media.command import ChunkCommand
from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.media.probe import probe
from sprocket_cli.media.renditions import PREVIEW, check_ladder, parse_ladder
from sprocket_cli.stages.base import StageConfig
from sprocket_cli.stages.decode import Decode
from sprocket_cli.stages.encode import Encode, EncodeConfig
from sprocket_cli.stages.filter import Filter, FilterConfig
from sprocket_cli.tasks import ChunkRef
from tests.conftest import ClipMaker

#: The clip's second second (25 fps, a keyframe each second, 1/12800 s ticks).
CHUNK = ChunkRef(1, 12800, 25600, 12800, 1, 12800, False, 25)


def command(clip: Path, encode: EncodeConfig) -> ChunkCommand:
    """The command a worker builds for the filter pipeline's fused task over :data:`CHUNK`."""
    cmd = ChunkCommand([str(clip)])
    Decode().contribute(StageConfig(), cmd, CHUNK)
    Filter().contribute(FilterConfig(vf="hue=s=0"), cmd, CHUNK)
    Encode().contribute(encode, cmd, CHUNK)
    return cmd


def outputs(args: list[str]) -> list[str]:
    """The files an ffmpeg argument list writes (each output ends with ``-y PATH``)."""
    return [args[i + 1] for i, arg in enumerate(args) if arg == "-y"]


def decoded(path: str) -> tuple[str, int, int, int]:
    """(codec, width, height, frames) of a segment."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.name, stream.codec_context.width, stream.codec_context.height, frames


@pytest.fixture(scope="module")
def clip(make_clip: ClipMaker) -> Path:
    return make_clip(seconds=3, size="320x240", keyint=25)


def test_a_ladder_is_one_decode_split_into_an_encode_per_height(clip: Path, tmp_path: Path) -> None:
    cmd = command(clip, EncodeConfig(ladder=[120, 240, 180]))
    main = str(tmp_path / "out")
    args = cmd.args(main)
    assert args.count("-i") == 1  # one decode
    graph = args[args.index("-filter_complex") + 1]
    assert graph.count("split=3") == 1 and graph.count("hue=s=0") == 1  # filtered once
    assert outputs(args) == [main, f"{main}.h180", f"{main}.h120"]
    run_ffmpeg(args, what="the ladder's task")
    # Tallest first: the task's main output is the top rung; each has the chunk's 25 frames.
    assert [decoded(p) for p in outputs(args)] == [
        ("h264", 320, 240, 25),
        ("h264", 240, 180, 25),
        ("h264", 160, 120, 25),
    ]


def test_a_prores_master_gets_an_h264_preview_from_the_same_decode(clip: Path, tmp_path: Path) -> None:
    cmd = command(clip, EncodeConfig(codec="prores"))
    main = str(tmp_path / "out")
    args = cmd.args(main)
    assert args.count("-i") == 1
    assert outputs(args) == [main, f"{main}.{PREVIEW}"]
    run_ffmpeg(args, what="the preview's task")
    assert decoded(main) == ("prores", 320, 240, 25)
    assert decoded(f"{main}.{PREVIEW}") == ("h264", 320, 240, 25)  # never taller than the source


def test_a_browser_codec_writes_one_output_as_before(clip: Path, tmp_path: Path) -> None:
    main = str(tmp_path / "out")
    args = command(clip, EncodeConfig(codec="x264")).args(main)
    assert "-filter_complex" not in args and args[-2:] == [main, "-y"]  # ffmpeg-python's order


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1080,abc", "takes heights in lines"),
        ("", "at least one height"),
        ("720,481", "481: heights are even"),
    ],
)
def test_a_ladder_that_cannot_be_encoded_is_refused(text: str, problem: str) -> None:
    with pytest.raises(OptionError, match=problem):
        parse_ladder(text)


def test_heights_above_the_source_are_refused(clip: Path) -> None:
    assert parse_ladder("480, 1080,720,720") == [1080, 720, 480]
    source = probe(str(clip))
    check_ladder([240, 120], source)
    with pytest.raises(OptionError, match="480: above the source's 240 lines; a ladder"):
        check_ladder([480, 240], source)


def test_a_ladder_needs_a_streaming_codec_and_one_crf() -> None:
    with pytest.raises(ValueError, match="prores_ks is no streaming codec"):
        EncodeConfig(codec="prores", ladder=[240])
    with pytest.raises(ValueError, match="target_vmaf"):
        EncodeConfig(ladder=[240], target_vmaf=93)
