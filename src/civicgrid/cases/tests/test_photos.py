"""Photo uploads: content decides, sizes are limited, copies are re-encoded, the public copy
has no EXIF (GPS above all), the staff copy keeps it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from PIL import Image

from civicgrid.audit.models import AuditEvent
from civicgrid.cases import photos
from civicgrid.cases.models import CasePhoto
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.photo_helpers import gps_of, image_bytes, jpeg_with_gps, png_bytes, upload


@pytest.fixture(autouse=True)
def chinese() -> Iterator[None]:
    """These tests read the Chinese messages; do not depend on the language an earlier test
    on the same worker left active."""
    with translation.override("zh-hans"):
        yield


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CASES_PHOTO_PRIVATE_ROOT = tmp_path / "private"
    return tmp_path


def test_png_named_jpg_is_accepted_by_content() -> None:
    checked = photos.check_photo(upload("photo.jpg", png_bytes()))
    assert checked.extension == "jpg"  # re-encoded: an opaque PNG becomes a JPEG
    assert (checked.width, checked.height) == (32, 32)
    with Image.open(io.BytesIO(checked.public_bytes)) as image:
        assert image.format == "JPEG"


def test_transparent_png_stays_png() -> None:
    checked = photos.check_photo(upload("a.png", png_bytes(mode="RGBA"), "image/png"))
    assert checked.extension == "png"
    with Image.open(io.BytesIO(checked.public_bytes)) as image:
        assert image.format == "PNG"


def test_webp_is_accepted() -> None:
    assert photos.check_photo(upload("a.webp", image_bytes("WEBP"), "image/webp")).extension == "jpg"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.jpg", "这不是图片, 只是一段文字".encode()),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200),  # a JPEG header and nothing else
        ("anim.gif", image_bytes("GIF")),  # a real picture, but not an allowed format
        ("doc.png", b"%PDF-1.4 fake"),
    ],
)
def test_fakes_and_other_formats_are_rejected(name: str, data: bytes) -> None:
    with pytest.raises(ValidationError) as exc:
        photos.check_photo(upload(name, data))
    assert "不是有效的图片文件" in exc.value.messages[0]


def test_empty_file_is_rejected() -> None:
    with pytest.raises(ValidationError, match="空的"):
        photos.check_photo(upload("a.jpg", b""))


def test_oversized_file_is_rejected(settings: Any) -> None:
    data = jpeg_with_gps((400, 300))
    settings.CASES_PHOTO_MAX_BYTES = len(data) - 1
    with pytest.raises(ValidationError) as exc:
        photos.check_photo(upload("big.jpg", data))
    assert exc.value.code == "photo_too_large"
    assert "MB" in exc.value.messages[0]


def test_too_many_pixels_is_rejected(settings: Any) -> None:
    settings.CASES_PHOTO_MAX_PIXELS = 100 * 100
    with pytest.raises(ValidationError) as exc:
        photos.check_photo(upload("wide.png", png_bytes((101, 100)), "image/png"))
    assert exc.value.code == "photo_too_many_pixels"
    photos.check_photo(upload("ok.png", png_bytes((100, 100)), "image/png"))


def test_more_than_the_limit_of_photos_is_rejected(settings: Any) -> None:
    settings.CASES_PHOTO_MAX_PER_REPORT = 2
    with pytest.raises(ValidationError, match="最多上传2张"):
        photos.check_photos([upload(f"{i}.png", png_bytes(), "image/png") for i in range(3)])


def test_gps_is_removed_from_the_public_copy_and_kept_in_the_staff_copy() -> None:
    original = jpeg_with_gps()
    assert gps_of(original)  # the test input really carries GPS
    checked = photos.check_photo(upload("gps.jpg", original))
    assert gps_of(checked.staff_bytes)[2] == (40.0, 46.0, 12.5)
    assert gps_of(checked.public_bytes) == {}
    with Image.open(io.BytesIO(checked.public_bytes)) as image:
        assert len(image.getexif()) == 0  # no EXIF at all, not only no GPS
    assert checked.staff_bytes != original  # re-encoded, not the uploaded bytes


def test_photo_add_stores_both_copies_apart_and_audits(world: World, media: Path) -> None:
    case = world.intake()
    photo = photos.photo_add(
        actor=world.operator, case=case, checked=photos.check_photo(upload("g.jpg", jpeg_with_gps()))
    )
    staff_path = Path(photo.image.path)
    public_path = Path(photo.public_image.path)
    assert staff_path.is_relative_to(media / "private")
    assert public_path.is_relative_to(media / "media")
    assert gps_of(staff_path.read_bytes()) and not gps_of(public_path.read_bytes())
    assert photo.area_code == case.area_code
    assert CasePhoto.objects.filter(case=case).count() == 1
    assert AuditEvent.objects.filter(object_type__icontains="casephoto", object_id=str(photo.pk)).exists()
