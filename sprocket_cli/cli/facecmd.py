"""``sprocket find-face VIDEO --person PHOTO``: box a person's face, or list their scenes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

import builtin_pipelines
from sprocket_cli.cli import options as opt
from sprocket_cli.cli.boundary import boundary
from sprocket_cli.cli.jobcmds import _default_output, _follow, _local_input
from sprocket_cli.cli.render import console
from sprocket_cli.errors import UsageError
from sprocket_cli.events import TaskFinished
from sprocket_cli.journal import read_journal

EXAMPLES = """Examples:

  sprocket find-face play.mp4 --person kid.jpg -o boxed.mp4

  sprocket find-face play.mp4 --person kid.jpg --person kid2.jpg --keep-only -o kid_scenes.mp4

  sprocket find-face play.mp4 --person kid.jpg --report scenes.json

  sprocket find-face keynote.mp4 --person "Jeff Bezos" --provider rekognition
"""


@boundary
@opt.job_command
def find_face_cmd(
    video: Annotated[str, typer.Argument(help="Video file or http(s) URL.")],
    person: Annotated[
        list[str],
        typer.Option(
            "--person",
            help="A photo of the person (file or URL; repeat for several photos of them, which are "
            "averaged), or with --provider rekognition a celebrity's name.",
        ),
    ],
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write the scenes as JSON (times, matches, boxes) instead of a video."),
    ] = None,
    keep_only: Annotated[
        bool,
        typer.Option(
            "--keep-only", help="Keep only the scenes the person appears in, joined, with their audio."
        ),
    ] = False,
    provider: Annotated[
        str, typer.Option("--provider", help="local (dlib, offline) or rekognition (AWS).")
    ] = "local",
    every: Annotated[int, typer.Option("--every", min=1, help="Look at every n-th frame of each scene.")] = 5,
    every_frame: Annotated[
        bool, typer.Option("--every-frame", help="Look at every frame (same as --every 1).")
    ] = False,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold", min=0, help="Largest face distance that is still the person (local: 0.6)."
        ),
    ] = None,
    output: opt.Output = None,
    preset: opt.Preset = "veryfast",
    crf: opt.Crf = 23,
    *,
    job: dict[str, Any],
) -> None:
    """Find a person in a video: the scenes they appear in, with a box around their face.

    The video is cut into scenes (ffmpeg scene detection, per chunk, in parallel); each scene
    is searched on every n-th frame; the box follows the face between the frames looked at.
    With --keep-only, the video holds only the scenes the person appears in, one after another,
    with the audio cut at the same frames. With --report, the scenes are written as JSON and no
    video is made. The scenes found are listed at the end.
    """
    photos = [p if "://" in p or not Path(p).exists() else str(Path(p).resolve()) for p in person]
    faces = {
        "person": photos,
        "provider": provider,
        "threshold": threshold,
        "every": 1 if every_frame else every,
    }
    if report is not None and (output is not None or keep_only):
        raise UsageError("--report writes scenes as JSON and no video: leave out -o and --keep-only")
    if report is not None and job["open_stream"]:
        raise UsageError("--open plays the video; --report writes none (use -o to make one)")
    local = _local_input(video, job)
    encode = {"preset": preset, "crf": crf}
    if report is not None:
        spec = builtin_pipelines.load("face_scenes", {"faces": faces})
        dest = report
    elif keep_only:
        spec = builtin_pipelines.load("scene_keep", {"faces": faces, "encode": encode})
        dest = output or _default_output(video, "kept")
    else:
        spec = builtin_pipelines.load("face_recognition", {"faces": faces, "encode": encode})
        dest = output or _default_output(video, "faces")
    job_dir = _follow(spec, {"input_0": local}, {"output_0": dest}, job)
    if not job["as_json"]:
        found = print_scenes(scenes_found(job_dir), ", ".join(person))
        if keep_only and not found:
            console.print(f"nothing to keep, so {dest} was not written")


def scenes_found(job_dir: Path) -> list[dict[str, Any]]:
    """Every scene the job searched (``find_faces`` facts), in order, from its journal."""
    facts = {
        e.chunk: e.result["meta"]
        for e in read_journal(job_dir)
        if isinstance(e, TaskFinished) and e.result is not None and "matched" in e.result["meta"]
    }
    return [facts[i] for i in sorted(facts)]


def print_scenes(scenes: list[dict[str, Any]], who: str) -> bool:
    """The scenes found, one line each, or a clear line when there are none; whether any was."""
    found = [s for s in scenes if s["matched"]]
    if not found:
        console.print(f"no scene shows {who} ({len(scenes)} scenes searched)")
        return False
    console.print(f"{who} appears in {len(found)} of {len(scenes)} scenes:")
    for scene in found:
        num, den = scene["tb"]
        start = (scene["start_pts"] - scene["origin_pts"]) * num / den
        end = (scene["end_pts"] - scene["origin_pts"]) * num / den
        best = min(s["distance"] for s in scene["samples"] if s["distance"] is not None)
        console.print(f"  scene {scene['scene']:>3}  {start:8.2f}s - {end:8.2f}s  best distance {best:.2f}")
    return True


find_face_cmd.__doc__ = (find_face_cmd.__doc__ or "") + "\n\n" + EXAMPLES
