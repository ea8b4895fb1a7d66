"""The phone app in a browser on a 360 x 740 screen: (1) the patrol walk-through with a problem
reported on the way, (2) my tasks: sign for, handle with notes and an after photo, report back,
(3) offline: actions queued without a network, the cached list with its banner, the replay
once online and the conflict message for a case changed meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from civicgrid.cases import services
from civicgrid.cases.enums import CaseStatus as S
from civicgrid.cases.models import Case, CaseEvent, CasePhoto, Category, IntakeRecord
from civicgrid.cases.seed import seed_categories
from civicgrid.cases.tests.conftest import World, build_world
from civicgrid.cases.tests.photo_helpers import jpeg_with_gps
from civicgrid.conftest import browser_login
from civicgrid.patrols.enums import PatrolStatus
from civicgrid.patrols.models import Patrol, PatrolPolicy
from civicgrid.patrols.tests.conftest import build_patrol_world
from civicgrid.testing.factories import SampleDistrict

CONFLICT = "案件已被他人更新, 请刷新后重试"


@pytest.fixture(autouse=True)
def categories(transactional_db: Any) -> None:
    """Transactional tests flush the tables, the migration's seed catalogue included."""
    seed_categories(Category)


def photo(name: str = "photo.jpg") -> dict[str, Any]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}


