"""A chain that drops the first frames starts its output late, as plain ffmpeg's does.

``trim=start_frame=10`` (or a select of the same frames) runs as one chunk from the first
frame (it cannot be split). Plain ffmpeg keeps the frames at their times: the video starts at
frame 10's time, 0.33 s after the audio, which stays where it was. The comparison here is of
times as stored, not counted from the first frame (test_fidelity's helper does that), so a
whole video moved to 0 shows: the pictures would be early against the sound.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.conftest import ClipMaker
from tests.e2e.test_fidelity import frames, sprocket


@pytest.mark.parametrize("vf", ["trim=start_frame=10", r"select='gte(n\,10)'"])
def test_dropping_the_first_frames_starts_the_video_where_plain_ffmpegs_starts(
    make_clip: ClipMaker, tmp_path: Path, vf: str
) -> None:
    src = make_clip(seconds=5, size="192x108", fps="30000/1001", keyint=40)  # with audio
    plain = tmp_path / "plain.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(src), "-vf", vf,
         "-c:v", "libx264", "-qp", "0", "-c:a", "copy", "-y", str(plain)],
        check=True,
    )  # fmt: skip
    want = frames(plain, as_stored=True)
    assert want[0][0] == Fraction(10 * 1001, 30000)  # frame 10's time: the check has teeth
    code, output, started = sprocket(src, vf, tmp_path / "out.mp4")
    assert code == 0, output
    assert started["chunks"] == 1  # one chunk from the first frame
    assert frames(tmp_path / "out.mp4", as_stored=True) == want
