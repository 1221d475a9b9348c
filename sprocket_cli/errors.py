"""Every condition the user can cause has an exception named after it.

The CLI boundary knows only :class:`SprocketError`: it prints ``str(error)`` on one line and
exits with ``error.exit_code``. Codes are distinct per family so scripts can tell them apart.
"""

from __future__ import annotations


class SprocketError(Exception):
    """Base of every error the user can cause; carries the process exit code."""

    exit_code: int = 1
    retry: bool = True
    """Whether a task that failed with this may go better on another attempt (the dispatcher
    reads it): False for a failure that would repeat, which fails the job at once."""


class UsageError(SprocketError):
    """A flag or argument that cannot work (bad value, conflicting options)."""

    exit_code = 2


class OptionError(UsageError):
    """A job option with a value that cannot work, named as the core names it (``workers``,
    ``chunk_seconds``): the CLI's boundary words it with the flag the user typed."""

    def __init__(self, option: str, problem: str) -> None:
        self.option = option
        self.problem = problem
        super().__init__(f"{option} {problem}")


class BadFilterError(UsageError):
    """An ffmpeg filter string that ffmpeg rejects on a test frame."""


class BadEncoderError(UsageError):
    """An encoder with options that ffmpeg rejects on a test frame."""


class PipespecError(SprocketError):
    """A pipespec with one or more problems; ``problems`` lists each with its location."""

    exit_code = 3

    def __init__(self, problems: list[str], source: str = "pipespec") -> None:
        self.problems = problems
        self.source = source
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{source}: {len(problems)} {noun}: " + "; ".join(problems))


class UnknownPluginError(SprocketError):
    """A stage or delivery function name that no installed plug-in provides."""

    exit_code = 3


class InputError(SprocketError):
    """The input cannot be read as a video (missing, empty, not media, no video stream)."""

    exit_code = 4


class DownloadError(InputError):
    """A URL input that yt-dlp could not fetch."""

    exit_code = 5


class OutputError(SprocketError):
    """The output cannot be written where asked (exists, missing folder, same as input)."""

    exit_code = 6


class FfmpegError(SprocketError):
    """ffmpeg exited non-zero; the message carries its last error lines."""

    exit_code = 7
    stderr: str = ""
    """All that ffmpeg wrote to stderr, for a caller that finds the cause in its first lines."""


class RepeatingTaskError(SprocketError):
    """A task failure that would repeat however often the task were retried: the dispatcher
    fails the job after one attempt, with this one line."""

    exit_code = 8
    retry = False


class NoFramesError(RepeatingTaskError):
    """A task's filters left no frame to encode: it will do so however often it is retried."""


class FilterFailedError(RepeatingTaskError):
    """An ffmpeg filter failed on a chunk's frames (the first-frame check cannot see a failure
    that comes later in the video); the message names the filter and ffmpeg's reason."""


class EncoderRefusedError(RepeatingTaskError):
    """The encoder refused a chunk's frames; the message names the encoder and its reason."""


class DiskFullError(RepeatingTaskError):
    """A write found no space left on its file system; the message names the path. A retry
    would only fill the disk again, so the job fails at once and can be resumed once there is
    room."""

    exit_code = 9


class JobFailedError(SprocketError):
    """A task exhausted its retries, so the job cannot finish."""

    exit_code = 8


class JobCancelledError(SprocketError):
    """The user cancelled the job (from the TUI); it can be resumed."""

    exit_code = 10
