"""Admin pages of the machine intake: API keys (read-only, revoke action), alert webhook
sources (write-only signing secret, checked category mapping) and the category attributes
inline - each driven through the admin with the test client as a system administrator."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.forms import BaseForm
from django.test import Client

from civicgrid.accounts.enums import Role
from civicgrid.accounts.models import User
from civicgrid.audit.diff import MASK
from civicgrid.audit.enums import AuditAction
from civicgrid.audit.models import AuditEvent
from civicgrid.cases import apikeys, webhooks
from civicgrid.cases.models import Case, Category, CategoryAttribute, WebhookSource
from civicgrid.testing.factories import SampleDistrict, make_user

pytestmark = pytest.mark.django_db

KEYS = "/admin/cases/apikey/"
SOURCES = "/admin/cases/webhooksource/"
SECRET = "s3cret-for-the-hik-platform-2026"


@pytest.fixture
def sysadmin(district: SampleDistrict) -> User:
    return make_user(Role.SYSTEM_ADMIN, district.district, username="sys")


@pytest.fixture
def admin_client(sysadmin: User) -> Client:
    client = Client()
    client.force_login(sysadmin)
    return client


def form_data(form: BaseForm) -> dict[str, Any]:
    """POST data reproducing a rendered (unbound) form's current values."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        key = form.add_prefix(name)
        if field.widget.__class__.__name__ == "CheckboxInput":
            if value:
                data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(v) for v in value]
        else:
            data[key] = "" if value is None else str(value)
    return data


def change_page_data(client: Client, url: str) -> dict[str, Any]:
    """Everything the admin change page would post back unchanged (main form + inlines)."""
    response = client.get(url)
    assert response.status_code == 200
    data = form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(form_data(formset.management_form))
        for form in formset.forms:
            data.update(form_data(form))
    return data


# --- API keys -------------------------------------------------------------------------------


