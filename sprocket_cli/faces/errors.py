"""Conditions of face search the user can cause, each under the family the CLI boundary knows."""

from __future__ import annotations

from sprocket_cli.errors import InputError, SprocketError, UsageError


class ReferenceImageError(InputError):
    """A ``--person`` image that cannot serve as a reference; the message names the file."""


class NoFaceError(ReferenceImageError):
    """A reference image in which no face was found."""


class SeveralFacesError(ReferenceImageError):
    """A reference image with more than one face: which one is the person is ambiguous."""


class MissingPhotoError(ReferenceImageError):
    """A ``--person`` value that is no file, folder or URL, where a photo is needed."""


class NamesNotSupportedError(UsageError):
    """A person given by name to a provider that recognises people only from their photos."""


class ForeignReferenceError(UsageError):
    """A person reference made by one provider handed to another (embeddings do not transfer)."""


class FaceModelMissingError(UsageError):
    """The local provider's dlib or model files are not installed."""


class FaceServiceError(SprocketError):
    """A face service (Rekognition) refused the request or kept failing after retries."""

    exit_code = 11
