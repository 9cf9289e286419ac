"""What people do with the panel, in a real Chromium: typed dates, kana, pickers, the ledger.

Each journey runs against its own database and fails on any JavaScript error, console error or
request that leaves 127.0.0.1 (see conftest.py).
"""

import re
from html import escape
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from kyogikai.models import Companion, Woman, db
from tests.e2e.conftest import log_in, navigate
from tests.english import english_words

pytestmark = pytest.mark.e2e

SCREENSHOT = Path(__file__).resolve().parents[2] / "bench" / "out" / "e2e-ledger.png"


def assert_japanese(page) -> None:
    """No English in what the browser shows now: the rendered DOM and the text on screen."""
    in_dom = english_words(page.content())
    on_screen = english_words(escape(page.inner_text("body")))
    assert not in_dom | on_screen, f"English on {page.url}: {sorted(in_dom | on_screen)}"


def open_menu(page, group: str, item: str) -> None:
    page.get_by_role("link", name=group, exact=True).click()
    navigate(page, page.locator(".dropdown-menu.show").get_by_role("link", name=item, exact=True))
    expect(page.locator("h4")).to_have_text(item)


def ledger_rows(page):
    return page.locator("table.model-list tbody tr")


def save_screenshot(page, path: Path) -> None:
    """For a reviewer to look at; a folder that cannot be written is not the journey's failure."""
    png = page.screenshot(full_page=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
    except OSError:
        pass


def search_ledger(page, text: str) -> None:
    search = page.get_by_placeholder("番号・氏名・フリガナで検索")
    search.fill(text)
    with page.expect_navigation():
        search.press("Enter")


def select2_choose(page, container, text: str) -> None:
    """Open a Select2 3.x widget and click the option with this exact text."""
    container.click()
    page.locator("#select2-drop .select2-result-label").filter(
        has_text=re.compile(f"^{re.escape(text)}$")).click()
    expect(container.locator(".select2-chosen")).to_have_text(text)


# 1 ─────────────────────────────────────────────────────────────────────────────────────────────

def test_clerk_registers_a_woman_with_a_companion(page, app):
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page).to_have_title(re.compile("^ログイン"))
    assert_japanese(page)
    log_in(page, "clerk")

    open_menu(page, "ケース管理", "支援対象女性")
    navigate(page, page.get_by_role("link", name="新規作成"))
    expect(page).to_have_url(re.compile(r"/admin/woman/new/"))
    assert_japanese(page)
    page.get_by_label("氏名").fill("石田 綾")
    page.get_by_label("フリガナ").fill("いしだ あや")
    birth = page.get_by_label("生年月日")
    expect(birth).to_have_attribute("placeholder", re.compile("令和7年4月1日"))
    # 令和3年 is 2021, not a leap year: there is no 2月29日.
    birth.fill("R3.2.29")
    navigate(page, page.get_by_role("button", name="保存", exact=True))

    birth_group = page.locator(".form-group").filter(has=page.locator("#birth_date"))
    expect(birth_group).to_contain_text("存在しない日付です")
    expect(page.get_by_label("氏名")).to_have_value("石田 綾")  # nothing typed is lost
    assert_japanese(page)

    page.get_by_label("生年月日").fill("令和3年2月28日")
    page.get_by_role("button", name="追加 同伴家族").click()
    companion = page.locator("#companions-0")
    expect(companion).to_be_visible()
    page.locator("#companions-0-name").fill("石田 陽")
    page.locator("#companions-0-furigana").fill("ｲｼﾀﾞ ﾋﾅﾀ")  # half-width, as some IMEs give
    expect(companion.locator(".select2-chosen")).to_have_text("子")
    page.locator("#companions-0-birth_date").fill("2019/5/1")
    assert_japanese(page)
    navigate(page, page.get_by_role("button", name="保存", exact=True))

    # She has no case yet: the clerk lands on her record (with a case, on the case page).
    expect(page).to_have_url(re.compile(r"/admin/woman/details/"))
    expect(page.locator(".alert-success")).to_contain_text("作成しました")
    record = page.locator("table").first
    expect(record).to_contain_text("石田 綾")
    expect(record).to_contain_text("イシダ\u3000アヤ")
    expect(record).to_contain_text("令和3年2月28日")
    assert_japanese(page)

    with app.app_context():
        woman = db.session.scalar(sa.select(Woman).where(Woman.name == "石田 綾"))
        child = db.session.scalar(sa.select(Companion).where(Companion.woman_id == woman.id))
        assert (woman.furigana, str(woman.birth_date)) == ("イシダ\u3000アヤ", "2021-02-28")
        assert (child.name, child.furigana, str(child.birth_date)) == (
            "石田 陽", "イシダ\u3000ヒナタ", "2019-05-01")