def test_api_key_list_is_read_only_and_never_shows_the_hash(admin_client: Client) -> None:
    issued = apikeys.apikey_create(name="市民App", rate_per_minute=120)
    key = issued.api_key
    listing = admin_client.get(KEYS)
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "市民App" in text and key.prefix in text and "120" in text
    assert key.key_hash not in text and issued.plaintext not in text
    detail = admin_client.get(f"{KEYS}{key.pk}/change/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert key.key_hash not in body and issued.plaintext not in body
    assert 'name="name"' not in body and 'name="rate_per_minute"' not in body  # nothing editable
    assert admin_client.get(f"{KEYS}add/").status_code == 403
    assert admin_client.post(f"{KEYS}{key.pk}/change/", {"name": "x", "rate_per_minute": 1}).status_code == 403
    assert admin_client.get(f"{KEYS}{key.pk}/delete/").status_code == 403
    key.refresh_from_db()
    assert key.name == "市民App" and key.rate_per_minute == 120


def test_revoke_action_calls_the_service_audits_and_the_key_stops_working(admin_client: Client, sysadmin: User) -> None:
    kept = apikeys.apikey_create(name="保留的客户端")
    gone = apikeys.apikey_create(name="停用的客户端")
    response = admin_client.post(
        KEYS, {"action": "revoke_keys", "_selected_action": [gone.api_key.pk], "index": 0}, follow=True
    )
    assert response.status_code == 200
    assert "已吊销 1 个密钥" in response.content.decode()
    gone.api_key.refresh_from_db()
    kept.api_key.refresh_from_db()
    assert gone.api_key.revoked_at is not None and kept.api_key.revoked_at is None
    with pytest.raises(apikeys.InvalidApiKey):
        apikeys.apikey_authenticate(gone.plaintext)
    assert apikeys.apikey_authenticate(kept.plaintext).pk == kept.api_key.pk
    event = AuditEvent.objects.get(
        object_type="cases.apikey", object_id=str(gone.api_key.pk), action=AuditAction.UPDATE
    )
    assert event.actor_id == sysadmin.pk and "revoke" in event.message
    # The state filter and a second revoke (idempotent: nothing revoked, nothing audited again).
    active = admin_client.get(KEYS, {"active": "1"}).content.decode()
    assert "保留的客户端" in active and "停用的客户端" not in active
    again = admin_client.post(
        KEYS, {"action": "revoke_keys", "_selected_action": [gone.api_key.pk], "index": 0}, follow=True
    )
    assert "已吊销 0 个密钥" in again.content.decode()
    assert AuditEvent.objects.filter(object_type="cases.apikey", action=AuditAction.UPDATE).count() == 1


def test_roles_without_cases_admin_cannot_see_or_revoke_keys(district: SampleDistrict) -> None:
    issued = apikeys.apikey_create(name="市民App")
    for role, area in ((Role.COMMAND_OPERATOR, district.district), (Role.SECURITY_ADMIN, district.district)):
        client = Client()
        client.force_login(make_user(role, area))
        assert client.get(KEYS).status_code in (302, 403)
        response = client.post(KEYS, {"action": "revoke_keys", "_selected_action": [issued.api_key.pk], "index": 0})
        assert response.status_code in (302, 403)
    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is None


# --- webhook sources ---------------------------------------------------------------------------


def _deliver(client: Client, name: str, secret: str, delivery: str) -> Any:
    body = json.dumps({"event_type": "illegal_parking", "camera": "CAM-0031"}).encode()
    stamp = str(int(time.time()))
    return client.post(
        f"/api/cases/webhooks/{name}",
        data=body,
        content_type="application/json",
        headers={
            "X-CivicGrid-Timestamp": stamp,
            "X-CivicGrid-Delivery": delivery,
            "X-CivicGrid-Signature": webhooks.sign(secret, stamp, body),
        },
    )


def test_webhook_source_add_sets_the_secret_encrypted_and_never_shows_it(admin_client: Client, sysadmin: User) -> None:
    data = {
        "name": "hik",
        "label": "海康平台",
        "is_active": "on",
        "category_map": json.dumps({"illegal_parking": "SJ0503"}),
        "default_category": "",
        "new_secret": SECRET,
    }
    response = admin_client.post(f"{SOURCES}add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    source = WebhookSource.objects.get(name="hik")
    assert SECRET not in source.secret_cipher and webhooks.source_secret(source) == SECRET
    assert source.category_map == {"illegal_parking": "SJ0503"}
    event = AuditEvent.objects.get(object_type="cases.webhooksource", action=AuditAction.CREATE)
    assert event.actor_id == sysadmin.pk
    assert SECRET not in json.dumps(event.changes, ensure_ascii=False)
    assert event.changes["secret_cipher"]["after"] == MASK
    # Neither the secret nor its ciphertext is ever rendered.
    for url in (SOURCES, f"{SOURCES}{source.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert SECRET not in page and source.secret_cipher not in page
    assert "illegal_parking→SJ0503" in admin_client.get(SOURCES).content.decode()
    # The stored secret signs real deliveries.
    assert _deliver(Client(), "hik", SECRET, "evt-1").status_code == 201


def test_webhook_source_change_keeps_or_replaces_the_secret(admin_client: Client) -> None:
    source, old_secret = webhooks.webhook_source_create(name="hik", category_map={"illegal_parking": "SJ0503"})
    url = f"{SOURCES}{source.pk}/change/"
    data = change_page_data(admin_client, url)
    assert data["new_secret"] == ""  # the password field renders empty
    data["label"] = "海康平台"
    assert admin_client.post(url, data).status_code == 302
    source.refresh_from_db()
    assert source.label == "海康平台" and webhooks.source_secret(source) == old_secret
    data["new_secret"] = SECRET
    assert admin_client.post(url, data).status_code == 302
    source.refresh_from_db()
    assert webhooks.source_secret(source) == SECRET
    updates = AuditEvent.objects.filter(object_type="cases.webhooksource", action=AuditAction.UPDATE)
    rotated = updates.order_by("id").last()
    assert rotated is not None and rotated.changes == {"secret_cipher": {"before": MASK, "after": MASK}}
    client = Client()
    assert _deliver(client, "hik", old_secret, "evt-old").status_code == 401
    assert _deliver(client, "hik", SECRET, "evt-new").status_code == 201


def test_webhook_source_bad_input_writes_nothing(admin_client: Client) -> None:
    base = {
        "name": "hik",
        "label": "",
        "is_active": "on",
        "category_map": json.dumps({"illegal_parking": "SJ0503"}),
        "default_category": "",
        "new_secret": SECRET,
    }
    cases = [
        ({"new_secret": ""}, "新建接入源必须设置签名密钥"),
        ({"new_secret": "short"}, "new_secret"),
        ({"category_map": json.dumps({"illegal_parking": "NOPE99"})}, "NOPE99"),
        ({"category_map": json.dumps(["SJ0503"])}, "事件类别对照应为"),
        ({"default_category": "NOPE99"}, "NOPE99"),
    ]
    for change, expected in cases:
        response = admin_client.post(f"{SOURCES}add/", {**base, **change})
        assert response.status_code == 200, change
        assert expected in response.content.decode(), change
    Category.objects.filter(code="SJ0503").update(is_active=False)
    response = admin_client.post(f"{SOURCES}add/", base)
    assert response.status_code == 200 and "SJ0503" in response.content.decode()
    assert not WebhookSource.objects.exists()
    assert not AuditEvent.objects.filter(object_type="cases.webhooksource").exists()
    assert not Case.objects.exists()


# --- category attributes inline ----------------------------------------------------------------------


def test_category_page_edits_attributes_inline_with_audit(admin_client: Client, sysadmin: User) -> None:
    category = Category.objects.get(code="BJ0102")
    url = f"/admin/cases/category/{category.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "attributes-TOTAL_FORMS" in page and "lamp_state" in page and "lamp_count" in page
    data = change_page_data(admin_client, url)
    total = int(data["attributes-TOTAL_FORMS"])
    assert total == 2
    new = f"attributes-{total}"
    data.update(
        {
            "attributes-TOTAL_FORMS": str(total + 1),
            f"{new}-order": "3",
            f"{new}-code": "pole_no",
            f"{new}-datatype": "string",
            f"{new}-variable": "on",
            f"{new}-description": "路灯杆编号",
            f"{new}-datatype_description": "灯杆上的喷涂编号",
            f"{new}-values": "[]",
            f"{new}-category": str(category.pk),
        }
    )
    # lamp_count (the first row) is deleted in the same save.
    first = next(k for k, v in data.items() if k.endswith("-code") and v == "lamp_count")
    data[first.replace("-code", "-DELETE")] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert sorted(category.attributes.values_list("code", flat=True)) == ["lamp_state", "pole_no"]
    created = AuditEvent.objects.get(object_type="cases.categoryattribute", action=AuditAction.CREATE)
    assert created.actor_id == sysadmin.pk and created.changes["code"]["after"] == "pole_no"
    deleted = AuditEvent.objects.get(object_type="cases.categoryattribute", action=AuditAction.DELETE)
    assert deleted.object_id and deleted.changes["code"]["before"] == "lamp_count"
    # The Open311 service definition now asks the new question.
    definition = Client().get("/open311/v2/services/BJ0102.json").json()
    assert "pole_no" in json.dumps(definition)


def test_category_attribute_list_without_values_is_refused(admin_client: Client) -> None:
    category = Category.objects.get(code="BJ0102")
    url = f"/admin/cases/category/{category.pk}/change/"
    data = change_page_data(admin_client, url)
    total = int(data["attributes-TOTAL_FORMS"])
    new = f"attributes-{total}"
    data.update(
        {
            "attributes-TOTAL_FORMS": str(total + 1),
            f"{new}-order": "3",
            f"{new}-code": "colour",
            f"{new}-datatype": "singlevaluelist",
            f"{new}-description": "灯光颜色",
            f"{new}-values": "[]",
            f"{new}-category": str(category.pk),
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "单选或多选附加项必须列出可选值" in response.content.decode()
    assert not CategoryAttribute.objects.filter(code="colour").exists()
    assert not AuditEvent.objects.filter(object_type="cases.categoryattribute").exists()


def test_read_only_and_other_roles_cannot_edit_attributes(district: SampleDistrict) -> None:
    category = Category.objects.get(code="BJ0102")
    url = f"/admin/cases/category/{category.pk}/change/"
    client = Client()
    client.force_login(make_user(Role.COMMAND_OPERATOR, district.district))
    assert client.get(url).status_code in (302, 403)
    before = CategoryAttribute.objects.count()
    response = client.post(url, {"attributes-TOTAL_FORMS": "0", "attributes-INITIAL_FORMS": "0"})
    assert response.status_code in (302, 403)
    assert CategoryAttribute.objects.count() == before
