"""The English interface: a complete, correct catalogue, and pages that really switch language.

Msgids are Simplified Chinese (the default language); src/civicgrid/locale/en holds the English
translation. The catalogue tests read the committed .po/.mo files directly, so they fail as soon as
someone adds a string without translating it (after makemessages) or forgets compilemessages.
"""

from __future__ import annotations

import ast
import gettext as pygettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from civicgrid.accounts.enums import Role
from civicgrid.conftest import browser_login
from civicgrid.testing.factories import TEST_PASSWORD, SampleDistrict

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
PO_FILE = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
MO_FILE = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.mo"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# Python %-placeholders (named or positional, with flags/width/precision) and str.format fields.
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc%]|\{[A-Za-z_][A-Za-z0-9_]*\}")
# msgstrs that may legitimately contain Chinese: import-file rules that quote the Chinese values
# a file must hold.
CHINESE_ALLOWED = {
    "残疾人标签须写作 残疾人:类别:等级, 如 残疾人:肢体残疾:二级。",
    "性别应为 男 或 女。",
}


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def _unquote(text: str) -> str:
    value = ast.literal_eval(text.strip())
    assert isinstance(value, str)
    return value


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: enough for Django's makemessages output (no obsolete entries)."""
    entries: list[Entry] = []
    current = Entry()
    key: tuple[str, int] | None = None

    def flush() -> None:
        nonlocal current
        if current.line:
            entries.append(current)
        current = Entry()

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush()
            key = None
            continue
        if line.startswith("#~"):
            raise AssertionError(f"{path}:{number}: obsolete entry; run makemessages with --no-obsolete")
        if line.startswith("#,"):
            current.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        if not current.line:
            current.line = number
        if line.startswith('"'):
            assert key is not None, f"{path}:{number}: continuation line without a keyword"
            name, index = key
            if name == "msgstr":
                current.msgstr[index] += _unquote(line)
            else:
                setattr(current, name, (getattr(current, name) or "") + _unquote(line))
            continue
        keyword, _, rest = line.partition(" ")
        match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if match:
            key = ("msgstr", int(match.group(1)))
            current.msgstr[key[1]] = _unquote(rest)
        elif keyword == "msgstr":
            key = ("msgstr", 0)
            current.msgstr[0] = _unquote(rest)
        elif keyword in {"msgid", "msgid_plural", "msgctxt"}:
            key = (keyword, 0)
            setattr(current, keyword, _unquote(rest))
        else:
            raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
    flush()
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    entries = parse_po(PO_FILE)
    header = [e for e in entries if e.msgid == ""]
    assert len(header) == 1, "the .po file needs exactly one header entry"
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header[0].msgstr[0]
    return [e for e in entries if e.msgid != ""]


def _where(entry: Entry) -> str:
    return f"{PO_FILE.name}:{entry.line} {entry.msgid!r}"


# --- (a) complete: nothing untranslated, nothing fuzzy ------------------------------------------


def test_catalogue_is_not_trivially_small(catalogue: list[Entry]) -> None:
    # The parser must really see the entries (a broken parser would pass every check below).
    assert len(catalogue) > 400
    assert any(e.msgid_plural for e in catalogue)
    assert any(e.msgctxt for e in catalogue)


