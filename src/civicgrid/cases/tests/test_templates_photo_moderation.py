"""Canned replies (常用回复) on the case page and the console, and photo moderation (hide a
photo from the public / show it again) through the service and the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from civicgrid.audit.models import AuditEvent
from civicgrid.cases import photos
from civicgrid.cases.enums import CaseAction as A
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, CaseEvent, CasePhoto, Category, ResponseTemplate
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import bring_to
from civicgrid.cases.tests.photo_helpers import jpeg_with_gps, upload
from civicgrid.common.errors import Forbidden, NotFound


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CASES_PHOTO_PRIVATE_ROOT = tmp_path / "private"
    return tmp_path


def make_templates(case: Case) -> dict[str, ResponseTemplate]:
    other = Category.objects.filter(is_active=True).exclude(pk__in=[case.category_id, case.category.parent_id or 0])
    made = {
        "own": ResponseTemplate.objects.create(
            title="路灯已报修", body="已通知路灯所, 三日内修复。", category=case.category
        ),
        "general": ResponseTemplate.objects.create(title="通用答复", body="感谢您的反映, 我们已处理。"),
        "inactive": ResponseTemplate.objects.create(title="停用答复", body="不应出现", is_active=False),
        "other": ResponseTemplate.objects.create(title="别类答复", body="其他类别", category=other.first()),
    }
    if case.category.parent_id:
        made["parent"] = ResponseTemplate.objects.create(
            title="大类答复", body="大类的答复", category_id=case.category.parent_id
        )
    return made


# --- canned replies ---------------------------------------------------------------------------


def test_case_page_offers_the_category_and_general_templates_on_reply_forms(client: Client, world: World) -> None:
    case = bring_to(world, S.HANDLING)
    made = make_templates(case)
    client.force_login(world.chief)
    response = client.get(reverse("cases:detail", args=[case.pk]))
    body = response.content.decode()
    titles = [t.title for t in response.context["response_templates"]]
    expected = {made["own"].title, made["general"].title} | ({made["parent"].title} if "parent" in made else set())
    assert set(titles) == expected
    assert titles[-1] == made["general"].title  # specific ones first
    assert 'id="template-report_back"' in body and 'id="template-return_to_dispatcher"' in body
    assert f'value="{made["own"].body}"' in body and "停用答复" not in body and "别类答复" not in body
    # Forms whose note is not a reply get no select.
    assert 'id="template-request_extension"' not in body and 'id="template-escalate"' not in body


def test_no_templates_without_a_reply_form(client: Client, world: World) -> None:
    case = world.intake()  # dispatched to the chief: acknowledge, return, transfer, escalate
    make_templates(case)
    client.force_login(world.leader)  # no actions at all
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.context["response_templates"] == [] and "常用回复" not in response.content.decode()


def test_template_list_is_one_query(world: World, django_assert_num_queries: Any) -> None:
    from civicgrid.cases import page_selectors

    case = Case.objects.select_related("category").get(pk=world.intake().pk)
    make_templates(case)
    for i in range(5):
        ResponseTemplate.objects.create(title=f"通用{i}", body="…")
    with django_assert_num_queries(1):
        page_selectors.response_templates(case.category)
    with django_assert_num_queries(1):
        items = page_selectors.console_response_templates()
        assert {t.category.name if t.category else "" for t in items}


def test_console_lists_active_templates_with_their_category(client: Client, world: World) -> None:
    case = world.intake()
    made = make_templates(case)
    client.force_login(world.operator)
    response = client.get(reverse("cases:console"))
    body = response.content.decode()
    assert 'id="console-template"' in body and 'data-target="id_answer"' in body
    assert f'data-category="{case.category_id}"' in body and made["general"].title in body
    assert "停用答复" not in body


# --- photo moderation: the service -------------------------------------------------------------


def add_photo(world: World, case: Case) -> CasePhoto:
    return photos.photo_add(
        actor=world.operator, case=case, checked=photos.check_photo(upload("p.jpg", jpeg_with_gps()))
    )


def test_hide_and_show_a_photo_audited_and_on_the_timeline(
    world: World, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    case = world.intake()
    photo = add_photo(world, case)
    old_public = Path(photo.public_image.path)
    version = Case.objects.get(pk=case.pk).version
    with django_capture_on_commit_callbacks(execute=True):
        hidden = photos.case_photo_set_public(actor=world.street_admin, photo=photo, is_public=False, reason="含有人脸")
    photo.refresh_from_db()
    assert not photo.is_public and hidden.pk == photo.pk
    # A public URL seen before no longer works: the public copy got a new name.
    assert not old_public.exists() and Path(photo.public_image.path).exists()
    event = CaseEvent.objects.filter(case=case, action=A.PHOTO_HIDDEN).get()
    assert event.note == "含有人脸" and not event.is_transition and event.data["photo"]["id"] == photo.pk
    audit = AuditEvent.objects.filter(object_id=str(case.pk)).order_by("-id").first()
    assert audit is not None and "含有人脸" in audit.message
    assert Case.objects.get(pk=case.pk).version == version  # no stale forms
    # Same value again: nothing written.
    photos.case_photo_set_public(actor=world.street_admin, photo=photo.pk, is_public=False, reason="再次")
    assert CaseEvent.objects.filter(case=case, action=A.PHOTO_HIDDEN).count() == 1
    photos.case_photo_set_public(actor=world.worker, photo=photo.pk, is_public=True, reason="已打码")
    photo.refresh_from_db()
    assert photo.is_public and CaseEvent.objects.filter(case=case, action=A.PHOTO_SHOWN).count() == 1


def test_photo_moderation_refusals_write_nothing(world: World) -> None:
    case = world.intake()
    photo = add_photo(world, case)
    events = CaseEvent.objects.count()
    with pytest.raises(Forbidden):
        photos.case_photo_set_public(actor=world.chief, photo=photo, is_public=False, reason="x")
    with pytest.raises(NotFound):
        photos.case_photo_set_public(actor=world.other_worker, photo=photo, is_public=False, reason="x")
    with pytest.raises(ValidationError):
        photos.case_photo_set_public(actor=world.operator, photo=photo, is_public=False, reason="  ")
    with pytest.raises(PermissionDenied):
        photos.case_photo_set_public(actor=world.leader, photo=photo, is_public=False, reason="x")
    photo.refresh_from_db()
    assert photo.is_public and CaseEvent.objects.count() == events


# --- photo moderation: the pages ----------------------------------------------------------------


def test_hide_through_the_page_and_absent_from_public_tracking_and_open311(client: Client, world: World) -> None:
    case = world.intake(category="BJ0102")
    photo = add_photo(world, case)
    shown_url = photo.public_image.url
    assert shown_url in client.get(reverse("cases:track", args=[case.tracking_code])).content.decode()
    client.force_login(world.operator)
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert f'id="photo-visibility-{photo.pk}"' in page and "对公众隐藏" in page
    url = reverse("cases:photo_visibility", args=[photo.pk])
    response = client.post(url, {"is_public": "0", "reason": "拍到了居民面部"})
    assert response.status_code == 302
    photo.refresh_from_db()
    assert not photo.is_public
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "已对公众隐藏" in page and "照片已隐藏" in page and "拍到了居民面部" in page and "恢复公开" in page
    client.logout()
    public = client.get(reverse("cases:track", args=[case.tracking_code])).content.decode()
    assert shown_url not in public and photo.public_image.url not in public
    assert "照片已隐藏" not in public and "拍到了居民面部" not in public
    open311 = client.get(f"/open311/v2/requests/{case.pk}.json")
    assert open311.status_code == 200
    text = open311.content.decode()
    assert str(photo.public_image.name) not in text and shown_url not in text


def test_photo_visibility_page_refusals(client: Client, world: World) -> None:
    case = world.intake()
    photo = add_photo(world, case)
    url = reverse("cases:photo_visibility", args=[photo.pk])
    client.force_login(world.chief)  # in scope, no moderation right
    assert (
        f'id="photo-visibility-{photo.pk}"' not in client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    )
    assert client.post(url, {"is_public": "0", "reason": "x"}).status_code == 403
    client.force_login(world.other_worker)  # has the right, out of scope
    assert client.post(url, {"is_public": "0", "reason": "x"}).status_code == 404
    client.force_login(world.operator)
    assert client.get(url).status_code == 405
    response = client.post(url, {"is_public": "0", "reason": ""}, follow=True)
    assert "请填写原因" in response.content.decode()
    photo.refresh_from_db()
    assert photo.is_public and not CaseEvent.objects.filter(action=A.PHOTO_HIDDEN).exists()
