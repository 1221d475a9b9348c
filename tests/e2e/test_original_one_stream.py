"""The original Sprocket's one-stream pipespecs (grayscale, video_filter, scale, multi_stage),
written in its own names, ports and delivery functions, run here in several chunks and give
plain ffmpeg's frames (times and pixels, lossless); its blend gives the frames of this project's
own blend pipeline (whose frames tests/e2e/test_blend.py checks against the expected pairs).

The clips move, run at 30000/1001 fps with keyframes every 50 frames, and are cut into at
least three chunks: what a per-frame filter on an easy clip would not show.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app
from tests.conftest import ClipMaker
from tests.e2e.test_fidelity import frames, plain_ffmpeg
from tests.e2e.test_original_two_streams import run
from tests.unit.test_original_pipespecs import BLEND, GRAYSCALE, MULTI_STAGE, SCALE, VIDEO_FILTER

#: Each original spec, and the -vf plain ffmpeg runs for it (what the original's stage did).
ONE_STREAM = {
    "grayscale": (GRAYSCALE, "hue=s=0"),
    "video_filter": (VIDEO_FILTER, "fftfilt=dc_Y=128:weight_Y=squish(1-(Y+X)/100)"),
    # The original's scale is a time scale: 2 plays at half speed, at the source's frame rate.
    # (A retime beside a rate change runs on one worker, and says so: see ONE_WORKER.)
    "scale": (SCALE.replace('"scale": 1', '"scale": 2'), "setpts=2*PTS,fps=30000/1001"),
    "multi_stage": (MULTI_STAGE, "hue=s=0,transpose=2,transpose=2,scale=800:800:flags=neighbor"),
}


#: Specs whose chain is not split (yet): they run whole, with plain ffmpeg's frames all the same.
ONE_WORKER = {"scale"}


@pytest.mark.parametrize("name", list(ONE_STREAM))
def test_the_original_s_pipespec_gives_plain_ffmpeg_s_frames(
    name: str, make_clip: ClipMaker, tmp_path: Path
) -> None:
    text, vf = ONE_STREAM[name]
    src = make_clip(seconds=7, size="320x180", fps="30000/1001", keyint=50, audio=False)
    got = frames(run(json.loads(text), [src], tmp_path, min_chunks=1 if name in ONE_WORKER else 3))
    want = plain_ffmpeg(src, vf, tmp_path / "plain.mp4")
    assert len(got) == len(want) > 0
    assert got == want  # times and pixels


def test_the_original_s_blend_gives_this_project_s_blend(make_clip: ClipMaker, tmp_path: Path) -> None:
    a = make_clip(seconds=7, size="320x180", fps="25", keyint=50, audio=False)
    b = make_clip(seconds=7, size="320x180", fps="30", keyint=45, audio=False)
    got = frames(run(json.loads(BLEND), [a, b], tmp_path))
    ours = tmp_path / "ours.mp4"
    result = CliRunner().invoke(
        app,
        ["run", "blend", "-i", f"input_0={a}", "-i", f"input_1={b}", "-o", str(ours), "--set", "encode.crf=0",
         "--chunk-seconds", "2", "--first-chunk-seconds", "2", "--job-dir", str(tmp_path / "jobs2")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    want = frames(ours)
    assert len(got) == len(want) == 175
    assert got == want