def test_every_entry_is_translated_and_not_fuzzy(catalogue: list[Entry]) -> None:
    untranslated = [_where(e) for e in catalogue if not e.msgstr or not all(s.strip() for s in e.msgstr.values())]
    fuzzy = [_where(e) for e in catalogue if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == [], "fuzzy entries are ignored at runtime: translate them and remove the flag"


def test_plural_entries_have_both_english_forms(catalogue: list[Entry]) -> None:
    for entry in catalogue:
        if entry.msgid_plural:
            assert sorted(entry.msgstr) == [0, 1], _where(entry)
            assert entry.msgstr[0] != entry.msgstr[1], _where(entry)


def test_translations_are_english_not_copied_chinese(catalogue: list[Entry]) -> None:
    chinese = [
        _where(e) for e in catalogue if e.msgid not in CHINESE_ALLOWED and any(CJK.search(s) for s in e.msgstr.values())
    ]
    assert chinese == []


# --- (b) placeholders survive translation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("共 %(n)s 条记录", ["%(n)s"]),
        ("约%(a).1f平方米 %(n)d 个, %s", ["%(a).1f", "%(n)d", "%s"]),
        ("{name} 100%%", ["{name}", "%%"]),
    ],
)
def test_placeholder_pattern(text: str, expected: list[str]) -> None:
    assert PLACEHOLDER.findall(text) == expected


def test_placeholders_match(catalogue: list[Entry]) -> None:
    wrong = []
    for entry in catalogue:
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
        wanted = [Counter(PLACEHOLDER.findall(s)) for s in sources]
        for index, text in entry.msgstr.items():
            got = Counter(PLACEHOLDER.findall(text))
            # Singular forms may drop the count (e.g. "one record"), never invent or rename one.
            if got != wanted[-1] and got != wanted[0]:
                wrong.append(f"{_where(entry)} msgstr[{index}]={text!r}")
    assert wrong == []


def test_html_tags_match(catalogue: list[Entry]) -> None:
    tag = re.compile(r"</?[a-zA-Z][^>]*>")
    wrong = [
        _where(e)
        for e in catalogue
        for s in e.msgstr.values()
        if Counter(tag.findall(s)) != Counter(tag.findall(e.msgid))
    ]
    assert wrong == []


# --- the compiled catalogue is committed and current -------------------------------------------


def test_compiled_catalogue_matches_po(catalogue: list[Entry]) -> None:
    assert MO_FILE.exists(), "run compilemessages and commit django.mo"
    with MO_FILE.open("rb") as handle:
        compiled = pygettext.GNUTranslations(handle)
    stale = []
    for entry in catalogue:
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural:
            got = [compiled.ngettext(msgid, entry.msgid_plural, n) for n in (1, 2)]
            want = [entry.msgstr[0], entry.msgstr[1]]
        else:
            got, want = [compiled.gettext(msgid)], [entry.msgstr[0]]
        if got != want:
            stale.append(_where(entry))
    assert stale == [], "django.mo is older than django.po: run compilemessages"


def test_django_serves_the_english_catalogue() -> None:
    with translation.override("en"):
        assert translation.gettext("实有人口") == "Residents"
        assert translation.pgettext("是否", "有") == "Yes"
        assert translation.ngettext("共 %(n)s 人", "共 %(n)s 人", 2) == "%(n)s people"
    with translation.override("zh-hans"):
        assert translation.gettext("实有人口") == "实有人口"


# --- (c) pages through the test client ---------------------------------------------------------

ENGLISH_NAV = ["Areas and grids", "Residents", "Log out", "Language"]
CHINESE_NAV = ["辖区网格", "实有人口", "退出"]


def _text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def _assert_english(html: str, english: list[str], chinese: list[str]) -> None:
    assert '<html lang="en">' in html
    for word in english:
        assert word in html, word
    for word in chinese:
        assert word not in html, word


@pytest.fixture
def worker(district: SampleDistrict, user_factory: Any) -> Any:
    return user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="worker1")


@pytest.mark.django_db
def test_default_is_simplified_chinese(client: Client, worker: Any) -> None:
    html = _text(client.get("/login/"))
    assert '<html lang="zh-hans">' in html
    assert "用户名" in html and "Username" not in html
    client.force_login(worker)
    html = _text(client.get("/"))
    for word in CHINESE_NAV:
        assert word in html
    assert "Residents" not in html


