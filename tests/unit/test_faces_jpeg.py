"""Frames sent to a face service are JPEG-encoded by the ffmpeg binary, not PyAV (which the
Lambda bundle lacks): the picture survives, the size limit is kept, and PyAV is not imported."""

from __future__ import annotations

import io
import subprocess
import sys

import av
import numpy as np

from sprocket_cli.faces.images import encode_jpeg, load_image
from tests.facemedia import ASTRONAUT


def decoded(jpeg: bytes) -> np.ndarray:
    with av.open(io.BytesIO(jpeg), mode="r") as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def test_the_jpeg_shows_the_frame_and_is_the_same_every_time() -> None:
    photo = load_image(str(ASTRONAUT.path)).pixels
    jpeg = encode_jpeg(photo)
    assert jpeg[:2] == b"\xff\xd8" and jpeg == encode_jpeg(photo)
    back = decoded(jpeg)
    assert back.shape == photo.shape
    assert np.abs(back.astype(int) - photo.astype(int)).mean() < 3


def test_a_jpeg_over_the_limit_is_encoded_coarser_until_it_fits() -> None:
    photo = load_image(str(ASTRONAUT.path)).pixels
    fine = encode_jpeg(photo)
    small = encode_jpeg(photo, limit=len(fine) // 2)
    assert len(small) <= len(fine) // 2
    assert decoded(small).shape == photo.shape


def test_encoding_does_not_import_pyav() -> None:
    code = (
        "import sys; sys.modules['av'] = None\n"  # an import of av now fails
        "import numpy as np\n"
        "from sprocket_cli.faces.images import encode_jpeg\n"
        "print(len(encode_jpeg(np.full((48, 64, 3), 128, np.uint8))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 100
