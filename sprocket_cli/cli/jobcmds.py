"""``sprocket filter``, ``run``, ``demo`` and ``serve``: commands that start a job and follow it.

Only what the commands' signatures need is imported here; the core is imported in their
bodies (and through :mod:`sprocket_cli.cli.jobrun`), so that `sprocket filter --help` shows
its help without loading the session, the backends, pydantic or PyAV.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from sprocket_cli.cli import options as opt
from sprocket_cli.cli.boundary import boundary
from sprocket_cli.errors import UsageError

FILTER_EPILOG = """Examples:

  sprocket filter in.mp4 --vf hue=s=0 -o gray.mp4

  sprocket filter in.mp4 --vf 'scale=640:-2,fps=15' -w 4 --chunk-seconds 4

  sprocket filter a.mp4 b.mp4 --filter-complex '[0:v]scale=iw/4:-2[p];[1:v][p]overlay=W-w-16:16'

  sprocket filter in.mov --vf hue=s=0 --codec prores -o graded.mov

  sprocket filter in.mp4 --vf null --codec x265 --crf 20 -o out.mkv -y

  sprocket filter in.mp4 --vf null --codec av1 --target-vmaf 93 -o out.mp4

  sprocket filter in.mp4 --vf null --ladder 1080,720,480 -o out/

  sprocket filter https://example.com/clip.mp4 --vf 'eq=contrast=1.3'
