"""AWS conditions the user can cause, turned into one-line :class:`AwsError` messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sprocket_cli.errors import SprocketError

#: What to do when boto3's standard chain finds no credentials.
CREDENTIALS_HINT = "run `aws configure`, set AWS_PROFILE, or pass --profile"

_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "403"}
)
_BAD_CREDENTIALS = frozenset(
    {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId"}
)
_EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})


class AwsError(SprocketError):
    """AWS refused or could not be reached; the message says which call and what to do."""

    exit_code = 12


class AwsSettingsError(AwsError):
    """The settings file ``sprocket setup`` writes is unreadable or incomplete."""


def one_line(text: str) -> str:
    """Whitespace (newlines in service messages included) collapsed, so errors fit one line."""
    return " ".join(text.split())


def explain(exc: BaseException, *, hint: str = "") -> AwsError | None:
    """The :class:`AwsError` for a botocore exception, or None when ``exc`` is not one."""
    from botocore import exceptions as bx

    suffix = f" ({hint})" if hint else ""
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AwsError(f"no AWS credentials found: {CREDENTIALS_HINT}")
    if isinstance(exc, bx.ProfileNotFound):
        return AwsError(f"{one_line(str(exc))}: check the name, or `aws configure --profile NAME`")
    if isinstance(exc, bx.NoRegionError):
        return AwsError("no AWS region: pass --region (or set AWS_REGION)")
    if isinstance(exc, bx.EndpointConnectionError):
        return AwsError(f"{one_line(str(exc))}: check the region and the network")
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "?"))
        message = one_line(str(error.get("Message", "")))[:200]
        if message.startswith("<"):  # an HTML error page, not a service answer: its status says it
            message = f"HTTP {exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode', code)}"
        operation = exc.operation_name
        if code in _DENIED:
            return AwsError(f"access denied to {operation}: {message or code}{suffix}")
        if code in _BAD_CREDENTIALS:
            return AwsError(f"the AWS credentials were refused ({code}): {CREDENTIALS_HINT}")
        if code in _EXPIRED:
            return AwsError(f"the AWS credentials have expired ({code}): refresh them (e.g. aws sso login)")
        return AwsError(f"{operation} failed: {code}: {message}{suffix}")
    if isinstance(exc, bx.BotoCoreError):
        return AwsError(one_line(str(exc)) + suffix)
    return None


@contextmanager
def aws_errors(hint: str = "") -> Iterator[None]:
    """Inside this block, botocore's exceptions become :class:`AwsError` (one line, no traceback)."""
    try:
        yield
    except SprocketError:
        raise
    except Exception as exc:
        translated = explain(exc, hint=hint)
        if translated is None:
            raise
        raise translated from exc
