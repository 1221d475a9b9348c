"""``sprocket find-face VIDEO --person PHOTO``: box a person's face, or list their scenes.

The core is imported when the command runs, not for its help (see :mod:`~sprocket_cli.cli.jobcmds`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sprocket_cli.cli import options as opt
from sprocket_cli.cli.boundary import boundary
from sprocket_cli.errors import UsageError

EXAMPLES = """Examples:

  sprocket find-face play.mp4 --person kid.jpg -o boxed.mp4

  sprocket find-face play.mp4 --person kid.jpg --person kid2.jpg --keep-only -o kid_scenes.mp4

  sprocket find-face play.mp4 --person photos/kid/ --report scenes.json

  sprocket find-face play.mp4 --person kid.jpg --report scenes.json

  sprocket find-face far_away.mp4 --person kid.jpg --min-face 30 --report scenes.json

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
            help="A photo of the person (file or URL), or a folder of photos of them; repeat for "
            "more (all are averaged). With --provider rekognition, a celebrity's name instead.",
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
    every: Annotated[
        int,
        typer.Option(
            "--every",
            min=1,
            help="Look for the face on every n-th frame of each scene; the box is tracked on the "
            "frames between (a few ms a frame), so larger n costs little accuracy.",
        ),
    ] = 5,
    every_frame: Annotated[
        bool, typer.Option("--every-frame", help="Look at every frame (same as --every 1).")
    ] = False,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            "--tolerance",  # face_recognition's name for it
            min=0,
            help="Largest face distance that is still the person (local: 0.6; the report gives the closest).",
        ),
    ] = None,
    detector: Annotated[
        str,
        typer.Option(
            "--detector",
            metavar="hog|cnn|auto",
            help="Local face detector: hog (fast, frontal faces), cnn (dlib's MMOD: turned faces "
            "too, but ~8 s per 720p frame on a CPU core) or auto (hog, then cnn on frames where hog "
            "found none).",
        ),
    ] = "hog",
    min_face: Annotated[
        int | None,
        typer.Option(
            "--min-face",
            min=16,
            metavar="PX",
            help="Smallest face to find, in pixels high (local; each halving costs ~4x). Default: "
            "chosen by a first pass over a few frames (the size of the smallest face it sees).",
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
    is searched on every n-th frame; the box is tracked on the frames between, so it follows
    the face without jumps.
    With --keep-only, the video holds only the scenes the person appears in, one after another,
    with the audio cut at the same frames. With --report, the scenes are written as JSON and no
    video is made. The scenes found are listed at the end.
    """
    import builtin_pipelines
    from sprocket_cli.cli.jobrun import default_output, follow, local_input
    from sprocket_cli.cli.render import console

    photos = [p if "://" in p or not Path(p).exists() else str(Path(p).resolve()) for p in person]
    faces = {
        "person": photos,
        "provider": provider,
        "threshold": threshold,
        "every": 1 if every_frame else every,
        # The default detector goes unsaid, so that providers without a choice accept it.
        "detector": None if detector == "hog" else detector,
        "min_face": min_face,
    }
    if report is not None and (output is not None or keep_only):
        raise UsageError("--report writes scenes as JSON and no video: leave out -o and --keep-only")
    if report is not None and job["open_stream"]:
        raise UsageError("--open plays the video; --report writes none (use -o to make one)")
    local = local_input(video, job)
    encode = {"preset": preset, "crf": crf}
    if report is not None:
        spec = builtin_pipelines.load("face_scenes", {"faces": faces})
        dest = report
    elif keep_only:
        spec = builtin_pipelines.load("scene_keep", {"faces": faces, "encode": encode})
        dest = output or default_output(video, "kept")
    else:
        spec = builtin_pipelines.load("face_recognition", {"faces": faces, "encode": encode})
        dest = output or default_output(video, "faces")
    job_dir = follow(spec, {"input_0": local}, {"output_0": dest}, job)
    if not job["as_json"]:
        scenes = scenes_found(job_dir)
        found = print_scenes(scenes, ", ".join(person))
        if (line := detector_summary(scenes)) is not None:
            console.print(line)
        if keep_only and not found:
            console.print(f"nothing to keep, so {dest} was not written")


def scenes_found(job_dir: Path) -> list[dict[str, Any]]:
    """Every scene the job searched (``find_faces`` facts), in order, from its journal.

    A scene searched by an earlier version (before per-sample outcomes) is left out of the
    listing rather than failing it: a resumed job may carry some."""
    from sprocket_cli.events import TaskFinished
    from sprocket_cli.jobs.journal import read_journal

    facts = {
        e.chunk: e.result["meta"]
        for e in read_journal(job_dir)
        if isinstance(e, TaskFinished) and e.result is not None and "sampled" in e.result["meta"]
    }
    return [facts[i] for i in sorted(facts)]


#: Up to this many scenes are each given a line; beyond it only the matched ones (--report has all).
_LIST_ALL = 40


def print_scenes(scenes: list[dict[str, Any]], who: str) -> bool:
    """A line on the whole search, then one per scene; whether the person was found anywhere."""
    from sprocket_cli.cli.render import console

    found = [s for s in scenes if s["matched"]]
    console.print(headline(scenes, who))
    shown = scenes if len(scenes) <= _LIST_ALL else found
    for scene in shown:
        console.print("  " + scene_line(scene))
    if len(shown) < len(scenes):
        console.print(
            f"  ({len(scenes) - len(shown)} scenes without {who} not listed; --report lists every scene)"
        )
    return bool(found)


def detector_summary(scenes: list[dict[str, Any]]) -> str | None:
    """The detector the scenes were searched with, why (the first pass), and what it cost per
    frame; None where the provider does not say (a service's own detector)."""
    from sprocket_cli.faces.firstpass import FirstPass
    from sprocket_cli.plan.facecost import detector_line

    told = next((s for s in scenes if s.get("detector") and s.get("size")), None)
    if told is None:
        return None
    detector, doublings = told["detector"]
    width, height = told["size"]
    line = detector_line(detector, doublings, (width, height), told["every"])
    looked = told.get("first_pass")
    return f"{line} ({FirstPass(**looked).describe()})" if looked else line


def headline(scenes: list[dict[str, Any]], who: str) -> str:
    """Where ``who`` was found, or which of the two reasons kept every scene from matching."""
    found = sum(1 for s in scenes if s["matched"])
    if found:
        return f"{who} appears in {found} of {len(scenes)} scenes:"
    head = f"no scene shows {who}"
    frames = sum(sum(s["sampled"].values()) for s in scenes)
    if not frames:
        return f"{head} ({len(scenes)} scenes searched)"
    with_faces = sum(s["sampled"]["no_match"] for s in scenes)
    if not with_faces:
        smallest = max((s["smallest_face"] for s in scenes if s["smallest_face"]), default=None)
        hint = f": faces smaller than {smallest} px are missed: try --min-face" if smallest else ""
        where = f"{frames} frames in {len(scenes)} scene{'s' if len(scenes) != 1 else ''}"
        return f"{head}: no face found in any sampled frame ({where}{hint})"
    best = min(s["closest"] for s in scenes if s["closest"] is not None)
    return (
        f"{head}: faces found but none matched ({with_faces} of {frames} sampled frames had faces; "
        f"best distance {best:.2f}, a match needs at most {scenes[0]['threshold']:.2f}: "
        "--threshold to loosen)"
    )


def scene_line(scene: dict[str, Any]) -> str:
    """A scene's times and what its sampled frames showed."""
    num, den = scene["tb"]
    start = (scene["start_pts"] - scene["origin_pts"]) * num / den
    end = (scene["end_pts"] - scene["origin_pts"]) * num / den
    counts, total = scene["sampled"], sum(scene["sampled"].values())
    if scene["matched"]:
        best = min(s["distance"] for s in scene["samples"] if s["distance"] is not None)
        what = f"matched in {counts['match']} of {total} sampled frames, best distance {best:.2f}"
    elif counts["no_match"]:
        what = (
            f"not matched: faces in {counts['no_match']} of {total} sampled frames, "
            f"closest at distance {scene['closest']:.2f}"
        )
    else:
        what = f"not matched: no face in {total} sampled frame{'s' if total != 1 else ''}"
    return f"scene {scene['scene']:>3}  {start:8.2f}s - {end:8.2f}s  {what}"


find_face_cmd.__doc__ = (find_face_cmd.__doc__ or "") + "\n\n" + EXAMPLES