def fits_the_phone(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1


def wait_for_service_worker(page: Any) -> None:
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_patrol_with_a_problem_reported_on_the_way(phone_page: Any, district: SampleDistrict, settings: Any) -> None:
    # Emulated positions jump along the road within a second: not a speed to flag here.
    settings.PATROLS_MAX_SPEED_KMH = 100_000
    world = build_patrol_world(district)
    PatrolPolicy.objects.create(area_code=district.district.code, times_per_day=1)
    page = phone_page
    page.context.grant_permissions(["geolocation"], origin=page.base_url)
    track = world.road_track(6, offset_m=5)
    page.context.set_geolocation({"longitude": track[0][0], "latitude": track[0][1], "accuracy": 5})
    browser_login(page, world.road_chief.username)
    page.goto(f"{page.base_url}/m/patrol/")
    assert "0 / 1" in (page.text_content("#duty-count") or "")

    page.click("#patrol-start")
    page.wait_for_selector("#patrol-end:not([hidden])")
    for lon, lat in track[1:4]:
        page.wait_for_timeout(400)
        page.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 5})
    page.wait_for_function(
        "Number(document.getElementById('patrol-queued').textContent) >= 3 || "
        "document.getElementById('patrol-state').textContent.length > 0"
    )

    # A problem found on the way: one step, location and grid pre-filled.
    page.click("#report-panel summary")
    page.click("#report-relocate")
    page.wait_for_function("document.getElementById('report-lon').value !== ''")
    page.wait_for_function("document.getElementById('report-grid').textContent.indexOf('所在网格') === 0")
    page.select_option("#report-category", label="邻里纠纷")
    page.fill("#report-description", "清泉街路口两户居民因占道堆物发生争执")
    page.set_input_files("#report-photos", files=[photo()])
    page.click("#report-submit")
    page.wait_for_function("document.getElementById('report-result').textContent.indexOf('已上报') === 0")
    fits_the_phone(page)

    for lon, lat in track[4:]:
        page.wait_for_timeout(400)
        page.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 5})
    page.wait_for_timeout(400)
    with page.expect_navigation():
        page.click("#patrol-end")  # uploads the queue, ends, reloads
    page.wait_for_selector("#patrol-start:not([hidden])")
    assert "1 / 1" in (page.text_content("#duty-count") or "")
    assert page.is_visible("#duty-met")

    patrol = Patrol.objects.get(worker=world.road_chief)
    assert patrol.status == PatrolStatus.ENDED and patrol.counts_toward_duty
    case = Case.objects.get()
    assert case.channel == "patrol" and case.category.name == "邻里纠纷" and case.grid_id == district.grids[0].pk
    assert case.lon is not None and abs(case.lon - track[3][0]) < 1e-4
    assert CasePhoto.objects.filter(case=case).count() == 1
    assert IntakeRecord.objects.get(case=case).attributes == {"patrol_id": patrol.pk}
    assert case.tracking_code in (page.text_content("#reported-today") or "")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_my_tasks_sign_for_handle_and_report_back(phone_page: Any, district: SampleDistrict) -> None:
    world: World = build_world(district)
    case = world.intake(title="楼道堆放杂物堵塞消防通道")
    assert case.status == S.DISPATCHED and case.current_handler_id == world.chief.pk
    page = phone_page
    browser_login(page, world.chief.username)
    page.goto(f"{page.base_url}/m/")
    assert "楼道堆放杂物" in (page.text_content("#group-sign") or "")
    fits_the_phone(page)
    page.click("#group-sign >> text=楼道堆放杂物堵塞消防通道")
    page.wait_for_selector("#act-acknowledge")
    page.click("#act-acknowledge button")
    page.wait_for_selector("#act-report_back")
    assert page.text_content("#case-status") == "处置中"
    assert "已提交“签收”" in (page.text_content("#m-notices") or "")

    page.fill("#act-record textarea[name=note]", "已联系物业, 约定今天下午清理")
    page.check("#act-record input[name=photo_kind][value=after]")
    page.set_input_files("#act-record input[type=file]", files=[photo("after.jpg")])
    page.click("#act-record button[type=submit]")
    page.wait_for_selector("#task-photos img")
    assert "处置后" in (page.text_content("#task-photos") or "")

    page.fill("#act-report_back textarea[name=note]", "杂物已清理, 消防通道畅通")
    page.click("#act-report_back button[type=submit]")
    page.wait_for_selector("#no-actions")
    assert page.text_content("#case-status") == "已反馈待核查"
    fits_the_phone(page)

    case.refresh_from_db()
    assert case.status == S.REPORTED
    assert CasePhoto.objects.filter(case=case, kind="after").count() == 1
    assert CaseEvent.objects.filter(case=case, action="comment", note__startswith="已联系物业").exists()
    page.goto(f"{page.base_url}/m/")
    assert "楼道堆放杂物" not in (page.text_content("main") or "")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_offline_actions_queue_and_replay_with_a_conflict(phone_page: Any, district: SampleDistrict) -> None:
    world: World = build_world(district)
    first = world.intake(title="路灯不亮")
    second = world.intake(title="井盖缺失")
    page = phone_page
    browser_login(page, world.chief.username)
    page.goto(f"{page.base_url}/m/")
    wait_for_service_worker(page)
    for case in (second, first):  # both task pages are kept by the service worker
        page.goto(f"{page.base_url}/m/tasks/{case.pk}/")
    page.goto(f"{page.base_url}/m/")
    page.wait_for_selector(f"li[data-case='{first.pk}']")

    page.context.set_offline(True)
    page.goto(f"{page.base_url}/m/tasks/{second.pk}/")
    assert page.get_attribute("body", "data-cached") == "1"
    assert "离线: 显示上次的数据, 更新于" in (page.text_content("#offline-banner") or "")
    page.click("#act-acknowledge button")
    page.wait_for_function("document.getElementById('task-notice').textContent.indexOf('待发送: 签收') === 0")
    page.goto(f"{page.base_url}/m/tasks/{first.pk}/")
    page.click("#act-acknowledge button")
    page.wait_for_function("document.getElementById('task-notice').textContent.indexOf('待发送: 签收') === 0")

    # Reloading shows the cached list, with what waits to be sent.
    page.goto(f"{page.base_url}/m/")
    assert page.get_attribute("body", "data-cached") == "1"
    assert page.is_visible("#offline-banner")
    # The queue is read from IndexedDB after the page loads: wait for it to be shown.
    for case in (first, second):
        page.wait_for_selector(f"li[data-case='{case.pk}']:has-text('待发送: 签收')")
    page.reload()
    page.wait_for_selector("#sync-status:has-text('待同步 2')")  # nothing queued is lost

    # Meanwhile the command centre sends the second case to the community worker.
    second.refresh_from_db()
    services.case_dispatch(actor=world.operator, case=second, expected_version=second.version, handler=world.worker)
    assert Case.objects.get(pk=first.pk).status == S.DISPATCHED  # nothing reached the server

    with page.expect_navigation():
        page.context.set_offline(False)  # "online": the queue replays in order, then the page reloads
    page.wait_for_function(f"document.getElementById('m-notices').textContent.indexOf('{CONFLICT}') !== -1")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == S.HANDLING and first.current_handler_id == world.chief.pk
    assert second.status == S.DISPATCHED and second.current_handler_id == world.worker.pk  # not overwritten
    notices = page.text_content("#m-notices") or ""
    assert "“井盖缺失”" in notices and "签收" in notices
    assert page.get_attribute("body", "data-cached") == "0"
    assert page.is_hidden("#sync-status")  # nothing left to send by itself
    # The refused action waits for the user's choice, never resent on its own: discard it.
    queued = "CivicQueue.all(document.body.dataset.user).then(items => items.length)"
    assert page.evaluate(queued) == 1
    page.click(f".m-refused[data-case='{second.pk}'] .m-discard")
    page.wait_for_function(f"{queued}.then(n => n === 0)".replace("CivicQueue", "window.CivicQueue"))
    page.wait_for_selector(".m-refused", state="detached")
    assert Case.objects.get(pk=second.pk).current_handler_id == world.worker.pk

    # Logging out leaves none of this user's pages on the phone.
    data_caches = "caches.keys().then(k => k.filter(n => n.indexOf('civicgrid-m-data-u') === 0).length)"
    assert page.evaluate(data_caches) >= 1
    page.click("#m-logout button")
    page.wait_for_selector("#id_username")
    assert page.evaluate(data_caches) == 0


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_reports_written_offline_are_sent_once_each(phone_page: Any, district: SampleDistrict) -> None:
    world: World = build_world(district)
    page = phone_page
    lon, lat = district.grid_center(district.grids[0])
    page.context.grant_permissions(["geolocation"], origin=page.base_url)
    page.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 10})
    browser_login(page, world.chief.username)
    page.goto(f"{page.base_url}/m/report/")
    wait_for_service_worker(page)
    page.reload()  # this render is the copy the service worker keeps
    page.wait_for_function("document.getElementById('report-lon').value !== ''")
    page.select_option("#report-category", label="邻里纠纷")
    page.fill("#report-description", "在线上报的第一个问题")
    page.click("#report-submit")
    page.wait_for_function("document.getElementById('report-result').textContent.indexOf('已上报') === 0")

    page.context.set_offline(True)
    page.reload()  # the cached copy: its form's key was used above, the page gives each report a new one
    assert page.get_attribute("body", "data-cached") == "1"
    page.wait_for_function("document.getElementById('report-lon').value !== ''")
    for text in ("小区门口垃圾桶满溢无人清运", "路边广告牌松动有坠落危险"):
        page.select_option("#report-category", label="邻里纠纷")
        page.fill("#report-description", text)
        page.set_input_files("#report-photos", files=[photo()])
        page.click("#report-submit")
        page.wait_for_function("document.getElementById('report-result').textContent.indexOf('已保存到手机') !== -1")
        page.wait_for_function("document.getElementById('report-submit').disabled === false")
    assert "待同步 2" in (page.text_content("#sync-status") or "")
    assert Case.objects.count() == 1

    with page.expect_navigation():
        page.context.set_offline(False)
    page.wait_for_function("document.getElementById('sync-status').hidden")
    cases = list(Case.objects.order_by("id"))[1:]
    assert [c.description for c in cases] == ["小区门口垃圾桶满溢无人清运", "路边广告牌松动有坠落危险"]
    assert all(c.channel == "patrol" and c.grid_id == district.grids[0].pk for c in cases)
    assert CasePhoto.objects.filter(case__in=cases, kind="report").count() == 2
    assert len({c.idempotency_key for c in cases}) == 2


