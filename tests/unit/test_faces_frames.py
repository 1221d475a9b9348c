"""find_faces' two decoders give the same frames bit for bit: PyAV's (on this machine) and the
ffmpeg binary's over a pipe (in the Lambda bundle, which has no PyAV): the same frames of a
chunk, the same pts, the same rgb24 and gray pictures, so detections and tracks do not depend on
where a scene runs; and a broken file is a one-line FfmpegError from the pipe, not a hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from sprocket_cli.errors import FfmpegError
from sprocket_cli.faces.framepipe import piped_frames
from sprocket_cli.faces.frames import Decoder, default_decoder, pyav_frames, scene_frames
from sprocket_cli.tasks import ChunkRef
from tests.conftest import ClipMaker


def chunk_of(path: Path, start: int, end: int, *, last: bool) -> tuple[ChunkRef, list[int]]:
    """Frames ``start`` to ``end`` (frame numbers) as a chunk seeking from the keyframe before."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        packets = sorted((p.pts, p.is_keyframe) for p in container.demux(stream) if p.pts is not None)
    assert tb is not None
    pts = [p for p, _ in packets]
    seek = max(p for p, key in packets if key and p <= pts[start])
    end_pts = pts[end] if end < len(pts) else pts[-1] + 1
    chunk = ChunkRef(0, pts[start], end_pts, seek, tb.numerator, tb.denominator, last, end - start)
    return chunk, pts


@pytest.mark.parametrize("size", ["320x240", "970x546"])  # 970: PyAV pads its rows there
def test_both_decoders_give_a_chunks_frames_and_pts_bit_for_bit(make_clip: ClipMaker, size: str) -> None:
    path = make_clip(seconds=3, keyint=25, size=size, audio=False)
    chunk, pts = chunk_of(path, 30, 60, last=False)  # starts 5 frames after a keyframe
    assert chunk.seek_pts < chunk.start_pts
    piped = list(scene_frames(str(path), chunk, piped_frames))
    decoded = list(scene_frames(str(path), chunk, pyav_frames))
    assert [p for p, _ in piped] == [p for p, _ in decoded] == pts[30:60]
    for (_, one), (_, other) in zip(piped, decoded, strict=True):
        assert np.array_equal(one.rgb(), other.rgb())
        assert np.array_equal(one.gray(), other.gray())
        for picture in (one.rgb(), one.gray(), other.rgb(), other.gray()):
            assert picture.flags.c_contiguous and picture.flags.writeable  # as dlib needs


@pytest.mark.parametrize("decoder", [piped_frames, pyav_frames])
def test_the_last_chunk_runs_to_the_end_of_the_file(make_clip: ClipMaker, decoder: Decoder) -> None:
    path = make_clip(seconds=3, keyint=25, audio=False)
    chunk, pts = chunk_of(path, 50, 75, last=True)
    assert [p for p, _ in scene_frames(str(path), chunk, decoder)] == pts[50:]


def test_a_file_that_is_no_video_is_a_one_line_error_from_the_pipe(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    chunk = ChunkRef(0, 0, 100, 0, 1, 25, True, 4)
    with pytest.raises(FfmpegError) as caught:
        list(scene_frames(str(bad), chunk, piped_frames))
    assert "\n" not in str(caught.value) and "bad.mp4" in str(caught.value)


def test_pyav_decodes_where_installed_and_the_pipe_where_not() -> None:
    assert default_decoder() is pyav_frames
    # As in the Lambda bundle: no av to import (find_spec says None for a None in sys.modules).
    code = (
        "import sys; sys.modules['av'] = None; "
        "from sprocket_cli.faces.frames import default_decoder; print(default_decoder().__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "piped_frames"
