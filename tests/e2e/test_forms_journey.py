"""A 管理職 narrows the ledger and downloads 様式1: the file holds exactly the cases on screen."""

import re
from datetime import date

import openpyxl
import pytest
from playwright.sync_api import expect

from kyogikai.models import Case, CaseStatus, Woman, db
from tests.e2e.conftest import log_in, navigate
from tests.e2e.test_journeys import assert_japanese, ledger_rows, open_menu, select2_choose

pytestmark = pytest.mark.e2e


@pytest.fixture
def cases(app):
    """Six cases: two 支援中 in 令和7年度, the others another status or another 年度."""
    specs = [("青木 明美", "アオキ アケミ", date(2025, 4, 10), CaseStatus.supporting),
             ("石田 綾", "イシダ アヤ", date(2025, 9, 1), CaseStatus.supporting),
             ("上野 花", "ウエノ ハナ", date(2025, 6, 1), CaseStatus.monitoring),
             ("大野 空", "オオノ ソラ", date(2024, 5, 1), CaseStatus.supporting),
             ("加藤 海", "カトウ ウミ", date(2026, 4, 20), CaseStatus.supporting),
             ("木村 星", "キムラ ホシ", date(2025, 12, 1), CaseStatus.received)]
    with app.app_context():
        made = []
        for name, furigana, received, status in specs:
            woman = Woman(name=name, furigana=furigana, birth_date=date(1990, 1, 1))
            made.append(Case(woman=woman, received_on=received, status=status))
        db.session.add_all(made)
        db.session.commit()
        return {case.woman.name: case.number for case in made}


def add_filter(page, name: str, value: str) -> None:
    page.get_by_role("link", name="条件を追加").click()
    page.locator(".field-filters").get_by_role("link", name=name, exact=True).click()
    row = page.locator("table.filters tr").filter(has_text=name).last
    select2_choose(page, row.locator(".select2-container.filter-val"), value)


def test_supervisor_downloads_form1_of_the_filtered_ledger(page, cases, tmp_path):
    log_in(page, "supervisor")
    open_menu(page, "ケース管理", "ケース進行管理台帳")
    expect(ledger_rows(page)).to_have_count(6)

    add_filter(page, "年度", "令和7年度（2025）")
    add_filter(page, "状況", "支援中")
    navigate(page, page.get_by_role("button", name="適用"))
    expect(page).to_have_url(re.compile(r"flt\d+_\d+=2025"))
    expect(page).to_have_url(re.compile(r"flt\d+_\d+=supporting"))
    expect(ledger_rows(page)).to_have_count(2)
    shown = [re.search(r"R\d+-\d{4}", text).group(0)
             for text in ledger_rows(page).all_inner_texts()]
    assert set(shown) == {cases["青木 明美"], cases["石田 綾"]}
    assert_japanese(page)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="様式1（Excel）").click()
    download = download_info.value
    assert download.suggested_filename == "様式1_ケース進行管理台帳_令和7年度.xlsx"
    path = tmp_path / "form1.xlsx"
    download.save_as(path)

    ws = openpyxl.load_workbook(path).active
    numbers = [str(row[0]).split("\n")[0] for row in ws.iter_rows(min_row=6, values_only=True)
               if row[0]]
    assert numbers == shown  # exactly those cases, in the ledger's order
    assert ws["A4"].value == "番号" and ws["B4"].value == "支援女性氏名"
    expect(ledger_rows(page)).to_have_count(2)  # the ledger is still there, unchanged
