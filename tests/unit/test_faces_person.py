"""Who ``--person`` names: photos, folders of photos, a celebrity's name (Rekognition only), and one
line naming every photo that cannot serve."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.config import Config

from sprocket_cli.faces.errors import (
    MissingPhotoError,
    NoFaceError,
    ReferenceImageError,
    SeveralFacesError,
)
from sprocket_cli.faces.images import encode_jpeg, load_image
from sprocket_cli.faces.local import LocalFaceProvider
from sprocket_cli.faces.person import person_reference
from sprocket_cli.faces.rekognition import RekognitionFaceProvider
from sprocket_cli.stages.faces import FindFacesConfig
from tests.facemedia import ASTRONAUT, OBAMA


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The astronaut, her mirror image, a stage with no one, and a photo of two people."""
    folder = tmp_path_factory.mktemp("photos")
    astronaut = load_image(str(ASTRONAUT.path)).pixels
    made = {
        "mirrored": encode_jpeg(np.ascontiguousarray(astronaut[:, ::-1])),
        "blank": encode_jpeg(np.full((300, 400, 3), 90, dtype=np.uint8)),
        "group": encode_jpeg(np.hstack([astronaut, load_image(str(OBAMA.path)).pixels])),
    }
    paths = {"astronaut": folder / "astronaut.jpg"}
    shutil.copy(ASTRONAUT.path, paths["astronaut"])
    for name, jpeg in made.items():
        paths[name] = folder / f"{name}.jpg"
        paths[name].write_bytes(jpeg)
    return paths


def folder_of(tmp_path: Path, name: str, *photos: Path) -> Path:
    """A folder named ``name`` holding copies of ``photos`` and files that are no photos."""
    folder = tmp_path / name
    folder.mkdir()
    for photo in photos:
        shutil.copy(photo, folder / photo.name)
    (folder / "notes.txt").write_text("who is who")
    (folder / ".hidden.jpg").write_bytes(b"not even a jpeg")
    (folder / "older").mkdir()  # subfolders are not searched
    shutil.copy(photos[0], folder / "older" / "elsewhere.jpg")
    return folder


def test_a_folder_gives_the_mean_of_its_photos(
    tmp_path: Path, photos: dict[str, Path], local: LocalFaceProvider
) -> None:
    folder = folder_of(tmp_path, "eileen", photos["astronaut"], photos["mirrored"])
    ref = person_reference(local, [str(folder)])
    assert ref.name == "eileen"  # the folder names the person
    each = [
        np.array(local.reference([load_image(str(photos[k]))]).embedding) for k in ("astronaut", "mirrored")
    ]
    # Mirrored, the face embeds elsewhere: the mean is of two different vectors, and it is exact.
    assert np.linalg.norm(each[0] - each[1]) > 0.05
    np.testing.assert_allclose(ref.embedding, (each[0] + each[1]) / 2, atol=1e-9)
    # A folder and a file together: all three photos averaged, labelled by the first.
    three = person_reference(local, [str(folder), str(photos["astronaut"])])
    np.testing.assert_allclose(three.embedding, (2 * each[0] + each[1]) / 3, atol=1e-9)
    assert three.name == "astronaut.jpg"


def test_every_photo_without_exactly_one_face_is_named_in_one_line(
    tmp_path: Path, photos: dict[str, Path], local: LocalFaceProvider
) -> None:
    folder = folder_of(tmp_path, "mixed", photos["astronaut"], photos["blank"], photos["group"])
    with pytest.raises(ReferenceImageError) as caught:
        person_reference(local, [str(folder)])
    message = str(caught.value)
    assert not isinstance(caught.value, NoFaceError | SeveralFacesError)  # both faults at once
    assert "\n" not in message
    assert message.startswith("2 of 3 reference images need exactly one face: ")
    assert f"{folder / 'blank.jpg'}: no face; {folder / 'group.jpg'}: 2 faces (" in message
    assert "faces under about 80 pixels, or turned away, are not found" in message
    assert "crop group photos to the one person" in message


def test_two_photos_without_a_face_are_both_named(photos: dict[str, Path], local: LocalFaceProvider) -> None:
    values = [str(photos["blank"]), str(photos["astronaut"]), str(photos["blank"])]
    with pytest.raises(
        NoFaceError, match=r"^2 of 3 reference images need exactly one face: .*blank\.jpg: no face;"
    ):
        person_reference(local, values)


def test_a_folder_without_photos_says_so(tmp_path: Path, local: LocalFaceProvider) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no photos here")
    with pytest.raises(ReferenceImageError, match=r"empty: no photos in this folder \(looked for \.jpg"):
        person_reference(local, [str(tmp_path / "empty")])


def test_photos_that_cannot_be_read_are_all_named(tmp_path: Path, local: LocalFaceProvider) -> None:
    broken = [tmp_path / "a.jpg", tmp_path / "b.png"]
    for path in broken:
        path.write_bytes(b"\x00" * 64)
    with pytest.raises(ReferenceImageError) as caught:
        person_reference(local, [str(p) for p in broken])
    message = str(caught.value)
    assert message.startswith("2 of 2 photos cannot be read: ") and "\n" not in message
    assert f"{broken[0]}: cannot read it as an image" in message
    assert f"{broken[1]}: cannot read it as an image" in message


@pytest.mark.parametrize("value", ["Jeff Bezos", "kid.jpg", "photos/kid"])
def test_the_local_provider_asks_for_an_image_instead(value: str, local: LocalFaceProvider) -> None:
    with pytest.raises(MissingPhotoError) as caught:
        person_reference(local, [value])
    assert str(caught.value) == (
        f"{value}: neither a file nor a folder; the 'local' face provider knows people only from "
        "photos: give an image of them (a file, a folder of images, or an http(s) URL)"
    )


@pytest.fixture(scope="module")
def rekognition() -> RekognitionFaceProvider:
    # Nothing here reaches the service: a name is checked only when frames come.
    client = boto3.client(
        "rekognition",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )
    return RekognitionFaceProvider(client=client)


def test_rekognition_keeps_its_name_lookup(rekognition: RekognitionFaceProvider) -> None:
    ref = person_reference(rekognition, ["Jeff  Bezos"])
    assert (ref.name, ref.celebrity, ref.images) == ("Jeff Bezos", True, ())
    with pytest.raises(MissingPhotoError, match=r"^kid\.jpg: no such file or folder$"):
        person_reference(rekognition, ["kid.jpg"])
    with pytest.raises(
        MissingPhotoError, match=r"^Jeff Bezos: no such file or folder \(a celebrity's name is"
    ):
        person_reference(rekognition, ["Jeff Bezos", str(ASTRONAUT.path)])


def test_one_plain_string_is_one_person() -> None:
    assert FindFacesConfig(person="kid.jpg").person == ("kid.jpg",)  # type: ignore[arg-type]
    assert FindFacesConfig(person=["a.jpg", "b.jpg"]).person == ("a.jpg", "b.jpg")  # type: ignore[arg-type]
