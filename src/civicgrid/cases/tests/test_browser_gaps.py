"""Browser tests of the case-page forms no other browser test used (docs/browser-tests.md,
"known gaps"): the photo upload on /cases/<id>/, what a resident then sees of the photo on the
public tracking page (the public copy, every EXIF tag removed, while the staff copy keeps the
GPS position), and the photo visibility form (对公众隐藏 / 恢复公开)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from civicgrid.cases.enums import CaseAction
from civicgrid.cases.models import CaseEvent, CasePhoto, Category, PhotoKind
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.cases.tests.photo_helpers import GPS_IFD, gps_of, jpeg_with_gps
from civicgrid.conftest import browser_login
from civicgrid.testing.browser import js_errors
from civicgrid.testing.factories import SampleDistrict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE_SHOWN = "img => img.complete && img.naturalWidth > 0"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CASES_PHOTO_PRIVATE_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def categories(transactional_db: Any) -> None:
    """Transactional tests flush the tables, the migration's seed catalogue included."""
    seed_categories(Category)


@pytest.fixture
def world(district: SampleDistrict) -> World:
    return build_world(district)


def _exif_of(data: bytes) -> dict[int, Any]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


def _wait_image_shown(locator: Any) -> None:
    locator.scroll_into_view_if_needed()  # the images load lazily
    locator.page.wait_for_function(IMAGE_SHOWN, arg=locator.element_handle())


def test_photo_upload_then_the_public_copy_without_exif_then_hidden(page: Any, phone_page: Any, world: World) -> None:
    case = world.intake()  # routed to grid 0's chief
    assert case.current_handler_id == world.chief.pk
    staff_errors = js_errors(page)
    public_errors = js_errors(phone_page)

    # 1. The grid chief uploads a "before" photo taken with a phone that records the position.
    browser_login(page, world.chief.username)
    page.goto(f"{page.base_url}/cases/{case.pk}/")
    section = page.locator("#case-photos")
    assert "暂无照片" in (section.text_content() or "")
    section.locator("select[name=kind]").select_option(PhotoKind.BEFORE)
    section.locator("#id_upload_photos").set_input_files(
        files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps((120, 90))}]
    )
    with page.expect_navigation():
        section.get_by_role("button", name="上传照片").click()
    assert page.url.endswith(f"/cases/{case.pk}/")
    assert "已上传1张照片" in (page.text_content(".messages") or "")
    photo = CasePhoto.objects.get(case=case)
    assert (photo.kind, photo.is_public, photo.uploaded_by_id) == (PhotoKind.BEFORE, True, world.chief.pk)
    assert (photo.width, photo.height) == (120, 90)
    figure = page.locator("#case-photos figure")
    assert figure.count() == 1
    assert "处置前" in (figure.locator("figcaption").text_content() or "")
    staff_img = figure.locator("img")
    assert staff_img.get_attribute("src") == f"/cases/photos/{photo.pk}/"
    _wait_image_shown(staff_img)
    # The staff copy keeps the position (staff may need the place).
    staff_copy = page.request.get(f"{page.base_url}/cases/photos/{photo.pk}/")
    assert staff_copy.status == 200 and gps_of(staff_copy.body())

    # 2. A resident with the tracking code, not logged in, on a phone.
    phone_page.goto(f"{phone_page.base_url}/track/{case.tracking_code}/")
    assert (phone_page.text_content("main h1") or "").strip() == "办理进度"
    assert phone_page.text_content("#tracking-code") == case.tracking_code
    photos = phone_page.locator("section.card", has=phone_page.locator("h2", has_text="照片"))
    assert photos.count() == 1
    public_img = photos.locator("figure img")
    assert public_img.count() == 1
    assert (photos.locator("figcaption").text_content() or "").strip() == "处置前"
    _wait_image_shown(public_img)
    src = public_img.get_attribute("src") or ""
    assert src.startswith("/media/") and src != f"/cases/photos/{photo.pk}/"
    public_copy = phone_page.request.get(f"{phone_page.base_url}{src}")
    assert public_copy.status == 200
    assert _exif_of(public_copy.body()) == {}  # no EXIF at all: no position, no camera
    assert GPS_IFD not in _exif_of(public_copy.body())
    with Image.open(io.BytesIO(public_copy.body())) as image:
        assert image.size == (120, 90)
    # The staff copy is not for the public.
    refused = phone_page.request.get(f"{phone_page.base_url}/cases/photos/{photo.pk}/", max_redirects=0)
    assert refused.status in (302, 403, 404)

    # 3. The command centre hides the photo from the public, with a reason.
    page.context.clear_cookies()
    browser_login(page, world.operator.username)
    page.goto(f"{page.base_url}/cases/{case.pk}/")
    form = page.locator(f"#photo-visibility-{photo.pk}")
    button = form.get_by_role("button", name="对公众隐藏")
    form.locator("input[name=reason]").fill("照片中可见居民面部")
    with page.expect_navigation():
        button.click()
    assert "照片已隐藏" in (page.text_content(".messages") or "")
    assert "已对公众隐藏" in (page.text_content("#case-photos figcaption") or "")
    photo.refresh_from_db()
    assert not photo.is_public
    event = CaseEvent.objects.get(case=case, action=CaseAction.PHOTO_HIDDEN)
    assert event.note == "照片中可见居民面部" and event.actor_id == world.operator.pk
    # The resident's page no longer shows it, and the address seen before no longer works.
    phone_page.reload()
    assert phone_page.locator("main h2", has_text="照片").count() == 0
    assert phone_page.locator("main figure img").count() == 0
    assert phone_page.request.get(f"{phone_page.base_url}{src}").status == 404

    # 4. ... and shown again.
    page.locator(f"#photo-visibility-{photo.pk} input[name=reason]").fill("已打码处理")
    with page.expect_navigation():
        page.locator(f"#photo-visibility-{photo.pk}").get_by_role("button", name="恢复公开").click()
    assert "照片已恢复公开" in (page.text_content(".messages") or "")
    phone_page.reload()
    _wait_image_shown(phone_page.locator("main figure img"))
    assert staff_errors == [] and public_errors == []
