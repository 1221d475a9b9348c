"""``sprocket blend A B``: superimpose two videos frame by frame, in parallel chunks of A.

The core is imported when the command runs, not for its help (see :mod:`~sprocket_cli.cli.jobcmds`).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer

from sprocket_cli.cli import options as opt
from sprocket_cli.cli.boundary import boundary

EXAMPLES = """Examples:

  sprocket blend a.mp4 b.mp4 -o out.mp4 --mode overlay --opacity 0.5

  sprocket blend talk.mp4 greenscreen.mp4 --mode chroma --key-color 0x00FF00 --similarity 0.3

  sprocket blend a.mp4 b.mp4 --mode screen --offset 2.5 --duration longest --audio mix
"""


@boundary
@opt.job_command
def blend_cmd(
    a: Annotated[
        str, typer.Argument(help="The main video (file or URL): its frames, size and clock set the output's.")
    ],
    b: Annotated[str, typer.Argument(help="The video laid over it, fitted to A's size and paired by time.")],
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="An ffmpeg blend mode (normal, overlay, screen, multiply, difference, addition, "
            "lighten, darken, ...) or chroma (green screen: B's key colour shows A).",
        ),
    ] = "normal",
    opacity: Annotated[
        float, typer.Option("--opacity", min=0, max=1, help="How much of B's effect shows, 0..1.")
    ] = 0.5,
    key_color: Annotated[
        str, typer.Option("--key-color", help="chroma: B's colour that lets A show through.")
    ] = "0x00FF00",
    similarity: Annotated[
        float, typer.Option("--similarity", help="chroma: how close to the key colour still counts, 0..1.")
    ] = 0.3,
    blend_edge: Annotated[float, typer.Option("--blend-edge", help="chroma: soft edge width, 0..1.")] = 0.0,
    offset: Annotated[
        float, typer.Option("--offset", help="Seconds into A at which B starts (negative: skip into B).")
    ] = 0.0,
    duration: Annotated[
        str,
        typer.Option(
            "--duration",
            help="first (A's length), shortest (ends with the first to end) or longest (A's last "
            "frame is held while B goes on).",
        ),
    ] = "first",
    fit: Annotated[
        str, typer.Option("--fit", help="B to A's size: pad (fit inside, bars), crop (cover) or stretch.")
    ] = "pad",
    audio: Annotated[
        str, typer.Option("--audio", help="Audio of the output: a, b (shifted by --offset), mix or none.")
    ] = "a",
    output: opt.Output = None,
    preset: opt.Preset = "veryfast",
    crf: opt.Crf = 23,
    *,
    job: dict[str, Any],
) -> None:
    """Superimpose B on A frame by frame: each frame of A is combined with the frame of B on
    screen at the same moment, whatever their frame rates, sizes and keyframes.

    The work is cut on A's keyframes; each chunk reads the matching stretch of B. Streaming
    output, progress and the summary are as for `sprocket filter`.
    """
    import builtin_pipelines
    from sprocket_cli.cli.jobrun import default_output, follow, local_input
    from sprocket_cli.media.audioplan import CHOICES
    from sprocket_cli.media.blendoptions import BlendOptions

    # A bad flag fails here, naming the flag, before any probe.
    checked = BlendOptions(mode, opacity, key_color, similarity, blend_edge, fit, offset, duration)
    settings = dataclasses.asdict(checked)
    if audio not in CHOICES:
        raise typer.BadParameter(f"must be one of {', '.join(CHOICES)}", param_hint="--audio")
    spec = builtin_pipelines.load("blend", {"blend": settings, "encode": {"preset": preset, "crf": crf}})
    dest = output or default_output(a, "blend")
    inputs = {"input_0": local_input(a, job), "input_1": local_input(b, job)}
    follow(spec, inputs, {"output_0": dest}, job, audio=audio)


blend_cmd.__doc__ = (blend_cmd.__doc__ or "") + "\n\n" + EXAMPLES
