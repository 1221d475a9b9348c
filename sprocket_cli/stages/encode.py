"""encode: frames -> a segment that starts on a keyframe, in any ffmpeg video encoder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationInfo, field_validator

from sprocket_cli.errors import OptionError
from sprocket_cli.media.codecs import encoder_options, resolve
from sprocket_cli.stages.base import Stage, StageConfig

if TYPE_CHECKING:
    from sprocket_cli.media.command import ChunkCommand
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

    def options(self) -> dict[str, str]:
        """The ffmpeg output options this config stands for."""
        return encoder_options(self.codec, self.crf, self.preset, self.pix_fmt, self.encoder_args)


class Encode(Stage[EncodeConfig]):
    NAME: ClassVar[str] = "encode"
    DESCRIPTION: ClassVar[str] = (
        "Encode frames as a streamable segment in any ffmpeg encoder (x264 unless set)"
    )
    INPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("chunks",)
    Config: ClassVar[type[StageConfig]] = EncodeConfig

    def contribute(self, config: EncodeConfig, command: ChunkCommand, chunk: ChunkRef) -> None:
        command.encoder = dict(config.options())
        command.segment_format = resolve(config.codec).segment_format
        command.timescale = chunk.timescale * command.timescale_factor
