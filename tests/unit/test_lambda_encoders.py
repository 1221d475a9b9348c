"""The ffmpeg `sprocket setup` deploys has the encoders the local one has: a job that runs
locally with ``--codec libsvtav1`` or ``--target-vmaf`` runs the same on Lambda.

The bundle of this machine's arch is run (``-encoders``, ``-filters``); the other arch's
binary cannot run here, so the libraries it was configured with (its ``--enable-lib...``
flags, which ``ffmpeg -version`` prints) are read from the binary itself.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from lambda_bundle.build import Bundle
from sprocket_cli.media.codecs import ALIASES
from sprocket_cli.media.ffmpeg import ffmpeg_exe
from tests.lambda_runtime import machine_arch

pytestmark = pytest.mark.timeout(900)  # a build downloads wheels

#: Encoders a job names: every alias's, AV1's other encoder, and the audio each container
#: takes (AAC in MP4/MOV, Opus in WebM, PCM beside ProRes and DNxHR).
NAMED = {*ALIASES.values(), "libaom-av1", "aac", "libopus", "pcm_s16le", "pcm_s24le"}
#: Libraries of this machine's (x86_64) ffmpeg that the aarch64 build leaves out, and why no
#: job misses them on Lambda.
LOCAL_ONLY = {
    "libvpl": "Intel Quick Sync encoders (h264_qsv, ...): no Lambda CPU has Quick Sync",
    "libxavs2": "the AVS2 encoder, a Chinese broadcast format no editor delivers",
    "libdavs2": "AVS2's decoder",
}
#: Libraries the named encoders and --target-vmaf need.
NEEDED = {"libx264", "libx265", "libsvtav1", "libaom", "libvpx", "libopus", "libvmaf"}


def deployed_ffmpeg(bundle: Bundle, dest: Path) -> Path:
    with zipfile.ZipFile(bundle.path) as z:
        [name] = [n for n in z.namelist() if n.startswith("imageio_ffmpeg/binaries/ffmpeg")]
        z.extract(name, dest)
    binary = dest / name
    binary.chmod(0o755)
    return binary


def listing(exe: Path | str, what: str) -> set[str]:
    """Names in ``ffmpeg -encoders`` / ``-filters`` (the lines after the legend's ``---``)."""
    out = subprocess.run([str(exe), "-hide_banner", what], capture_output=True, text=True, check=True).stdout
    rows = out.split("---", 1)[1].splitlines()
    return {row.split()[1] for row in rows if len(row.split()) > 1}


def libraries(binary: Path | str) -> set[str]:
    """The ``--enable-lib...`` flags ffmpeg was configured with, read from the binary."""
    return {m.decode() for m in re.findall(rb"--enable-(lib[a-z0-9_-]+)", Path(binary).read_bytes())}


def test_the_deployed_ffmpeg_has_every_encoder_of_the_local_one(
    deployed_bundle: Callable[[str], Bundle], tmp_path: Path
) -> None:
    there = deployed_ffmpeg(deployed_bundle(machine_arch()), tmp_path)
    encoders = listing(there, "-encoders")
    assert encoders >= listing(ffmpeg_exe(), "-encoders")
    assert encoders >= NAMED
    assert "libvmaf" in listing(there, "-filters")


def test_the_other_arch_is_built_with_the_local_libraries_but_the_named_ones(
    deployed_bundle: Callable[[str], Bundle], tmp_path: Path
) -> None:
    other = "arm64" if machine_arch() == "x86_64" else "x86_64"
    there = libraries(deployed_ffmpeg(deployed_bundle(other), tmp_path))
    assert there >= NEEDED
    assert libraries(ffmpeg_exe()) - there <= set(LOCAL_ONLY)
