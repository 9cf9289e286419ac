"""The council's day in the browser, counted: intake, the 個別ケース検討会議, the case page, the role
editor and the 実務者会議 review, as people click and type, at 1366×768.

Each journey counts its own interactions (a click, a field typed, an option picked, a box
ticked), prints the count, writes it to bench/out/e2e/interactions.json and fails above the
target of issue 10: intake ≤ 15, a case meeting with three agencies and one case ≤ 30.
Screenshots of each key page are kept in bench/out/e2e/ (where CI leaves its output).
"""

import json
import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from kyogikai.models import (
    Agency,
    AgencyCategory,
    Case,
    CaseReview,
    Meeting,
    MeetingKind,
    RoleAssignment,
    RoleFunction,
    Woman,
    db,
)
from tests.e2e.conftest import log_in
from tests.e2e.test_journeys import assert_japanese

pytestmark = pytest.mark.e2e

OUT = Path(__file__).resolve().parents[2] / "bench" / "out" / "e2e"
VIEWPORT = {"width": 1366, "height": 768}
INTAKE_TARGET = 15
CONFERENCE_TARGET = 30


class Person:
    """Acts on the page as a person does, one counted interaction at a time."""

    def __init__(self, page, journey: str, target: int):
        self.page, self.journey, self.target, self.count = page, journey, target, 0
        self.steps: list[str] = []

    def _did(self, what: str) -> None:
        self.count += 1
        self.steps.append(what)

    def click(self, locator, what="click", navigates=False):
        if navigates:
            with self.page.expect_navigation():
                locator.click()
        else:
            locator.click()
        self._did(what)

    def type(self, locator, text: str):
        locator.fill(text)
        self._did(f"type {text}")

    def tick(self, locator, what="tick"):
        locator.check()
        self._did(what)

    def pick(self, locator, label: str):
        locator.select_option(label=label)
        self._did(f"pick {label}")

    def menu(self, group: str, item: str):
        self.click(self.page.get_by_role("link", name=group, exact=True), f"menu {group}")
        self.click(self.page.locator(".dropdown-menu.show").get_by_role(
            "link", name=item, exact=True), f"menu {item}", navigates=True)

    def report(self, capsys) -> None:
        line = f"{self.journey}: {self.count} interactions (target ≤ {self.target})"
        with capsys.disabled():
            print(f"\n[e2e] {line}")
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / "interactions.json"
        try:
            counts = json.loads(path.read_text()) if path.exists() else {}
        except ValueError:
            counts = {}
        counts[self.journey] = {"interactions": self.count, "target": self.target,
                                "steps": self.steps}
        path.write_text(json.dumps(counts, ensure_ascii=False, indent=1))
        assert self.count <= self.target, line


def shot(page, name: str) -> None:
    """A screenshot of the page as it looks at 1366×768 (the first screen) and whole."""
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"))
    page.screenshot(path=str(OUT / f"{name}-full.png"), full_page=True)


@pytest.fixture
def screen(page):
    page.set_viewport_size(VIEWPORT)
    return page


@pytest.fixture
def hospital(app, sample):
    with app.app_context():
        agency = Agency(name="テスト病院", category=AgencyCategory.medical_institution)
        db.session.add(agency)
        db.session.commit()
        return agency.id


# 1 ─────────────────────────────────────────────────────────────────────────────────────────────

def test_a_clerk_takes_in_a_woman_her_child_her_consent_and_the_case(screen, app, capsys):
    page = screen
    log_in(page, "clerk")
    person = Person(page, "intake", INTAKE_TARGET)
    person.menu("ケース管理", "新規受理（女性・同意・ケース）")
    assert_japanese(page)
    person.type(page.get_by_label("氏名", exact=True), "石田 綾")
    person.type(page.get_by_label("フリガナ", exact=True), "いしだ あや")
    person.type(page.get_by_label("生年月日", exact=True), "R3.2.28")
    person.click(page.get_by_role("button", name="同伴家族を追加"))
    person.type(page.locator("#companions-0-name"), "石田 陽")
    person.type(page.locator("#companions-0-furigana"), "ｲｼﾀﾞ ﾋﾅﾀ")
    expect(page.locator("#companions-0-relationship")).to_have_value("child")
    person.type(page.locator("#companions-0-birth_date"), "2019/5/1")
    person.tick(page.get_by_label("テスト市 女性支援課", exact=True))
    person.tick(page.get_by_label("テスト警察署", exact=True))
    expect(page.get_by_label("同意取得日")).not_to_have_value("")  # today, already
    shot(page, "intake")
    person.click(page.get_by_role("button", name="受理して保存"), navigates=True)

    expect(page).to_have_url(re.compile(r"/admin/case_page/\?id=\d+"))
    expect(page.locator(".alert-success")).to_contain_text("受理しました")
    expect(page.locator("[data-case-number]")).to_have_text(re.compile(r"^R\d+-0001$"))
    expect(page.locator("#woman-heading").locator("..").locator("..")).to_contain_text("石田 陽")
    for agency in ("テスト市 女性支援課", "テスト警察署"):
        expect(page.locator(f'[data-consent-agency="{agency}"]')).to_contain_text("共有可")
    assert_japanese(page)
    shot(page, "case-page-after-intake")
    person.report(capsys)
    with app.app_context():
        woman = db.session.scalar(sa.select(Woman).where(Woman.name == "石田 綾"))
        assert len(woman.companions) == 1 and len(woman.cases) == 1 and len(woman.consents) == 1


