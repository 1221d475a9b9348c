"""One ffmpeg invocation for a fused chain of stages over one chunk.

Each stage of a task adds its part (decode: where to read and which frames to keep; filters:
a filter-graph fragment; encode: codec options) to a :class:`ChunkCommand`, and the worker runs
the result as a single process with no intermediate files between the stages. A chain that
does not start with a decode reads a lossless intermediate; one that does not end with an
encode writes one (FFV1 in NUT, which keeps the source's timestamps exactly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import ffmpeg

#: The last filters before the encoder: yuv420p, what every player decodes, which needs even
#: sizes, so an odd last row or column is cropped away (175x143 -> 174x142).
ENCODER_INPUT = "crop=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p"


@dataclass
class ChunkCommand:
    """Accumulates the parts of one chunk's ffmpeg command line."""

    input_path: str
    threads: int = 0
    """Encoder and decoder threads; 0 lets ffmpeg choose."""
    seek_seconds: float | None = None
    filters: list[str] = field(default_factory=list)
    encoder: dict[str, str | int] | None = None
    timescale: int = 90000
    """Ticks per second of the output track (the source's time base, so times stay exact)."""
    end_seconds: float | None = None
    """Drop frames at or after this time once every filter ran (a rate change can add one)."""

    def add_filter(self, fragment: str) -> None:
        self.filters.append(fragment)

    def args(self, output_path: str) -> list[str]:
        """ffmpeg arguments (without the binary) writing to ``output_path``."""
        input_opts: dict[str, object] = {"copyts": None}
        if self.seek_seconds is not None:
            # Seek to the keyframe itself (its own timestamp, not an offset from the file's
            # start: MPEG-TS starts at 1.4 s); the decode stage's trim drops any pre-roll.
            input_opts.update(ss=repr(self.seek_seconds), noaccurate_seek=None, seek_timestamp=1)
        if self.threads:
            input_opts["threads"] = self.threads
        stream = ffmpeg.input(self.input_path, **input_opts)["v:0"]
        graph = list(self.filters)
        if self.end_seconds is not None:
            graph.append(f"trim=end={self.end_seconds!r}")
        if self.encoder is not None:
            graph.append(ENCODER_INPUT)
        out_opts: dict[str, object] = {"an": None, "sn": None, "dn": None, "map_metadata": -1}
        if graph:
            out_opts["vf"] = ",".join(graph)
        if self.encoder is not None:
            out_opts.update(self.encoder)
            out_opts.update(
                format="mp4",
                movflags="+cmaf+frag_keyframe+empty_moov+default_base_moof",
                video_track_timescale=self.timescale,
                fflags="+bitexact",  # identical init segments across chunks
                **{"flags:v": "+bitexact"},
            )
            if self.threads:
                out_opts["threads"] = self.threads
        else:
            out_opts.update({"c:v": "ffv1", "format": "nut", "fps_mode": "passthrough"})
        out = ffmpeg.output(stream, output_path, **out_opts)
        return [str(a) for a in ffmpeg.get_args(out, overwrite_output=True)]


def timescale_for(time_base: Fraction) -> int:
    """The output track timescale that represents ``time_base`` ticks exactly when possible."""
    return time_base.denominator if time_base.numerator == 1 else 90000