# 2 ─────────────────────────────────────────────────────────────────────────────────────────────

def test_coordinator_searches_filters_and_pages_the_ledger(page, sample):
    log_in(page, "coordinator")
    open_menu(page, "ケース管理", "ケース進行管理台帳")
    expect(ledger_rows(page)).to_have_count(1)
    assert_japanese(page)

    search_ledger(page, "あおき")  # her reading typed in hiragana, stored in katakana
    expect(page).to_have_url(re.compile(r"search="))
    expect(ledger_rows(page)).to_have_count(1)
    expect(ledger_rows(page).first).to_contain_text("青木 明美")
    assert_japanese(page)

    search_ledger(page, "いしだ")
    expect(page.locator("table.model-list")).not_to_contain_text("青木")
    assert_japanese(page)

    search_ledger(page, sample["case_number"])
    expect(ledger_rows(page)).to_have_count(1)
    expect(ledger_rows(page).first).to_contain_text(sample["case_number"])
    expect(ledger_rows(page).first).to_contain_text("アオキ アケミ")

    page.goto("/admin/case/")
    page.get_by_role("link", name="条件を追加").click()
    page.locator(".field-filters").get_by_role("link", name="状況", exact=True).click()
    filter_row = page.locator("table.filters tr").filter(has_text="状況")
    expect(filter_row.locator(".select2-container.filter-op .select2-chosen")).to_have_text("等しい")
    select2_choose(page, filter_row.locator(".select2-container.filter-val"), "支援中")
    assert_japanese(page)
    navigate(page, page.get_by_role("button", name="適用"))
    expect(page).to_have_url(re.compile(r"flt\d+_\d+=supporting"))
    expect(ledger_rows(page)).to_have_count(1)
    expect(ledger_rows(page).first).to_contain_text("支援中")
    assert_japanese(page)

    # The same filter, another value: the case is no longer listed.
    filter_row = page.locator("table.filters tr").filter(has_text="状況")
    select2_choose(page, filter_row.locator(".select2-container.filter-val"), "終結")
    navigate(page, page.get_by_role("button", name="適用"))
    expect(page).to_have_url(re.compile(r"flt\d+_\d+=closed"))
    expect(page.locator("table.model-list")).not_to_contain_text("青木")
    assert_japanese(page)

    page.goto("/admin/case/")
    page.get_by_role("link", name=re.compile(r"^\s*50 件\s*$")).click()
    navigate(page, page.locator(".dropdown-menu.show").get_by_role("link", name="20件"))
    expect(page).to_have_url(re.compile(r"page_size=20"))
    expect(page.get_by_role("link", name=re.compile(r"^\s*20 件\s*$"))).to_be_visible()
    expect(ledger_rows(page)).to_have_count(1)
    assert_japanese(page)
    save_screenshot(page, SCREENSHOT)


# 3 ─────────────────────────────────────────────────────────────────────────────────────────────

def test_case_form_woman_picker_speaks_japanese(page, sample):
    log_in(page, "coordinator")
    page.goto("/admin/case/")
    navigate(page, page.get_by_role("link", name="新規作成"))
    picker = page.locator("#s2id_woman")
    expect(picker.locator(".select2-chosen")).to_have_text("選択してください")
    picker.click()
    drop = page.locator("#select2-drop")
    expect(drop).to_be_visible()
    expect(drop.locator(".select2-results")).to_have_text("あと1文字入力してください")
    typed = drop.locator("input.select2-input")
    typed.press_sequentially("zzzz")
    expect(drop.locator(".select2-no-results")).to_have_text("該当するものがありません")
    assert_japanese(page)

    typed.fill("")
    typed.press_sequentially("青木")
    match = drop.locator(".select2-result-label").filter(has_text="青木 明美")
    expect(match).to_have_count(1)
    match.click()
    expect(picker.locator(".select2-chosen")).to_contain_text("青木 明美")

    page.get_by_label("相談受理年月日").fill("R7.6.1")
    navigate(page, page.get_by_role("button", name="保存", exact=True))
    expect(page.locator(".alert-success")).to_contain_text("作成しました")
    expect(ledger_rows(page).filter(has_text="令和7年6月1日")).to_contain_text("青木 明美")
    assert_japanese(page)


