"""encode: frames -> a segment that starts on a keyframe, in any ffmpeg video encoder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sprocket_cli.errors import OptionError
from sprocket_cli.media.codecs import encoder_options, resolve
from sprocket_cli.media.renditions import check_heights, check_ladder, ladder_renditions, preview, scale_to
from sprocket_cli.media.targetq import TARGET_RANGE, Target
from sprocket_cli.stages.base import Binding, Stage, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
    from sprocket_cli.media.probe import MediaInfo
    from sprocket_cli.pipeline.pipespec import Pipespec
    from sprocket_cli.tasks import ChunkRef


class EncodeConfig(StageConfig):
    codec: str = "libx264"
    """An ffmpeg video encoder, or an alias: x264, x265, av1 (libsvtav1), vp9 (libvpx-vp9),
    prores (prores_ks, 422 HQ), dnxhr (dnxhd, DNxHR HQ)."""
    crf: int | None = None
    """Constant quality: lower is better and larger (the encoder's own scale); None: its default.
    ProRes and DNxHR have none."""
    preset: str | None = None
    """Speed: ultrafast ... veryslow, mapped to each encoder's own (SVT-AV1 and libvpx also take
    their numbers); None: veryfast (an encoder sprocket does not know: its own default)."""
    pix_fmt: str | None = None
    """The encoded pixel format; None: the profile's (ProRes 422 HQ: yuv422p10le) or the one
    nearest the filters' output."""
    encoder_args: str = ""
    """More ffmpeg output options, ``-name value`` pairs (``-tune grain -x265-params aq-mode=3``)."""
    target_vmaf: float | None = None
    """Per-chunk constant quality: each chunk is encoded at the highest crf whose VMAF against
    the filtered frames reaches this (50 to 100), found by probe encodes; None: one crf for all."""
    ladder: list[int] = Field(default_factory=list)
    """Heights (lines) of an adaptive stream's renditions, each encoded from the same decode,
    widths keeping the aspect ratio; empty: one rendition at the chain's size. No height may
    be above the source's."""

    @field_validator("ladder")
    @classmethod
    def _rungs(cls, heights: list[int]) -> list[int]:
        """Tallest first, once each, even."""
        if not heights:
            return heights
        try:
            return check_heights(heights)
        except OptionError as exc:
            raise ValueError(exc.problem) from None

    @field_validator("codec")
    @classmethod
    def _known(cls, codec: str) -> str:
        """The encoder's own name, so the job's record says what ran."""
        try:
            return resolve(codec).name
        except OptionError as exc:
            raise ValueError(exc.problem) from None

    @field_validator("crf", "preset", "pix_fmt", "encoder_args")
    @classmethod
    def _fits(cls, value: object, info: ValidationInfo) -> object:
        """Each option checked against the encoder (crf's range, preset's names, args' form)."""
        if "codec" not in info.data:
            return value  # the codec was refused: that is the problem to report
        option: dict[str, Any] = {str(info.field_name): value}
        try:
            encoder_options(info.data["codec"], **option)
        except OptionError as exc:
            raise ValueError(exc.problem) from None
        return value

    @model_validator(mode="after")
    def _one_quality(self) -> EncodeConfig:
        """A target sets each chunk's crf: a crf as well would be ignored, so it is refused."""
        try:
            if self.target_vmaf is not None:
                check_target(self.codec, self.target_vmaf, self.crf)
            if self.ladder:
                check_ladder_codec(self.codec, self.target_vmaf)
        except OptionError as exc:
            raise ValueError(str(exc)) from None
        return self

    def target(self) -> Target | None:
        """The target quality search this config asks of each chunk; None: a fixed crf."""
        if self.target_vmaf is None:
            return None
        enc = resolve(self.codec)
        assert enc.crf is not None  # checked by _one_quality
        return Target(
            vmaf=self.target_vmaf,
            low=enc.crf[0],
            high=enc.crf[1],
            step=enc.crf_step,
            start=enc.default_crf if enc.default_crf is not None else sum(enc.crf) / 2,
            options_at=self.options_at,
        )

    def options_at(self, crf: float) -> dict[str, str]:
        """The ffmpeg output options at ``crf`` instead of the config's."""
        return encoder_options(
            self.codec, crf, self.preset, self.pix_fmt, self.encoder_args, per_chunk_crf=True
        )

    def options(self) -> dict[str, str]:
        """The ffmpeg output options this config stands for."""
        return encoder_options(self.codec, self.crf, self.preset, self.pix_fmt, self.encoder_args)


def check_target(codec: str, target_vmaf: float, crf: float | None) -> None:
    """Raise :class:`OptionError` when ``target_vmaf`` cannot work: out of range, beside a
    crf, or for an encoder with no crf (ProRes, DNxHR)."""
    low, high = TARGET_RANGE
    if not low <= target_vmaf <= high:
        raise OptionError("target_vmaf", f"{target_vmaf:g}: takes a VMAF score from {low:g} to {high:g}")
    if crf is not None:
        raise OptionError("target_vmaf", "sets each chunk's crf: give it or a crf, not both")
    enc = resolve(codec)
    if enc.crf is None:
        raise OptionError("target_vmaf", f"does not go with {enc.name}: {enc.quality}")


def check_ladder_codec(codec: str, target_vmaf: float | None) -> None:
    """Raise :class:`OptionError` when a ladder cannot be made with ``codec`` (a mastering
    codec, which no player streams) or beside ``target_vmaf`` (its search is of one encode)."""
    enc = resolve(codec)
    if not enc.browser_playable:
        raise OptionError(
            "ladder", f"makes a web stream: {enc.name} is no streaming codec (use x264, x265, av1 or vp9)"
        )
    if target_vmaf is not None:
        raise OptionError("ladder", "does not go with target_vmaf yet: give the ladder a crf")


def output_encodes(spec: Pipespec) -> dict[str, EncodeConfig]:
    """Output endpoint -> the config of the encode node that writes it (an output written by
    another stage, a report say, is not in it)."""
    return {
        stream.dst.node: config
        for stream in spec.streams
        if stream.dst.is_output
        and not stream.src.is_input
        and isinstance(config := spec.node(stream.src.node).config, EncodeConfig)
    }


class Encode(Stage[EncodeConfig]):
    NAME: ClassVar[str] = "encode"
    DESCRIPTION: ClassVar[str] = (
        "Encode frames as a streamable segment in any ffmpeg encoder (x264 unless set)"
    )
    INPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("chunks",)
    Config: ClassVar[type[StageConfig]] = EncodeConfig

    def bind(self, config: EncodeConfig, inputs: Sequence[MediaInfo]) -> Binding:
        if config.ladder and inputs:
            check_ladder(config.ladder, inputs[0])  # before any work: in one line
        return super().bind(config, inputs)

    def contribute(self, config: EncodeConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        enc = resolve(config.codec)
        command.encoder = dict(config.options())
        command.target = config.target()
        command.segment_format = enc.segment_format
        command.timescale = chunk.timescale * command.timescale_factor
        if config.ladder:
            command.scale = scale_to(config.ladder[0])
            command.renditions = ladder_renditions(config.ladder, config.options(), enc.segment_format)
        elif not enc.browser_playable and command.target is None:
            # A browser cannot play the master: the stream is an H.264 preview of it. (A
            # target's search encodes its frames later, alone: its stream stays the master's.)
            command.renditions = [preview()]