# --- several actions per case, offline ------------------------------------------------------

QUEUED = "window.CivicQueue.all(document.body.dataset.user).then(items => items.length)"


def pending_is(page: Any, text: str) -> None:
    page.wait_for_function(f"document.getElementById('task-pending-list').textContent === {text!r}")


def open_task_offline(page: Any, case: Case, *also: Case) -> None:
    """Visit the tasks online (the service worker keeps them), then open one without a network."""
    page.goto(f"{page.base_url}/m/")
    wait_for_service_worker(page)
    for other in also:
        page.goto(f"{page.base_url}/m/tasks/{other.pk}/")
    page.goto(f"{page.base_url}/m/tasks/{case.pk}/")
    page.wait_for_selector("#act-acknowledge")
    page.context.set_offline(True)
    page.reload()
    assert page.get_attribute("body", "data-cached") == "1"


def sign_for_then_report_back(page: Any, note: str = "灯泡已更换, 路灯恢复照明") -> None:
    page.click("#act-acknowledge button")
    pending_is(page, "待发送: 签收")
    page.wait_for_selector("#act-report_back", state="visible")  # the forms of 处置中, predicted
    assert page.is_hidden("#act-acknowledge")
    page.fill("#act-report_back textarea[name=note]", note)
    page.set_input_files("#act-report_back input[type=file]", files=[photo("after.jpg")])
    page.click("#act-report_back button[type=submit]")
    pending_is(page, "待发送: 签收 → 处置反馈")
    page.wait_for_selector("#no-actions", state="visible")  # 已反馈待核查: nothing more to do