# 4 ─────────────────────────────────────────────────────────────────────────────────────────────

def test_agency_staff_sees_the_shared_case_and_a_japanese_404(page, sample, watch):
    log_in(page, "agency_staff")
    expect(page.locator(".navbar")).to_contain_text("テスト警察署")
    open_menu(page, "ケース管理", "ケース進行管理台帳")
    expect(ledger_rows(page).filter(has_text=sample["case_number"])).to_have_count(1)
    assert_japanese(page)

    watch.expect_console_error("status of 404")  # the browser logs the 404 response itself
    response = page.goto(f"/admin/case/details/?id={sample['case'] + 1000}")
    assert response is not None and response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("alert")).to_have_text("ページまたは記録が見つかりません。")
    expect(page.get_by_role("link", name="ホームへ戻る")).to_be_visible()
    assert_japanese(page)


# 5 ─────────────────────────────────────────────────────────────────────────────────────────────

def test_logout_leaves_nothing_behind_the_back_button(page, sample):
    log_in(page, "coordinator")
    open_menu(page, "ケース管理", "ケース進行管理台帳")
    expect(ledger_rows(page)).to_have_count(1)

    navigate(page, page.locator(".navbar").get_by_role("button", name="ログアウト"))
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_have_text("ログアウトしました。")
    assert_japanese(page)

    page.go_back()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_label("ログインID")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("青木")
    expect(page.locator("body")).not_to_contain_text(sample["case_number"])

    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fadmin%2F|/login\?next=/admin/"))
    expect(page.get_by_role("button", name="ログイン")).to_be_visible()
    expect(page.locator(".navbar")).to_have_count(0)


# 6 ─────────────────────────────────────────────────────────────────────────────────────────────

def test_admin_sees_the_time_of_day_of_each_audit_event(page):
    """Was a bug while these journeys were written: datetimes went through the date formatter."""
    log_in(page, "admin")
    page.goto("/admin/audit_event/")
    occurred = page.locator("table.model-list tbody tr").first.locator("td.col-occurred_at")
    expect(occurred).to_have_text(re.compile(r"\d{4}-\d{2}-\d{2}\)\s+\d{1,2}:\d{2}"))
    assert_japanese(page)


# Bugs these journeys found, fixed since: each stays as a regression test ─────────────────────

def test_date_filter_calendar_is_japanese(page, sample):
    log_in(page, "coordinator")
    page.goto("/admin/case/")
    page.get_by_role("link", name="条件を追加").click()
    page.locator(".field-filters").get_by_role(
        "link", name="相談受理年月日（この日より後）", exact=True).click()
    page.locator("table.filters input.filter-val").click()
    calendar = page.locator(".daterangepicker").filter(visible=True)
    expect(calendar).to_be_visible()
    assert english_words(escape(calendar.inner_text())) == set()


def test_companion_labels_belong_to_the_companion_fields(page, sample):
    log_in(page, "clerk")
    page.goto("/admin/woman/new/")
    page.get_by_role("button", name="追加 同伴家族").click()
    companion = page.locator("#companions-0")
    expect(page.locator("#companions-0-name")).to_be_visible()
    companion.locator("label").filter(has_text="氏名").click()  # a person clicks the label
    assert page.evaluate("document.activeElement.id") == "companions-0-name"


def test_account_details_are_japanese(page):
    log_in(page, "admin")
    page.goto("/admin/user/")
    navigate(page, page.locator("table.model-list tbody tr").filter(
        has_text="test-clerk").get_by_title("レコードを表示"))
    expect(page.locator("table")).to_contain_text("事務担当テスト")
    # Login IDs are data, not language.
    text = page.inner_text("body").replace("test-clerk", "")
    assert english_words(escape(text)) == set()


def test_audit_log_is_japanese(page, sample):
    log_in(page, "coordinator")
    page.goto("/admin/case/")
    page.goto(f"/admin/case/details/?id={sample['case']}")
    navigate(page, page.locator(".navbar").get_by_role("button", name="ログアウト"))
    log_in(page, "admin")
    page.goto("/admin/audit_event/")
    expect(page.locator("table.model-list tbody tr")).not_to_have_count(0)
    assert_japanese(page)
