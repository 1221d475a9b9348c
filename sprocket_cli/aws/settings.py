"""Where ``sprocket setup`` deployed the worker: region, bucket, function, ... (never credentials).

The Lambda executor reads these with :meth:`AwsSettings.load`. The file is TOML at
``platformdirs.user_config_dir("sprocket")/aws.toml``, written atomically (a temporary file in
the same folder, then a rename), so a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from sprocket_cli.aws.errors import AwsSettingsError

#: The settings file's name inside the user config folder.
FILE_NAME = "aws.toml"
DEFAULT_FUNCTION = "sprocket-worker"
DEFAULT_ROLE = "sprocket-worker"
#: MB. Lambda gives CPU in proportion to memory; 3008 MB is about two vCPUs, what x264 uses well.
DEFAULT_MEMORY_MB = 3008
#: Graviton: about 20% cheaper per GB-second than x86_64 (see sprocket_cli.plan.pricing).
DEFAULT_ARCH = "arm64"
ARCHITECTURES = ("arm64", "x86_64")


def settings_path() -> Path:
    """``<user config dir>/sprocket/aws.toml`` (``$XDG_CONFIG_HOME`` is honoured on Linux)."""
    return Path(platformdirs.user_config_dir("sprocket")) / FILE_NAME


@dataclass(frozen=True)
class AwsSettings:
    """One deployment of the Sprocket worker, as ``sprocket setup`` left it."""

    #: The AWS region of the bucket and the function, e.g. "us-east-1".
    region: str
    #: The S3 bucket for intermediates (``jobs/``) and bundles (``bundles/``).
    bucket: str
    #: The Lambda function's name.
    function: str = DEFAULT_FUNCTION
    #: The IAM role the function runs as.
    role: str = DEFAULT_ROLE
    #: The function's memory, MB.
    memory_mb: int = DEFAULT_MEMORY_MB
    #: "arm64" or "x86_64".
    arch: str = DEFAULT_ARCH
    #: The code stamp of the deployed bundle (``sprocket_cli.stamp.code_stamp()`` form).
    stamp: str = ""
    #: The AWS profile setup ran with, if one was named; None means boto3's default chain.
    profile: str | None = None
    #: Whether the deployed bundle carries the local face provider (find-face runs on it).
    #: False in settings saved before bundles carried it: those deployments did not.
    faces: bool = False

    @classmethod
    def load(cls, path: Path | None = None) -> AwsSettings | None:
        """The saved settings, or None when setup never ran (or teardown removed them)."""
        path = path or settings_path()
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = tomllib.loads(raw.decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise AwsSettingsError(f"{path}: not valid TOML ({exc}): run sprocket setup again") from None
        return cls._from_dict(data, path)

    @classmethod
    def _from_dict(cls, data: dict[str, Any], path: Path) -> AwsSettings:
        missing = [k for k in ("region", "bucket") if not isinstance(data.get(k), str)]
        if missing:
            raise AwsSettingsError(f"{path}: no {' or '.join(missing)}: run sprocket setup again")
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        kinds = {"memory_mb": int, "faces": bool}
        wrong = [k for k, v in values.items() if type(v) is not kinds.get(k, str)]  # a bool is an int
        if wrong:
            raise AwsSettingsError(f"{path}: bad value for {', '.join(wrong)}: run sprocket setup again")
        return cls(**values)

    def save(self, path: Path | None = None) -> Path:
        """Write the settings atomically; returns the file's path."""
        path = path or settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if v is not None}  # TOML has no null
        fd, tmp = tempfile.mkstemp(prefix=f".{FILE_NAME}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                tomli_w.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @staticmethod
    def delete(path: Path | None = None) -> bool:
        """Remove the settings file; True if there was one."""
        path = path or settings_path()
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True