def test_intake_offers_the_woman_already_registered(screen, app, sample, capsys):
    page = screen
    log_in(page, "clerk")
    person = Person(page, "intake-existing-woman", INTAKE_TARGET)
    person.menu("ケース管理", "新規受理（女性・同意・ケース）")
    person.type(page.get_by_label("フリガナ", exact=True), "あおき あけみ")
    offer = page.locator("#intake-candidates .candidate").filter(has_text="青木 明美")
    expect(offer.get_by_role("link", name=re.compile(sample["case_number"]))).to_have_attribute(
        "href", f"/admin/case_page/?id={sample['case']}")
    shot(page, "intake-duplicate-offered")
    person.click(offer.get_by_role("button", name="この方で受理する"))
    expect(page.locator("[data-chosen-name]")).to_have_text("青木 明美")
    person.tick(page.get_by_label("テスト警察署", exact=True))
    person.click(page.get_by_role("button", name="受理して保存"), navigates=True)
    expect(page.locator(".alert-success")).to_contain_text("受理しました")
    person.report(capsys)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Woman)) == 1
        assert len(db.session.get(Woman, sample["woman"]).cases) == 2


# 2 ─────────────────────────────────────────────────────────────────────────────────────────────

def test_a_coordinator_records_a_case_meeting_with_three_agencies(screen, app, sample, hospital,
                                                                 capsys):
    page = screen
    log_in(page, "coordinator")
    person = Person(page, "case-conference", CONFERENCE_TARGET)
    person.menu("会議", "個別ケース検討会議の記録")
    assert_japanese(page)
    person.type(page.get_by_label("開催日"), "令和7年9月1日")
    person.type(page.get_by_label("場所"), "市役所 第2会議室")
    for name in ("テスト市 女性支援課", "テスト警察署", "テスト病院"):
        person.tick(page.get_by_label(name, exact=True), f"tick {name}")
    person.type(page.get_by_label("ケースを加える（番号・氏名・フリガナ）"), "あおき")
    person.click(page.locator(".case-result").filter(has_text=sample["case_number"]))
    panel = page.locator(".conference-case")
    gate = panel.locator("[data-gate]")
    expect(gate).to_contain_text("本人の同意がカバーしていない出席機関: テスト病院")
    expect(panel.get_by_label("同意確認の緊急例外の理由（調整担当者）")).to_be_visible()
    person.pick(panel.get_by_label("危険度"), "高")
    person.pick(panel.get_by_label("緊急度"), "高")
    person.type(panel.get_by_label("状況等"), "加害者からの連絡が再開した。")
    person.type(panel.get_by_label("支援方針"), "警察と病院が連携して安全を確保する。")
    direct = panel.locator(".select2-container-multi")
    person.click(direct, "open 主たる直接支援")
    person.click(page.locator("#select2-drop .select2-result-label").filter(
        has_text=re.compile("^テスト病院$")), "pick テスト病院")
    person.pick(panel.get_by_label("取りまとめ機能"), "テスト市 女性支援課")
    person.pick(panel.get_by_label("主たる支援機関"), "テスト病院")
    person.type(panel.get_by_label("次回の会議予定日"), "R7.10.1")
    person.type(page.get_by_label("決定事項（各機関の役割分担、次回会議の日程等）"),
                "病院が主たる直接支援に加わる。次回は10月1日。")
    person.type(page.get_by_label("議事録", exact=True), "各機関から状況を報告した。")
    shot(page, "case-conference-gate")

    # Saved without the override's reason: refused, nothing saved, nothing typed lost.
    person.click(page.get_by_role("button", name="会議を記録して保存"), navigates=True)
    expect(page.locator(".conference-case .invalid-feedback").first).to_contain_text("テスト病院")
    expect(page.get_by_label("議事録", exact=True)).to_have_value("各機関から状況を報告した。")
    expect(page.locator(".conference-case").get_by_label("状況等")).to_have_value(
        "加害者からの連絡が再開した。")
    expect(page.get_by_label("テスト病院", exact=True)).to_be_checked()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 1
    shot(page, "case-conference-refused")

    person.type(page.locator(".conference-case").get_by_label(
        "同意確認の緊急例外の理由（調整担当者）"), "生命・身体の保護のため緊急に必要")
    person.click(page.get_by_role("button", name="会議を記録して保存"), navigates=True)
    expect(page).to_have_url(re.compile(rf"/admin/case_page/\?id={sample['case']}$"))
    expect(page.locator(".alert-success")).to_contain_text("個別ケース検討会議")
    expect(page.locator("[data-current-risk]")).to_have_text("高")
    holders = page.locator(".role-holders")
    expect(holders.locator('[data-role-function="direct_support"]')).to_contain_text("テスト病院")
    expect(holders.locator('[data-role-function="direct_support"]')).to_contain_text("テスト警察署")
    expect(holders.locator('[data-role-function="main_support"]')).to_contain_text("テスト病院")
    expect(page.locator(".case-reviews")).to_contain_text("加害者からの連絡が再開した。")
    assert_japanese(page)
    shot(page, "case-page-after-conference")
    person.report(capsys)

    with app.app_context():
        meeting = db.session.scalar(sa.select(Meeting).order_by(Meeting.id.desc()))
        assert meeting.held_on == date(2025, 9, 1) and len(meeting.agencies) == 3
        [link] = meeting.case_links
        assert [a.name for a in link.override_agencies] == ["テスト病院"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoleAssignment).where(
            RoleAssignment.meeting_id == meeting.id)) == 3


