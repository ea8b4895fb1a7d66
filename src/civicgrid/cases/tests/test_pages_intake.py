"""The hotline console, the walk-in form, and the public pages (resident report, tracking,
rating) through the test client, with their error paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.enums import Channel
from civicgrid.cases.models import Case, CaseEvent, CasePhoto, Category
from civicgrid.cases.tests.conftest import World
from civicgrid.cases.tests.helpers import bring_to
from civicgrid.cases.tests.photo_helpers import gps_of, jpeg_with_gps, png_bytes, upload
from civicgrid.territory.models import Compound, RoadSegment


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CASES_PHOTO_PRIVATE_ROOT = tmp_path / "private"
    cache.clear()
    return tmp_path


def category_id(code: str = "MD01") -> int:
    return Category.objects.get(code=code).pk


def console_data(world: World, **extra: Any) -> dict[str, Any]:
    lon, lat = world.point()
    data = {
        "reporter_phone": "13900139000",
        "reporter_name": "李女士",
        "category": category_id(),
        "priority": "normal",
        "title": "",
        "description": "楼下路灯不亮, 晚上很黑",
        "lon": lon,
        "lat": lat,
        "address": "清泉街小区",
        "idempotency_key": "console-key-1",
        "submit": "create",
    }
    data.update(extra)
    return data


# --- the console ------------------------------------------------------------------------------------


def test_console_renders_with_a_fresh_idempotency_key(client: Client, world: World) -> None:
    client.force_login(world.operator)
    first = client.get(reverse("cases:console"))
    second = client.get(reverse("cases:console"))
    assert first.status_code == 200
    key1 = first.context["form"].initial["idempotency_key"]
    assert key1 and key1 != second.context["form"].initial["idempotency_key"]
    assert f'value="{key1}"' in first.content.decode()
    body = first.content.decode()
    assert "<optgroup" in body  # two-level category select
    assert 'id="pick-map"' in body and "level=grid" in body


def test_console_needs_intake_capability(client: Client, world: World) -> None:
    client.force_login(world.officer)  # department handler: no intake
    assert client.get(reverse("cases:console")).status_code == 403


def test_console_creates_a_routed_case_and_a_double_submit_returns_it(client: Client, world: World) -> None:
    client.force_login(world.operator)
    response = client.post(reverse("cases:console"), console_data(world))
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("cases:detail", args=[case.pk]) + "?new=1"
    assert case.channel == Channel.HOTLINE and case.status == S.DISPATCHED
    assert case.current_handler_id == world.chief.pk and case.title == "楼下路灯不亮, 晚上很黑"
    page = client.get(response["Location"])
    assert 'id="routing-reason"' in page.content.decode() and page.context["routing_reason"]
    again = client.post(reverse("cases:console"), console_data(world))
    assert again.status_code == 302 and again["Location"].startswith(reverse("cases:detail", args=[case.pk]))
    assert Case.objects.count() == 1


def test_console_answer_directly_closes_at_once(client: Client, world: World) -> None:
    client.force_login(world.operator)
    data = console_data(world, submit="answer", answer="已告知办理医保的窗口和材料")
    client.post(reverse("cases:console"), data)
    case = Case.objects.get()
    assert case.status == S.CLOSED and case.outcome == "answered_directly"
    assert case.current_handler_id is None


def test_console_answer_directly_without_answer_creates_nothing(client: Client, world: World) -> None:
    client.force_login(world.operator)
    response = client.post(reverse("cases:console"), console_data(world, submit="answer", answer=""))
    assert response.status_code == 400 and "请填写答复内容" in response.content.decode()
    assert not Case.objects.exists()


def test_console_merge_into_a_duplicate(client: Client, world: World) -> None:
    first = world.intake(idempotency_key="first")
    client.force_login(world.operator)
    client.post(reverse("cases:console"), console_data(world, merge_into=first.pk))
    merged = Case.objects.exclude(pk=first.pk).get()
    assert merged.status == S.MERGED and merged.duplicate_of_id == first.pk


def test_console_merge_into_an_unknown_case_writes_nothing(client: Client, world: World) -> None:
    client.force_login(world.operator)
    response = client.post(reverse("cases:console"), console_data(world, merge_into=999999))
    assert response.status_code == 400 and "要合并到的案件不存在" in response.content.decode()
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"category": "999999"}, "选择一个有效的选项"),
        ({"lon": "200", "lat": "40"}, "经度应在-180到180之间"),
        ({"lon": "111.6", "lat": "95"}, "纬度应在-90到90之间"),
        ({"lon": "111.6", "lat": ""}, "经度和纬度必须同时填写"),
        ({"description": "长" * 2001}, "2000"),
        ({"title": "题" * 101}, "100"),
        ({"description": ""}, "这个字段是必填项"),
        ({"reporter_phone": "电话abc"}, "电话号码格式不正确"),
    ],
)
def test_console_bad_input_has_a_clear_message_and_writes_nothing(
    client: Client, world: World, extra: dict[str, Any], message: str
) -> None:
    client.force_login(world.operator)
    response = client.post(reverse("cases:console"), console_data(world, **extra))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Case.objects.exists()


def test_walk_in_uses_the_walk_in_channel(client: Client, world: World) -> None:
    client.force_login(world.worker)
    assert "来访登记" in client.get(reverse("cases:walk_in")).content.decode()
    client.post(reverse("cases:walk_in"), console_data(world, idempotency_key="walk-1"))
    case = Case.objects.get()
    assert case.channel == Channel.WALK_IN and case.created_by_id == world.worker.pk


def test_caller_history_by_phone(client: Client, world: World) -> None:
    earlier = world.intake()  # reporter 13800138000
    client.force_login(world.operator)
    found = client.post(reverse("cases:console_caller"), {"reporter_phone": "138 0013 8000"})
    assert earlier.tracking_code in found.content.decode()
    none = client.post(reverse("cases:console_caller"), {"reporter_phone": "13700000000"})
    assert 'id="caller-none"' in none.content.decode()
    client.force_login(world.other_worker)  # another community: the earlier case is not theirs
    assert (
        earlier.tracking_code
        not in client.post(reverse("cases:console_caller"), {"reporter_phone": "13800138000"}).content.decode()
    )


def test_possible_duplicates(client: Client, world: World) -> None:
    earlier = world.intake()
    lon, lat = world.point()
    client.force_login(world.operator)
    response = client.post(
        reverse("cases:console_duplicates"),
        {"category": earlier.category_id, "description": "小区门口路灯不亮, 老人夜里出行不便", "lon": lon, "lat": lat},
    )
    body = response.content.decode()
    assert earlier.tracking_code in body and f'data-merge="{earlier.pk}"' in body
    other = client.post(
        reverse("cases:console_duplicates"),
        {"category": category_id("MD01"), "description": "完全不同的事情: 邻居装修噪音", "lon": lon, "lat": lat},
    )
    assert 'id="no-duplicates"' in other.content.decode()


def test_place_search_is_scoped_and_gives_points(client: Client, world: World) -> None:
    g0, g4 = world.d.grids[0], world.d.grids[4]
    Compound.objects.create(
        grid=g0,
        area_code=g0.code,
        code="C1",
        name="清泉小区",
        geometry={"type": "Point", "coordinates": [111.605, 40.765]},
    )
    Compound.objects.create(grid=g4, area_code=g4.code, code="C2", name="清泉花园", geometry=g4.geometry)
    RoadSegment.objects.create(
        street=world.d.streets[0],
        area_code=world.d.streets[0].code,
        code="R1",
        name="清泉街",
        geometry={"type": "LineString", "coordinates": [[111.60, 40.77], [111.62, 40.77]]},
    )
    client.force_login(world.street_admin)  # street 0 only
    results = client.get(reverse("cases:places"), {"q": "清泉"}).json()["results"]
    names = {r["name"]: r for r in results}
    assert set(names) == {"清泉小区", "清泉街"}
    assert (names["清泉小区"]["lon"], names["清泉小区"]["lat"]) == (111.605, 40.765)
    assert (names["清泉街"]["lon"], names["清泉街"]["lat"]) == (111.61, 40.77)  # the road's midpoint
    client.force_login(world.operator)
    whole = {r["name"]: r for r in client.get(reverse("cases:places"), {"q": "清泉"}).json()["results"]}
    cx, cy = world.d.grid_center(g4)
    assert abs(whole["清泉花园"]["lon"] - cx) < 1e-6 and abs(whole["清泉花园"]["lat"] - cy) < 1e-6  # centroid


# --- the resident report -------------------------------------------------------------------------------


def report_data(world: World, **extra: Any) -> dict[str, Any]:
    lon, lat = world.point()
    data = {
        "category": category_id("MS01"),  # the disputes (MD) are not on the public form
        "title": "",
        "description": "小区门口的路灯坏了一周了",
        "lon": lon,
        "lat": lat,
        "address": "",
        "reporter_name": "",
        "reporter_phone": "",
        "idempotency_key": "resident-1",
    }
    data.update(extra)
    return data


def test_anonymous_report_gives_a_tracking_code_and_stores_public_photos(client: Client, world: World) -> None:
    assert client.get(reverse("cases:report")).status_code == 200
    data = report_data(world, photos=[upload("a.jpg", jpeg_with_gps()), upload("b.jpg", png_bytes(), "image/png")])
    response = client.post(reverse("cases:report"), data)
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:track", args=[case.tracking_code]) + "?new=1"
    assert case.channel == Channel.RESIDENT_WEB and case.status == S.RECEIVED and case.created_by is None
    stored = list(CasePhoto.objects.filter(case=case))
    assert len(stored) == 2 and all(p.uploaded_by_id is None for p in stored)
    assert not gps_of(Path(stored[0].public_image.path).read_bytes())
    page = client.get(response["Location"])
    assert case.tracking_code in page.content.decode() and 'id="new-tracking-code"' in page.content.decode()
    assert stored[0].public_image.url in page.content.decode()


def test_report_double_submit_returns_the_same_case(client: Client, world: World) -> None:
    first = client.post(reverse("cases:report"), report_data(world))
    second = client.post(reverse("cases:report"), report_data(world))
    assert first["Location"] == second["Location"] and Case.objects.count() == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"photos": [upload("a.jpg", "假图片".encode())]}, "不是有效的图片文件"),
        ({"photos": [upload(f"{i}.png", png_bytes(), "image/png") for i in range(4)]}, "最多上传3张照片"),
        ({"category": "999999"}, "选择一个有效的选项"),
        ({"category": "@MD01"}, "选择一个有效的选项"),  # a category not offered to the public
        ({"lon": "", "lat": "", "address": ""}, "请在地图上点选位置或填写地址"),
        ({"lon": "111.6", "lat": "-91"}, "纬度应在-90到90之间"),
        ({"description": "长" * 2001}, "2000"),
    ],
)
def test_report_bad_input_writes_nothing(client: Client, world: World, extra: dict[str, Any], message: str) -> None:
    if str(extra.get("category", "")).startswith("@"):
        extra = {**extra, "category": category_id(extra["category"][1:])}
    response = client.post(reverse("cases:report"), report_data(world, **extra))
    assert response.status_code == 400 and message in response.content.decode()
    assert not Case.objects.exists() and not CasePhoto.objects.exists()


def test_report_oversized_photo(client: Client, world: World, settings: Any) -> None:
    settings.CASES_PHOTO_MAX_BYTES = 100
    response = client.post(reverse("cases:report"), report_data(world, photos=[upload("a.jpg", jpeg_with_gps())]))
    assert response.status_code == 400 and "照片不能超过" in response.content.decode()
    assert not Case.objects.exists()


def test_report_with_address_only(client: Client, world: World) -> None:
    client.post(reverse("cases:report"), report_data(world, lon="", lat="", address="清泉街12号"))
    case = Case.objects.get()
    assert case.lon is None and case.address == "清泉街12号" and case.area_code == world.d.district.code


def test_report_is_rate_limited_per_ip(client: Client, world: World, settings: Any) -> None:
    settings.CASES_PUBLIC_RATE_LIMIT = (2, 3600)
    for i in range(2):
        assert client.post(reverse("cases:report"), report_data(world, idempotency_key=f"r{i}")).status_code == 302
    blocked = client.post(reverse("cases:report"), report_data(world, idempotency_key="r3"))
    assert blocked.status_code == 429 and "提交过于频繁" in blocked.content.decode()
    assert Case.objects.count() == 2
    other_ip = client.post(reverse("cases:report"), report_data(world, idempotency_key="r4"), REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 302


def test_public_report_map_uses_public_grid_outlines(client: Client, world: World) -> None:
    collection = client.get(reverse("cases:public_grids")).json()
    assert len(collection["features"]) == 8
    assert set(collection["features"][0]["properties"]) == {"code", "name"}


# --- tracking and rating -----------------------------------------------------------------------------


def test_track_lookup(client: Client, world: World) -> None:
    case = world.intake()
    response = client.get(reverse("cases:track_lookup"), {"code": case.tracking_code.lower()})
    assert response.status_code == 302 and response["Location"] == reverse("cases:track", args=[case.tracking_code])
    assert "查询码格式不正确" in client.get(reverse("cases:track_lookup"), {"code": "!!"}).content.decode()
    missing = client.get(reverse("cases:track", args=["0000000000"]))
    assert missing.status_code == 404 and "查询码不存在" in missing.content.decode()


def test_track_page_shows_no_personal_data_or_notes(client: Client, world: World) -> None:
    case = bring_to(world, S.REPORTED)  # report-back note: "已更换灯泡"
    response = client.get(reverse("cases:track", args=[case.tracking_code]))
    body = response.content.decode()
    assert response.status_code == 200 and case.get_status_display() in body
    assert "王先生" not in body and "8000" not in body and "已更换灯泡" not in body
    assert world.chief.username not in body and str(world.chief) not in body
    assert 'id="rating-form"' not in body  # not closed yet
    rate = client.post(reverse("cases:track", args=[case.tracking_code]), {"satisfaction": "5", "resolved": "yes"})
    assert rate.status_code == 400 and "不能执行“回访评价”" in rate.content.decode()
    Case.objects.filter(pk=case.pk).update(is_hidden=True)
    assert client.get(reverse("cases:track", args=[case.tracking_code])).status_code == 404


def test_resident_rates_a_closed_case(client: Client, world: World) -> None:
    case = bring_to(world, S.CLOSED)
    url = reverse("cases:track", args=[case.tracking_code])
    assert 'id="rating-form"' in client.get(url).content.decode()
    bad = client.post(url, {"satisfaction": "9", "resolved": "yes"})
    assert bad.status_code == 400
    response = client.post(url, {"satisfaction": "4", "resolved": "yes", "comment": "很快就修好了"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == S.EVALUATED and case.satisfaction == 4 and case.resolved is True
    event = CaseEvent.objects.filter(case=case).last()
    assert event is not None and event.actor is None and event.actor_label == "反映人"
    assert "4 / 5" in client.get(url).content.decode()


def test_resident_pages_answer_at_the_site_root(client, db):
    assert client.get("/report/").status_code == 200
    assert client.get("/track/").status_code == 200
    assert client.get("/track/NO-SUCH-CODE/").status_code == 404
