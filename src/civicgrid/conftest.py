"""Fixtures for every app's tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from civicgrid.testing.factories import TEST_PASSWORD, SampleDistrict, build_sample_district, make_user

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CIVICGRID_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(autouse=True)
def default_language() -> Iterator[None]:
    """Every test starts in the default language (Chinese): a request in English earlier in
    the same worker thread must not change what the next test's messages say."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fresh_locate_index() -> Iterator[None]:
    """Each test's database is rolled back afterwards, which no signal reports: every test
    starts with a stale in-process locate index so it never answers from earlier rows."""
    from civicgrid.territory import locate

    locate.mark_stale()
    yield
    locate.mark_stale()


@pytest.fixture
def district(db: Any) -> SampleDistrict:
    return build_sample_district()


@pytest.fixture
def user_factory(db: Any) -> Any:
    return make_user


@pytest.fixture
def password() -> str:
    return TEST_PASSWORD


# --- Browser tests (Playwright driving Debian's chromium; never a downloaded browser) ---


def _serve_one_request_at_a_time() -> None:
    """The live server shares the test's single in-memory SQLite connection with its request
    threads; two requests at once on one sqlite3 connection fail at random ("not an error",
    a lost session). A server without threads answers one request at a time and closes each
    connection, which is all a browser test needs."""
    from django.core.servers.basehttp import WSGIServer
    from django.test.testcases import LiveServerThread

    class SerialWSGIServer(WSGIServer):
        def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
            # Without threads the request runs in the server thread, which LiveServerThread
            # has already given the shared connections.
            super().__init__(*args, **kwargs)

    LiveServerThread.server_class = SerialWSGIServer  # type: ignore[assignment]


_serve_one_request_at_a_time()


def _browser_unavailable_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        return f"no chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _browser_unavailable_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
    # under a running loop unless told that this test thread is safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    pg.base_url = live_server.url
    yield pg
    context.close()


@pytest.fixture
def phone_page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    pg = context.new_page()
    pg.set_default_timeout(15000)
    pg.base_url = live_server.url
    yield pg
    context.close()


def browser_login(page: Any, username: str, password: str = TEST_PASSWORD) -> None:
    page.goto(f"{page.base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")