# 3 ─────────────────────────────────────────────────────────────────────────────────────────────

def test_the_role_editor_shows_history_and_corrects_by_a_new_row(screen, app, sample, hospital):
    page = screen
    log_in(page, "coordinator")
    page.goto(f"/admin/case_page/?id={sample['case']}")
    with page.expect_navigation():
        page.get_by_role("link", name="役割分担を変更").click()
    form = page.locator('form.role-change[data-function="main_support"]')
    form.get_by_label("担う機関").select_option(label="テスト病院")
    with page.expect_navigation():
        form.get_by_role("button", name="主たる支援機関を記録").click()
    expect(page.locator(".alert-success")).to_contain_text("主たる支援機関")
    correction = page.locator("#correct-heading").locator("..").locator("..")
    correction.get_by_label("訂正する行").select_option(index=1)
    correction.get_by_label("訂正の理由").fill("機関の選択誤り")
    with page.expect_navigation():
        correction.get_by_role("button", name="訂正を記録").click()
    expect(page.locator(".role-void").first).to_be_visible()
    assert_japanese(page)
    shot(page, "role-editor")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoleAssignment)) == 3


def test_a_clerk_reviews_every_open_case_at_the_practitioner_meeting(screen, app, sample):
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        for day in range(1, 6):
            db.session.add(Case(woman=woman, received_on=date(2025, 6, day)))
        db.session.add(Meeting(kind=MeetingKind.practitioner, held_on=date(2025, 10, 10)))
        db.session.commit()
        meeting_id = db.session.scalar(sa.select(Meeting.id).where(
            Meeting.kind == MeetingKind.practitioner))
    page = screen
    log_in(page, "clerk")
    page.goto("/admin/practitioner_review/")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("実務者会議（令和7年10月10日）")).click()
    rows = page.locator("tr[data-case-row]")
    expect(rows).to_have_count(6)
    first = rows.filter(has_text=sample["case_number"])
    first.locator("textarea").fill("就労を開始した。")
    rows.nth(2).locator("select").nth(1).select_option(label="高")
    expect(page.locator("#changed-count")).to_have_text("2")
    assert_japanese(page)
    shot(page, "practitioner-review")
    with page.expect_navigation():
        page.get_by_role("button", name="変更したケースの管理記録を保存").first.click()
    expect(page.locator(".alert-success")).to_contain_text("2件のケースの管理記録を保存しました")
    expect(page.locator("td.text-success")).to_have_count(2)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseReview).where(
            CaseReview.meeting_id == meeting_id)) == 2
        assert RoleFunction  # (imported for the role assertions above)


def test_a_picked_case_leads_to_its_case_page(screen, sample):
    page = screen
    log_in(page, "clerk")
    page.goto(f"/admin/support_record/new/?case={sample['case']}")
    link = page.get_by_role("link", name="ケースのページを開く")
    expect(link).to_have_attribute("href", f"/admin/case_page/?id={sample['case']}")
    assert_japanese(page)