"""


@boundary
@opt.job_command
def filter_cmd(
    source: Annotated[
        str, typer.Argument(help="Video file, s3://bucket/key, or http(s) URL (fetched with yt-dlp).")
    ],
    second: Annotated[
        str | None,
        typer.Argument(
            help="A second video, [1:v] of --filter-complex; the tracks stay the first's unless --map 1:a."
        ),
    ] = None,
    vf: Annotated[
        str | None,
        typer.Option("--vf", help="ffmpeg video filter chain, as for ffmpeg -vf."),
    ] = None,
    filter_complex: Annotated[
        str | None,
        typer.Option(
            "--filter-complex",
            help="ffmpeg filter graph over the inputs, as for ffmpeg -filter_complex: [0:v] and [1:v] "
            "read them, one output left open (per-frame filters only, for now).",
        ),
    ] = None,
    output: opt.Output = None,
    codec: opt.Codec = "x264",
    preset: opt.Preset = None,
    crf: opt.Crf = None,
    target_vmaf: opt.TargetVmaf = None,
    pix_fmt: opt.PixFmt = None,
    encoder_args: opt.EncoderArgs = "",
    ladder: opt.Ladder = None,
    af: Annotated[
        str | None,
        typer.Option(
            "--af",
            help="ffmpeg audio filter chain over the whole audio track, as for ffmpeg -af "
            "(volume=0.5, loudnorm, highpass=f=200, atempo=1.25). Without it the audio is copied.",
        ),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            "--speed",
            help="Retime picture and sound together, pitch kept: 2 is twice as fast, 0.5 half "
            "(0.25 to 4; setpts plus atempo, after --vf and --af).",
        ),
    ] = None,
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="Audio and subtitle tracks the output carries, as ffmpeg's -map (repeatable): 0 "
            "(every track of the first input: the default), 0:a:1, 0:s, 1:a (the second input's "
            "audio), -0:a:2 (all but that one), 0:t (attachments, into .mkv). Chapters and the "
            "start timecode are kept.",
        ),
    ] = None,
    map_metadata: Annotated[
        int | None,
        typer.Option(
            "--map-metadata",
            help="Global tags (title, comment, ...) from this input, as ffmpeg's -map_metadata: -1 "
            "drops every tag (of streams and chapters too). Default: the first input's.",
        ),
    ] = None,
    no_split_fallback: Annotated[
        bool,
        typer.Option(
            "--no-split-fallback",
            help="Refuse (exit 2) a chain that cannot be split into chunks instead of running it "
            "on one worker.",
        ),
    ] = False,
    *,
    job: dict[str, Any],
) -> None:
    """Run any ffmpeg filter over a whole video, in parallel chunks, with audio kept.

    The output has the frames plain `ffmpeg -i IN -vf CHAIN` gives: every filter of the chain
    is classified first (`sprocket filters` lists the classes). Per-frame filters split as
    they are; windowed ones (tmix, deflicker, yadif, ...) have each chunk decode the frames
    they read on either side; a chain that needs the whole video (reverse, setpts, select,
    frame-numbered expressions) runs on one worker, said in one line before work starts.
    `--af` runs an audio chain over the whole track in one pass, beside the video chunks, so
    whole-track filters such as loudnorm give ffmpeg's result; `--vf` alone leaves the audio
    as it is, as ffmpeg does.
    `--filter-complex` takes a graph over one or two videos instead, with ffmpeg's labels
    (`[0:v]scale=iw/4:-2[p];[1:v][p]overlay=W-w-16:16`): frames of the two are paired by
    presentation time whatever their rates, sizes and keyframes, as plain ffmpeg pairs them,
    and the work is cut on the first video's keyframes.
    `--codec` picks the encoder (`--crf`, `--preset`, `--pix-fmt`, `--encoder-args` mean the
    same for each) and -o's suffix the container: .mp4 .m4v .mov .mkv .webm. `--target-vmaf N`
    gives each chunk its own crf, the highest whose VMAF reaches N. `--ladder 1080,720,480`
    encodes every chunk at each height from one decode into the folder -o names (HLS master
    playlist and DASH manifest). A master a browser cannot play (ProRes, DNxHR) streams as an
    H.264 preview, which `--open` plays; the file is still assembled from the master. Every
    audio track and subtitle of the first input is kept, with its chapters, start timecode and
    global tags (`--map` and `--map-metadata` choose, as ffmpeg's -map and -map_metadata);
    each audio track is copied when the container takes it, else transcoded (Opus in WebM,
    PCM beside ProRes and DNxHR in MOV, AAC elsewhere).
    The filter and the encoder are tried on the first frame before any work starts, so a typo
    fails at once with ffmpeg's own message (exit 2), as does an encoder the container cannot
    hold. Progress shows chunks done, frames/s and how far the stream (HLS/DASH in the job
    folder) is playable; the final file is assembled by stream copy.
    """
    import builtin_pipelines
    from sprocket_cli.cli.jobrun import default_output, follow, local_input
    from sprocket_cli.inputs import readable
    from sprocket_cli.media.codecs import encoder_options, resolve
    from sprocket_cli.media.containers import container_for
    from sprocket_cli.media.filtercheck import check_audio_filter, check_filter
    from sprocket_cli.media.probe import probe_tracks
    from sprocket_cli.media.trackmap import pick
    from sprocket_cli.plan.speed import with_speed
    from sprocket_cli.stages.encode import check_target

    sources = [source] if second is None else [source, second]
    audio = _mapped_tracks(maps or [], len(sources), map_metadata)
    encoder = encoder_options(codec, crf, preset, pix_fmt, encoder_args)  # checked here: worded as flags
    encode: dict[str, object] = {
        "codec": codec,
        "crf": crf,
        "preset": preset,
        "pix_fmt": pix_fmt,
        "encoder_args": encoder_args,
    }
    if target_vmaf is not None:
        check_target(codec, target_vmaf, crf)
        encode["target_vmaf"] = target_vmaf
    segment_format = resolve(codec).segment_format
    if ladder is not None:  # a folder of HLS and DASH, in fMP4 segments
        from sprocket_cli.cli.laddercmd import ladder_output
        from sprocket_cli.media.containers import MP4 as container

        encode["ladder"], dest = ladder_output(
            ladder, output, default_output(source, "ladder"), codec, target_vmaf
        )
    else:  # ProRes and DNxHR go in MOV: the default name follows.
        dest = output or default_output(source, "filtered").with_suffix(f".{segment_format}")
        container = container_for(dest)
    if filter_complex is None and second is None:
        video, af = with_speed(vf, af, speed)
        spec = builtin_pipelines.load(
            "filter", {"filter": {"vf": video, "fallback": not no_split_fallback}, "encode": encode}
        )

        def check_video(paths: list[str]) -> None:
            check_filter(paths[0], video, encoder, segment_format, container)

    else:
        from sprocket_cli.cli.complexcmd import GraphJob

        graph = GraphJob(filter_complex, sources, vf=vf, speed=speed)
        spec = graph.pipeline(encode)

        def check_video(paths: list[str]) -> None:
            graph.check(paths, encoder, segment_format, container)

    local = [local_input(s, job) for s in sources]

    def check() -> None:  # runs beside the probe
        readables = [readable(path) for path in local]
        check_video(readables)
        if maps:  # a map that names no stream fails here, before the job exists
            pick(maps, [probe_tracks(path) for path in readables])
        if af is not None:
            check_audio_filter(readables[0], af)

    inputs = {f"input_{i}": path for i, path in enumerate(local)}
    follow(spec, inputs, {"output_0": dest}, job, check, audio=audio, audio_filters=af)


def _mapped_tracks(maps: list[str], inputs: int, map_metadata: int | None) -> str:
    """The job's audio choice for ``--map``s and ``--map-metadata`` (checked here, before the
    probe): ``a``, every track of the first input, when there is no map; else the maps,
    space-separated; then the metadata's input."""
    from sprocket_cli.media.trackmap import check_maps, metadata_choice

    check_maps(maps, inputs)
    tags = [] if map_metadata is None else [metadata_choice(map_metadata, inputs)]
    return " ".join([*(m.strip() for m in maps), *tags]) or "a"