def client_ids(case: Case) -> list[tuple[str, str]]:
    return [(e.action, e.data.get("client_id", "")) for e in CaseEvent.objects.filter(case=case).order_by("id")]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_two_actions_on_one_case_offline_land_in_order(phone_page: Any, district: SampleDistrict) -> None:
    world: World = build_world(district)
    case = world.intake(title="路灯不亮")
    page = phone_page
    browser_login(page, world.chief.username)
    open_task_offline(page, case)
    assert page.is_hidden("#act-report_back") and page.is_hidden("#task-pending")

    # 签收, then a handling record the worker thinks better of (cancelled), then 反馈 with a photo.
    page.click("#act-acknowledge button")
    pending_is(page, "待发送: 签收")
    page.fill("#act-record textarea[name=note]", "临时记录, 稍后撤销")
    page.click("#act-record button[type=submit]")
    pending_is(page, "待发送: 签收 → 处置记录")
    assert page.text_content("#cancel-last") == "撤销“处置记录”"
    page.click("#cancel-last")
    pending_is(page, "待发送: 签收")
    page.fill("#act-report_back textarea[name=note]", "灯泡已更换, 路灯恢复照明")
    page.set_input_files("#act-report_back input[type=file]", files=[photo("after.jpg")])
    page.click("#act-report_back button[type=submit]")
    pending_is(page, "待发送: 签收 → 处置反馈")
    page.wait_for_selector("#no-actions", state="visible")

    page.goto(f"{page.base_url}/m/")
    page.wait_for_selector(f"li[data-case='{case.pk}']:has-text('待发送: 签收 → 处置反馈')")
    page.reload()
    page.wait_for_selector("#sync-status:has-text('待同步 2')")
    assert Case.objects.get(pk=case.pk).status == S.DISPATCHED  # nothing reached the server

    with page.expect_navigation():
        page.context.set_offline(False)
    page.wait_for_function("document.getElementById('sync-status').hidden")
    assert page.evaluate(QUEUED) == 0
    case.refresh_from_db()
    assert case.status == S.REPORTED and case.current_handler_id == world.chief.pk
    actions = client_ids(case)
    assert [a for a, _ in actions][-2:] == ["acknowledge", "report_back"]  # in the order taken
    assert all(key for _, key in actions[-2:]) and actions[-2][1] != actions[-1][1]  # a key each
    assert not CaseEvent.objects.filter(case=case, action="comment").exists()  # the cancelled one
    after = CasePhoto.objects.get(case=case, kind="after")
    assert CaseEvent.objects.get(case=case, action="report_back").data["photos"] == [after.pk]
    notices = page.text_content("#m-notices") or ""
    assert "已提交“签收”" in notices and "已提交“处置反馈”" in notices


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_conflict_stops_the_case_chain_and_the_user_chooses(phone_page: Any, district: SampleDistrict) -> None:
    world: World = build_world(district)
    other = world.intake(title="井盖缺失")
    case = world.intake(title="路灯不亮")
    page = phone_page
    browser_login(page, world.chief.username)
    open_task_offline(page, case, other)
    sign_for_then_report_back(page)
    page.goto(f"{page.base_url}/m/tasks/{other.pk}/")
    page.click("#act-acknowledge button")
    pending_is(page, "待发送: 签收")

    # Meanwhile the command centre sends the case to the community worker.
    case.refresh_from_db()
    services.case_dispatch(actor=world.operator, case=case, expected_version=case.version, handler=world.worker)

    with page.expect_navigation():
        page.context.set_offline(False)  # the other case's 签收 lands: the page reloads
    refused = f".m-refused[data-case='{case.pk}']"
    page.wait_for_selector(refused)
    text = page.text_content(refused) or ""
    assert "“路灯不亮” 签收 未能提交: 该案件已被他人更新, 请刷新后重试" in text
    assert "其后的操作暂停发送: 处置反馈" in text
    assert page.is_visible(f"{refused} .m-retry") and page.is_visible(f"{refused} .m-skip")
    case.refresh_from_db()
    assert case.status == S.DISPATCHED and case.current_handler_id == world.worker.pk  # not overwritten
    assert not CaseEvent.objects.filter(case=case, actor=world.chief, action__in=["acknowledge", "report_back"])
    assert Case.objects.get(pk=other.pk).status == S.HANDLING  # cases are independent
    assert page.is_hidden("#sync-status") and page.evaluate(QUEUED) == 2  # held, never resent alone
    page.goto(f"{page.base_url}/m/tasks/{case.pk}/")
    page.wait_for_function("document.getElementById('task-notice').textContent.indexOf('该案件已被他人更新') !== -1")
    page.wait_for_selector(refused)

    # Retry on the case as it is now: refused again, by the workflow this time (not the handler).
    page.click(f"{refused} .m-retry")
    page.wait_for_function(
        f"[...document.querySelectorAll(\"{refused}\")].some(li => li.textContent.indexOf('处置人') !== -1)"
    )
    assert "签收 未能提交" in (page.text_content(refused) or "")
    assert "已被他人更新" not in (page.text_content(refused) or "")
    # Discard it and what follows it.
    page.click(f"{refused} .m-discard")
    page.wait_for_function(f"{QUEUED}.then(n => n === 0)")
    page.wait_for_selector(".m-refused", state="detached")
    case.refresh_from_db()
    assert case.current_handler_id == world.worker.pk and case.status == S.DISPATCHED


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_replay_after_a_lost_answer_does_not_duplicate(phone_page: Any, district: SampleDistrict) -> None:
    world: World = build_world(district)
    case = world.intake(title="路灯不亮")
    page = phone_page
    browser_login(page, world.chief.username)
    open_task_offline(page, case)
    sign_for_then_report_back(page)
    page.goto(f"{page.base_url}/m/")
    page.wait_for_selector("#sync-status:has-text('待同步 2')")

    # The server applies 签收, but its answer never reaches the phone.
    lost: list[str] = []

    def lose_the_answer(route: Any) -> None:
        if not lost:
            route.fetch()  # the server acts ...
            lost.append(route.request.headers.get("idempotency-key", ""))
            route.abort("connectionreset")  # ... and the phone hears nothing
        else:
            route.abort("internetdisconnected")

    # The page and the service worker (Background Sync) both send: route the whole context.
    page.context.route("**/m/tasks/*/act/", lose_the_answer)
    page.context.set_offline(False)
    page.wait_for_function(f"{QUEUED}.then(n => n === 2)")
    page.wait_for_timeout(300)
    case.refresh_from_db()
    assert lost and case.status == S.HANDLING  # applied once, the phone still holds both
    assert page.evaluate(QUEUED) == 2

    page.context.unroute("**/m/tasks/*/act/")
    with page.expect_navigation():
        page.click("#sync-status")  # a tap sends again: 签收 with the same key, then 反馈
    page.wait_for_function("document.getElementById('sync-status').hidden")
    case.refresh_from_db()
    assert case.status == S.REPORTED
    assert CaseEvent.objects.filter(case=case, action="acknowledge").count() == 1
    assert CaseEvent.objects.filter(case=case, action="report_back").count() == 1
    assert CaseEvent.objects.get(case=case, action="acknowledge").data["client_id"] == lost[0]
    assert "此前已提交成功, 未重复执行" in (page.text_content("#m-notices") or "")
    assert CasePhoto.objects.filter(case=case, kind="after").count() == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_background_sync_sends_the_queue_with_the_app_closed(phone_page: Any, district: SampleDistrict) -> None:
    world: World = build_world(district)
    case = world.intake(title="路灯不亮")
    page = phone_page
    browser_login(page, world.chief.username)
    open_task_offline(page, case)
    sign_for_then_report_back(page)
    tags = page.evaluate("navigator.serviceWorker.ready.then(r => r.sync ? r.sync.getTags() : null)")
    if tags is None:
        pytest.skip("this browser has no Background Sync")
    assert "civicgrid-m-queue" in tags

    registrations: list[str] = []
    cdp = page.context.new_cdp_session(page)
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(r["registrationId"] for r in e["registrations"] if "/m/" in r["scopeURL"]),
    )
    cdp.send("ServiceWorker.enable")
    page.goto("about:blank")  # the app is closed: no page sends anything
    page.context.set_offline(False)  # the browser fires the "sync" event on its own ...
    for attempt in range(100):
        if Case.objects.get(pk=case.pk).status == S.REPORTED:
            break
        if attempt == 30 and registrations:  # ... or, where it does not here, DevTools does
            sync = {"origin": page.base_url, "registrationId": registrations[-1], "tag": "civicgrid-m-queue"}
            cdp.send("ServiceWorker.dispatchSyncEvent", {**sync, "lastChance": False})
        page.wait_for_timeout(100)
    case.refresh_from_db()
    assert case.status == S.REPORTED
    assert CaseEvent.objects.filter(case=case, action="acknowledge").count() == 1
    page.goto(f"{page.base_url}/m/")
    page.wait_for_function("document.getElementById('m-notices').textContent.indexOf('已提交“处置反馈”') !== -1")
    assert page.evaluate(QUEUED) == 0
