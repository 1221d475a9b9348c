"""``sprocket stabilize``: vid.stab's two passes as map-reduce over chunks.

The core is imported when the command runs, not for its help (see :mod:`~sprocket_cli.cli.jobcmds`).
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from sprocket_cli.cli import options as opt
from sprocket_cli.cli.boundary import boundary

EXAMPLES = """Examples:

  sprocket stabilize shaky.mp4 -o steady.mp4

  sprocket stabilize walk.mp4 --shakiness 8 --smoothing 30 -w 8
"""


@boundary
@opt.job_command
def stabilize_cmd(
    source: Annotated[str, typer.Argument(help="Video file or URL.")],
    output: opt.Output = None,
    shakiness: Annotated[
        int, typer.Option("--shakiness", min=1, max=10, help="How shaky the video is: 1 a little, 10 a lot.")
    ] = 5,
    smoothing: Annotated[
        int,
        typer.Option(
            "--smoothing", min=1, max=500, help="Frames either side the camera path is smoothed over."
        ),
    ] = 15,
    preset: opt.Preset = "veryfast",
    crf: opt.Crf = 23,
    *,
    job: dict[str, Any],
) -> None:
    """Steady a shaky video (ffmpeg's vid.stab), both passes in parallel chunks.

    Pass 1 measures each chunk's camera motion in parallel; the chunks' measurements join into
    the whole video's. Pass 2 smooths the camera path and transforms every chunk in parallel,
    each decoding the frames the smoothing reads on either side. The output equals ffmpeg's
    `vidstabdetect` then `vidstabtransform=smoothing=S:optalgo=gauss:crop=black` on the whole
    file, with the zoom vid.stab picks so no border shows.
    """
    import builtin_pipelines
    from sprocket_cli.cli.jobrun import default_output, follow, local_input
    from sprocket_cli.cli.render import console
    from sprocket_cli.media.vidstab import join_transforms, static_zoom

    local = local_input(source, job)
    dest = output or default_output(source, "stabilized")
    with tempfile.TemporaryDirectory(prefix="sprocket-stabilize-") as tmp:
        report = Path(tmp) / "motions.json"
        detect = builtin_pipelines.load("stabilize_detect", {"detect": {"shakiness": shakiness}})
        console.print("pass 1 of 2: measuring camera motion")
        quiet = {**job, "open_stream": False, "tui": False}
        detect_dir = follow(detect, {"input_0": local}, {"output_0": report}, quiet)
        chunks = json.loads(report.read_text(encoding="utf-8"))
    motions = join_transforms([base64.b64decode(c["motions"]) for c in chunks])
    path = detect_dir / "motions.trf"
    part = path.with_suffix(".part")
    part.write_bytes(motions.to_bytes())
    shutil.move(part, path)
    zoom = static_zoom(local, str(path), smoothing)
    console.print(f"pass 2 of 2: smoothing and transforming (zoom {zoom:.2f} %)")
    transform = builtin_pipelines.load(
        "stabilize",
        {
            "transform": {"transforms": str(path), "smoothing": smoothing, "zoom": zoom},
            "encode": {"preset": preset, "crf": crf},
        },
    )
    follow(transform, {"input_0": local}, {"output_0": dest}, job)


stabilize_cmd.__doc__ = (stabilize_cmd.__doc__ or "") + "\n\n" + EXAMPLES