filter_cmd.__doc__ = inspect.cleandoc(filter_cmd.__doc__ or "") + "\n\n" + FILTER_EPILOG


@boundary
@opt.job_command
def run_cmd(
    spec: Annotated[str, typer.Argument(help="Pipespec JSON file, or a built-in pipeline name.")],
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="Bind an input endpoint: input_0=in.mp4 (repeatable)."),
    ] = None,
    outputs: Annotated[
        list[str] | None,
        typer.Option("--output", help="Bind an output endpoint: output_0=out.mp4 (repeatable)."),
    ] = None,
    out_file: Annotated[Path | None, typer.Option("-o", help="Shortcut for --output output_0=FILE.")] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a node's config: NODE.KEY=VALUE (repeatable)."),
    ] = None,
    *,
    job: dict[str, Any],
) -> None:
    """Run your own pipeline written in the pipespec language.

    Example: sprocket run builtin_pipelines/filter.json --input input_0=in.mp4 -o gray.mp4
    """
    import builtin_pipelines
    from sprocket_cli.cli.jobrun import bindings, default_output, follow, local_input, overrides
    from sprocket_cli.pipeline.pipespec import load_file

    spec_path = Path(spec)
    path = spec_path if spec_path.exists() or spec_path.suffix == ".json" else builtin_pipelines.path(spec)
    pipespec = load_file(path, overrides(settings or []))
    bound_in = bindings(inputs or [], "--input")
    bound_out = {k: Path(v) for k, v in bindings(outputs or [], "--output").items()}
    if out_file is not None:
        bound_out["output_0"] = out_file
    if not bound_out and pipespec.outputs == ("output_0",) and "input_0" in bound_in:
        from sprocket_cli.stages.encode import output_encodes

        dest = default_output(bound_in["input_0"], pipespec.name)
        encode = output_encodes(pipespec).get("output_0")  # a ladder's stream goes into a folder
        bound_out["output_0"] = dest.with_suffix("") if encode is not None and encode.ladder else dest
    local = {name: local_input(src, job) for name, src in bound_in.items()}
    follow(pipespec, local, bound_out, job)


@boundary
def demo_cmd(
    seconds: Annotated[
        float, typer.Option("--seconds", min=1, help="Length of the generated test clip.")
    ] = 20.0,
    output: opt.Output = None,
    workers: opt.Workers = opt.DEFAULT_WORKERS,
    overwrite: opt.Overwrite = False,
    job_dir: opt.JobDir = None,
) -> None:
    """Make a 720p test clip with audio (ffmpeg lavfi), then turn it gray with `sprocket filter`."""
    import builtin_pipelines
    from sprocket_cli.cli.jobrun import follow
    from sprocket_cli.cli.render import console
    from sprocket_cli.media.testclip import make_test_clip

    clip = Path.cwd() / "sprocket-demo.mp4"
    if not clip.exists():
        console.print(f"making {clip.name}: {seconds:g}s of 1280x720 test pattern with a tone")
        make_test_clip(clip, seconds=seconds, size="1280x720")
    dest = output or Path.cwd() / "sprocket-demo-gray.mp4"
    job = {**opt.JOB_DEFAULTS, "workers": workers, "overwrite": overwrite, "job_dir": job_dir}
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    follow(spec, {"input_0": str(clip)}, {"output_0": dest}, job)


@boundary
def serve_cmd(
    job: Annotated[str, typer.Argument(help="Job id (as printed when it started) or job folder.")],
    player: opt.Player = None,
    serve_for: opt.ServeFor = None,
    job_dir: opt.JobDir = None,
    no_open: Annotated[bool, typer.Option("--no-open", help="Serve only; open no player.")] = False,
) -> None:
    """Serve a running or finished job's stream again on 127.0.0.1, and open a player."""
    from sprocket_cli.cli.playback import Playback, choose_player
    from sprocket_cli.jobs.records import find_job
    from sprocket_cli.storage.layout import MASTER

    folder = find_job(job, job_dir)
    if not (folder / MASTER).is_file():
        raise UsageError(f"{job}: the job has no playable segment yet")
    playback = Playback(player=choose_player(player), serve_for=serve_for)
    playback.serve(folder)
    if not no_open:
        playback.open()
    playback.linger()
