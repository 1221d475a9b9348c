"""Who to look for: the user's ``person`` values made into one :class:`PersonRef`.

Each value is a photo (a file or an http(s) URL), a folder of photos, or, alone and only for a
provider that knows people by name, a name. All photos are of the same person and are averaged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sprocket_cli.faces.base import FaceProvider, LabelledImage, PersonRef
from sprocket_cli.faces.errors import MissingPhotoError, ReferenceImageError
from sprocket_cli.faces.images import load_image

#: Suffixes of the photos taken from a folder (other files there, a README or a video, are
#: left alone); a missing ``person`` ending in one is a mistyped file, never a name.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic")


def person_reference(searcher: FaceProvider, person: Sequence[str]) -> PersonRef:
    """The person from their photos (files, folders, URLs), or by name where ``searcher`` knows names."""
    sources: list[str] = []
    missing: list[str] = []
    for value in person:
        if "://" in value or os.path.isfile(value):
            sources.append(value)
        elif os.path.isdir(value):
            sources += photos_in(value)
        else:
            missing.append(value)
    if missing:
        if len(person) == 1 and searcher.RECOGNIZES_NAMES and not _looks_like_a_path(person[0]):
            return searcher.reference_by_name(person[0])
        raise MissingPhotoError(_not_found(missing, searcher, len(person)))
    # A folder alone names the person; otherwise the provider labels them by the first photo.
    folder = person[0] if len(person) == 1 and os.path.isdir(person[0]) else None
    name = os.path.basename(os.path.normpath(folder)) if folder else None
    return searcher.reference(load_images(sources), name=name)


def photos_in(folder: str) -> list[str]:
    """The photos directly inside ``folder``, by name; an error if there are none."""
    photos = sorted(
        str(path)
        for path in Path(folder).iterdir()
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in PHOTO_SUFFIXES
    )
    if not photos:
        raise ReferenceImageError(
            f"{folder}: no photos in this folder (looked for {' '.join(PHOTO_SUFFIXES)} files in it, "
            "not in its subfolders)"
        )
    return photos


def load_images(sources: Sequence[str]) -> list[LabelledImage]:
    """Every photo of ``sources``, read; one error naming each that cannot be read."""
    images: list[LabelledImage] = []
    problems: list[str] = []
    for source in sources:
        try:
            images.append(load_image(source))
        except ReferenceImageError as error:
            problems.append(str(error))
    if len(problems) == 1:
        raise ReferenceImageError(problems[0])
    if problems:
        raise ReferenceImageError(
            f"{len(problems)} of {len(sources)} photos cannot be read: {'; '.join(problems)}"
        )
    return images


def _looks_like_a_path(value: str) -> bool:
    return value.lower().endswith(PHOTO_SUFFIXES) or os.sep in value or "/" in value


def _not_found(missing: Sequence[str], searcher: FaceProvider, given: int) -> str:
    """One line on the values that are no file or folder, and what to give instead."""
    what = ", ".join(missing)
    if searcher.RECOGNIZES_NAMES:
        alone = " (a celebrity's name is given alone, without photos)" if given > 1 else ""
        return f"{what}: no such file or folder{alone}"
    return (
        f"{what}: neither a file nor a folder; the {searcher.NAME!r} face provider knows people "
        "only from photos: give an image of them (a file, a folder of images, or an http(s) URL)"
    )
