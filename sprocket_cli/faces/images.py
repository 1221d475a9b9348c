"""Reference photos in (PyAV, already a dependency, rather than Pillow) and JPEG out (ffmpeg)."""

from __future__ import annotations

import io
import subprocess
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from sprocket_cli.errors import FfmpegError
from sprocket_cli.faces.base import Frame, LabelledImage
from sprocket_cli.faces.errors import ReferenceImageError

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Largest reference photo fetched from a URL, bytes: a photo, not a video by mistake.
MAX_DOWNLOAD = 25 * 1024 * 1024
#: JPEG quantiser for frames sent to a service: 2 is best, 31 worst; 3 is about quality 90.
JPEG_QUALITY = 3
#: Rekognition refuses image bytes over 5 MB; larger JPEGs are re-encoded coarser.
MAX_JPEG_BYTES = 5 * 1024 * 1024


def load_image(source: str, *, timeout: float = 30.0) -> LabelledImage:
    """An RGB photo from a file path or an http(s) URL, turned upright per its EXIF orientation."""
    if source.startswith(("http://", "https://")):
        data: str | io.BytesIO = io.BytesIO(_download(source, timeout))
    else:
        data = source
    import av  # lazy: only reference photos need it, read where the job is planned

    try:
        with av.open(data, mode="r") as container:
            frame = next(container.decode(video=0))
            pixels = frame.to_ndarray(format="rgb24")
            rotation = frame.rotation
    except (av.FFmpegError, StopIteration, OSError) as error:
        raise ReferenceImageError(f"{source}: cannot read it as an image ({error})") from error
    import numpy as np

    # Phone photos are stored sideways with an EXIF orientation; PyAV reports it as a
    # counter-clockwise rotation in degrees, and a face on its side is not detected at all.
    upright = np.rot90(pixels, k=round(rotation / 90)) if rotation else pixels
    return LabelledImage(source, rgb_frame(upright))


def _download(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data: bytes = response.read(MAX_DOWNLOAD + 1)
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise ReferenceImageError(f"{url}: cannot download it ({error})") from error
    if len(data) > MAX_DOWNLOAD:
        raise ReferenceImageError(f"{url}: larger than {MAX_DOWNLOAD // 2**20} MB; is it a photo?")
    return data


def rgb_frame(pixels: NDArray[Any]) -> Frame:
    """``pixels`` as a C-contiguous (height, width, 3) uint8 array.

    dlib crashes the process (a segfault, not an exception) on arrays whose rows are padded, and
    PyAV's ``to_ndarray`` returns exactly such arrays for widths like 970: hence the copy.
    """
    import numpy as np

    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        got = f"{pixels.dtype} {pixels.shape}"
        raise ValueError(f"an RGB frame is a (height, width, 3) uint8 array, not {got}")
    return np.ascontiguousarray(pixels)


def encode_jpeg(frame: Frame, *, quality: int = JPEG_QUALITY, limit: int = MAX_JPEG_BYTES) -> bytes:
    """``frame`` as JPEG bytes no larger than ``limit``, coarser quantisers tried until it fits.

    Encoded by the ffmpeg binary rather than PyAV: frames are sent to a service from workers,
    and the Lambda bundle carries ffmpeg but not PyAV.
    """
    height, width = frame.shape[:2]
    pixels = rgb_frame(frame).tobytes()
    q = quality
    while True:
        data = _mjpeg(pixels, width, height, q)
        if len(data) <= limit or q >= 31:
            return data
        q = min(31, q * 2)


def _mjpeg(pixels: bytes, width: int, height: int, q: int) -> bytes:
    from sprocket_cli.media.ffmpeg import ffmpeg_exe, last_error_lines

    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-i", "pipe:0",
        # The quantiser pinned through qmin = qmax; bitexact: no encoder version in the file.
        "-frames:v", "1", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-qmin", str(q), "-qmax", str(q),
        "-q:v", str(q), "-fflags", "+bitexact", "-flags:v", "+bitexact", "-f", "image2pipe", "pipe:1",
    ]  # fmt: skip
    done = subprocess.run(cmd, input=pixels, capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout:
        stderr = done.stderr.decode(errors="replace")
        error = FfmpegError(f"encoding a {width}x{height} JPEG: {last_error_lines(stderr)}")
        error.stderr = stderr
        raise error
    return done.stdout


def halved(pixels: NDArray[Any], doublings: int) -> tuple[NDArray[Any], int]:
    """``pixels`` halved ``-doublings`` times (none for doublings >= 0), each 2x2 block averaged
    (a stride would alias HOG's gradients), and the factor it shrank by."""
    import numpy as np

    factor = 1
    for _ in range(-doublings):
        h, w = pixels.shape[0] // 2 * 2, pixels.shape[1] // 2 * 2
        wide = pixels[:h, :w].astype(np.uint16)
        summed = wide[0::2, 0::2] + wide[1::2, 0::2] + wide[0::2, 1::2] + wide[1::2, 1::2] + 2
        pixels = np.ascontiguousarray(summed >> 2, dtype=np.uint8)
        factor *= 2
    return pixels, factor
