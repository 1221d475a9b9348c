"""Turn what the user typed into something ffmpeg can read: a local file, or a URL's media."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sprocket_cli.errors import DownloadError, InputError
from sprocket_cli.executors.base import SIGNED_MARGIN_S, UNLIMITED_TASK_S

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


#: Seconds a URL for this machine's own read of an ``s3://`` input stays valid: as long as a
#: task's when the job sets no limit on tasks. A read here is a probe or one pass over the
#: source's audio, and S3 checks a signature when a request starts, not while its body
#: streams; a limit on tasks (``--task-timeout``) says nothing about it.
LOCAL_READ_S = UNLIMITED_TASK_S + SIGNED_MARGIN_S


@dataclass(frozen=True)
class DownloadProgress:
    """One progress report of a URL download."""

    downloaded: int
    """Bytes so far."""
    total: int | None
    """Bytes expected, when the server says."""


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def readable(text: str) -> str:
    """``text`` as ffmpeg reads it on this machine, now, once it is known to be there: an
    ``s3://`` object checked (:class:`InputError` if it is not there or cannot be read) and
    signed as :func:`signed_here` signs it; anything else as it is."""
    if not text.startswith("s3://"):
        return text
    from sprocket_cli.storage.s3 import check_s3_input, presign_input

    client = _input_client()
    check_s3_input(text, client)
    return presign_input(text, client, LOCAL_READ_S)


def signed_here(text: str) -> str:
    """``text`` as ffmpeg reads it on this machine, now: an ``s3://`` object as a URL signed
    for :data:`LOCAL_READ_S` (the probe, the first-frame checks and the output's audio, each
    signing just before its ffmpeg starts), held in memory only: records, the journal, the
    screen and the tasks keep ``s3://``, and workers get URLs of their own from
    :class:`InputSigner`. Signed with the deployment's profile when ``sprocket setup`` ran,
    else boto3's chain; anything else as it is. Signing makes no request."""
    if not text.startswith("s3://"):
        return text
    from sprocket_cli.storage.s3 import presign_input

    return presign_input(text, _input_client(), LOCAL_READ_S)


def _input_client() -> S3Client:
    """A client for reading inputs: the deployment's profile and region, else boto3's chain."""
    from sprocket_cli.backends.aws_lambda import input_client
    from sprocket_cli.storage.s3 import s3_client

    return input_client() or s3_client()


class InputSigner:
    """Presigns a task's ``s3://`` inputs as an executor dispatches it (an
    :data:`~sprocket_cli.executors.base.Signer`): with the client :func:`readable` uses, made
    once, since executors sign from many threads and a client is thread-safe."""

    def __init__(self) -> None:
        self._client: S3Client | None = None
        self._lock = threading.Lock()

    def __call__(self, name: str, seconds: int) -> str:
        from sprocket_cli.storage.s3 import presign_input

        return presign_input(name, self._s3(), seconds)

    def _s3(self) -> S3Client:
        with self._lock:
            if self._client is None:
                self._client = _input_client()
            return self._client


def serves_ranges(url: str) -> bool:
    """Whether ``url`` is a media file its server hands out in byte ranges (not a web page), so
    that remote workers can each read their own chunk of it in place (paper §3.2.1)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Range": "bytes=0-0"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            kind = answer.headers.get("Content-Type", "")
            return bool(answer.status == 206 and not kind.startswith(("text/", "application/xhtml")))
    except (urllib.error.URLError, OSError, ValueError):
        return False  # the download path says what is wrong


def resolve_input(
    text: str, download_dir: Path, progress: Callable[[DownloadProgress], None] | None = None
) -> str:
    """A local path for ``text``: the file itself, or a URL downloaded with yt-dlp."""
    if is_url(text):
        return download(text, download_dir, progress)
    if not Path(text).exists():
        raise InputError(f"{text}: no such file")
    return text


def download(url: str, download_dir: Path, progress: Callable[[DownloadProgress], None] | None = None) -> str:
    """Fetch ``url`` with yt-dlp's Python API (its generic extractor handles plain files)."""
    import yt_dlp  # lazy: large, and only URL inputs need it

    def hook(status: dict[str, Any]) -> None:
        if progress is not None and status.get("status") in ("downloading", "finished"):
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            progress(DownloadProgress(int(status.get("downloaded_bytes") or 0), total))

    download_dir.mkdir(parents=True, exist_ok=True)
    options = {
        "outtmpl": str(download_dir / "source.%(ext)s"),
        "format": "bestvideo*+bestaudio/best",
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "progress_hooks": [hook],
        "logger": _QuietLogger(),
        "ffmpeg_location": _ffmpeg_for_ytdlp(),
    }
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=True)
            path = Path(ydl.prepare_filename(info))
    except yt_dlp.utils.DownloadError as exc:
        message = str(exc).removeprefix("ERROR: ").splitlines()[0]
        raise DownloadError(f"{url}: download failed: {message}") from None
    if not path.exists():  # merged formats change the extension
        found = sorted(download_dir.glob("source.*"))
        if not found:
            raise DownloadError(f"{url}: yt-dlp reported success but wrote no file")
        path = found[0]
    return str(path)


def _ffmpeg_for_ytdlp() -> str:
    from sprocket_cli.media.ffmpeg import ffmpeg_exe

    return ffmpeg_exe()


class _QuietLogger:
    """yt-dlp prints to stderr by default; errors come back as exceptions instead."""

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        pass