@pytest.mark.django_db
def test_login_page_in_english_by_accept_language(client: Client) -> None:
    html = _text(client.get("/login/", headers={"accept-language": "en"}))
    _assert_english(html, ["Log in", "Username", "Password", "Smart Yuquan"], ["用户名", "密码", "智慧玉泉"])


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_language_selector_names_each_language_in_itself(client: Client, language: str) -> None:
    # A reader who cannot read the current language must still find their own in the list.
    html = _text(client.get("/login/", headers={"accept-language": language}))
    assert '<option value="zh-hans" lang="zh-hans"' in html
    assert re.search(r'<option value="zh-hans"[^>]*>简体中文</option>', html)
    assert re.search(r'<option value="en"[^>]*>English</option>', html)
    assert re.search(rf'<option value="{language}"[^>]*selected', html)
    assert "英语" not in html


@pytest.mark.django_db
def test_chinese_browser_gets_chinese(client: Client) -> None:
    html = _text(client.get("/login/", headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"}))
    assert '<html lang="zh-hans">' in html
    assert "用户名" in html


@pytest.mark.django_db
def test_setlang_switches_the_worker_pages_to_english(client: Client, worker: Any, district: SampleDistrict) -> None:
    client.force_login(worker)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    home = _text(client.get("/"))
    _assert_english(
        home, [*ENGLISH_NAV, "Welcome", "Community worker", "Jurisdiction"], [*CHINESE_NAV, "社区工作者", "欢迎"]
    )

    territory = _text(client.get("/territory/"))
    _assert_english(territory, [*ENGLISH_NAV, "Area tree"], [*CHINESE_NAV, "辖区树", "点击网格进入网格详情"])

    grid = _text(client.get(f"/territory/grid/{district.grids[0].code}/"))
    _assert_english(grid, ["Population", "Households", "Grid chiefs and area chiefs"], ["网格长与片长", "暂无小区"])

    people = _text(client.get("/people/"))
    _assert_english(
        people,
        [*ENGLISH_NAV, "ID number", "Search", "Reset", "Population type"],
        ["身份证号", "查询", "人口类型", "重置"],
    )

    # And back to Chinese.
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "实有人口" in _text(client.get("/people/"))


@pytest.mark.django_db
def test_language_cookie_switches_audit_page(client: Client, district: SampleDistrict, user_factory: Any) -> None:
    auditor = user_factory(Role.AUDIT_ADMIN, district.district, username="auditor1")
    client.force_login(auditor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = _text(client.get("/audit/"))
    _assert_english(
        html,
        ["Audit log", "Filter", "Action", "Actor", "Audit administrator"],
        ["审计日志", "筛选", "操作人", "审计管理员"],
    )


@pytest.mark.django_db
def test_validation_message_in_english(client: Client) -> None:
    # A wrong password on the English login page: the error comes from our catalogue or Django's.
    response = client.post("/login/", {"username": "nobody", "password": "wrong"}, headers={"accept-language": "en"})
    html = _text(response)
    assert '<html lang="en">' in html
    assert not CJK.search(re.sub(r"<option[^>]*>[^<]*</option>", "", html.split("<main", 1)[1])), "Chinese left"


# --- (d) the browser: the language selector ----------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_switches_navigation_to_english(page: Any, district: SampleDistrict, user_factory: Any) -> None:
    user_factory(Role.COMMUNITY_WORKER, district.communities[0], username="worker2")
    browser_login(page, "worker2", TEST_PASSWORD)
    nav = page.locator("nav.mainnav")
    assert nav.get_by_text("实有人口").count() == 1  # the browser asks for zh-CN
    page.select_option("form.lang select[name=language]", "en")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("html[lang=en]")
    assert nav.get_by_text("Residents").count() == 1
    assert nav.get_by_text("Areas and grids").count() == 1
    assert nav.get_by_text("实有人口").count() == 0
    assert page.locator("#logout").inner_text().strip() == "Log out"
    # The choice sticks across pages (Residents is in the grouped menu of base data).
    nav.locator("#navmenu-data > summary").click()
    nav.get_by_text("Residents").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Search" in page.locator("main").inner_text()
