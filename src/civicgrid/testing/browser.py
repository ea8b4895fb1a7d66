"""Small helpers of the page-coverage browser tests (docs/browser-tests.md): collect the page's
uncaught JavaScript errors, and open a Django admin changelist / change form and check that
the page is the Chinese one with the expected rows."""

from __future__ import annotations

from typing import Any


def js_errors(page: Any) -> list[str]:
    """A list that fills with every uncaught JavaScript error the page throws from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def admin_changelist(
    page: Any, path: str, *, title: str, rows: int | None = None, contains: tuple[str, ...] = ()
) -> Any:
    """Open an admin changelist; its heading names the model in Chinese (选择 X 来修改/来查看),
    it lists ``rows`` rows (when given, else at least one) holding each of ``contains``."""
    response = page.goto(f"{page.base_url}{path}")
    assert response is not None and response.status == 200, (path, response and response.status)
    heading = (page.text_content("#content h1") or "").strip()
    assert heading.startswith("选择") and title in heading, (path, heading)
    assert page.locator("#changelist").count() == 1, path
    found = page.locator("#result_list tbody tr")
    if rows == 0:  # an empty changelist has no table at all
        assert found.count() == 0 and not contains, path
        return found
    if rows is None:
        assert found.count() >= 1, path
    else:
        assert found.count() == rows, (path, found.count())
    listed = page.text_content("#result_list") or ""
    for text in contains:
        assert text in listed, (path, text)
    return found


def admin_open_first(page: Any, *, title: str) -> None:
    """From a changelist, open the first row's change (or view) form."""
    with page.expect_navigation():
        page.locator("#result_list tbody tr").first.locator("th a, td a").first.click()
    heading = (page.text_content("#content h1") or "").strip()
    assert heading.startswith(("修改", "查看")) and title in heading, heading
    assert page.locator("#content form").count() >= 1
