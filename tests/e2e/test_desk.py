"""The coordinator's desk in a real Chromium at 1366×768: a compact ledger, figures that lead to
their rows, Japanese validation, notices, attachments and meeting papers that print on A4."""

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from kyogikai.models import (
    Agency,
    AgencyCategory,
    Attachment,
    Case,
    CaseStatus,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    Level,
    Meeting,
    MeetingCase,
    MeetingKind,
    Notice,
    NoticeKind,
    Woman,
    db,
)
from tests.e2e.conftest import log_in, navigate
from tests.e2e.test_journeys import assert_japanese, ledger_rows, save_screenshot

pytestmark = pytest.mark.e2e

OUT = Path(__file__).resolve().parents[2] / "bench" / "out"
SCREEN = {"width": 1366, "height": 768}
TODAY = date.today()
LONG_AGENCY = "みどり市 福祉部 こども家庭課 女性・児童相談支援係（調整機関）"
SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
            "吉田", "山田", "松本", "井上", "木村", "清水"]


@pytest.fixture
def ledger(app, sample):
    """Sixteen more cases, as a working ledger has: long agency names, readings, risk levels."""
    with app.app_context():
        lead = Agency(name=LONG_AGENCY, category=AgencyCategory.local_government)
        agencies = [lead, *db.session.scalars(sa.select(Agency)).all()]
        for i, surname in enumerate(SURNAMES):
            woman = Woman(name=f"{surname} 由美子", furigana="ヤマモト\u3000ユミコ",
                          birth_date=date(1970 + i, 1 + i % 12, 1 + i))
            db.session.add(Case(woman=woman, received_on=TODAY - timedelta(days=30 * i),
                                status=CaseStatus.supporting, risk_level=Level.high,
                                urgency=Level.medium, lead_agency=agencies[i % 2]))
        # A 個別ケース検討会議 of fifteen agencies: the kind must stay on one line.
        many = [Agency(name=f"架空県 関係機関その{n}（架空）", category=AgencyCategory.other)
                for n in range(15)]
        db.session.add(Meeting(kind=MeetingKind.case_conference, held_on=TODAY + timedelta(days=5),
                               place="みどり市役所 本庁舎 第3会議室（架空）", agencies=many))
        db.session.commit()


def test_the_ledger_shows_at_least_12_rows_at_1366x768(page, ledger):
    page.set_viewport_size(SCREEN)
    log_in(page, "coordinator")
    page.goto("/admin/case/")
    rows = ledger_rows(page)
    expect(rows).to_have_count(17)
    visible = page.evaluate("""() => [...document.querySelectorAll('table.model-list tbody tr')]
        .filter(tr => { const r = tr.getBoundingClientRect();
                        return r.top >= 0 && r.bottom <= window.innerHeight; }).length""")
    save_screenshot(page, OUT / "e2e-ledger-1366x768.png")
    assert visible >= 12, f"{visible} rows visible at 1366×768"
    # Case numbers never break: each number cell is one line.
    lines = page.evaluate("""() => [...document.querySelectorAll('td.col-number')].map(td => {
        const range = document.createRange(); range.selectNodeContents(td);
        return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; })""")
    assert set(lines) == {1}
    assert_japanese(page)


@pytest.mark.parametrize("listed", ["case", "consent", "woman", "case_review", "support_record",
                                    "role_assignment", "meeting_case"])
def test_case_numbers_never_break_in_a_list(page, app, sample, ledger, listed):
    """Long cells beside the number (a consent naming every agency) squeeze its column."""
    with app.app_context():
        db.session.add(Consent(woman_id=sample["woman"], purpose=ConsentPurpose.case_conference,
                               obtained_on=TODAY, method=ConsentMethod.written,
                               agencies=db.session.scalars(sa.select(Agency)).all()))
        db.session.commit()
    page.set_viewport_size(SCREEN)
    log_in(page, "coordinator")
    page.goto(f"/admin/{listed}/")
    lines = page.evaluate("""() => [...document.querySelectorAll(
        'table.model-list a[href^="/admin/case_page/"]')].map(a => a.getClientRects().length)""")
    assert lines and set(lines) == {1}, lines


def test_a_case_conference_stays_on_one_line_in_the_meeting_list(page, ledger):
    page.set_viewport_size(SCREEN)
    log_in(page, "coordinator")
    page.goto("/admin/meeting/")
    cell = page.locator("table.model-list tbody tr td.col-kind").filter(
        has_text="個別ケース検討会議").first
    lines = cell.evaluate("""td => { const range = document.createRange();
        range.selectNodeContents(td);
        return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; }""")
    assert lines == 1
    expect(page.locator("td.col-agencies").first).to_contain_text("15機関")
    assert_japanese(page)


def test_a_year_filter_shows_its_whole_value(page, ledger):
    page.set_viewport_size(SCREEN)
    log_in(page, "coordinator")
    page.goto("/admin/case/")
    page.get_by_role("link", name="条件を追加").click()
    page.locator(".field-filters").get_by_role("link", name="年度", exact=True).click()
    row = page.locator("table.filters tr").filter(has_text="年度")
    expect(row.locator(".select2-container.filter-op .select2-chosen")).to_have_text("＝")
    chosen = row.locator(".select2-container.filter-val .select2-chosen")
    expect(chosen).to_have_text(re.compile(r"^令和\d+年度（\d{4}）$"))
    assert chosen.evaluate("el => el.scrollWidth <= el.clientWidth"), "the 年度 is cut off"
    assert_japanese(page)


def test_the_browser_asks_in_japanese_for_a_missing_name(page, sample):
    log_in(page, "clerk")
    page.goto("/admin/woman/new/")
    page.get_by_role("button", name="保存", exact=True).click()
    name = page.get_by_label("氏名")
    expect(page).to_have_url(re.compile(r"/admin/woman/new/"))  # the browser held the form
    assert name.evaluate("el => el.validationMessage") == "この項目を入力してください。"
    name.fill("石田 綾")
    assert name.evaluate("el => el.validationMessage") == ""


def test_every_figure_opens_its_rows(page, ledger):
    log_in(page, "coordinator")
    figures = page.locator("a[data-figure]")
    count = figures.count()
    assert count >= 7
    for index in range(count):
        page.goto("/admin/")
        figure = page.locator("a[data-figure]").nth(index)
        number = int(figure.locator("[data-figure-number]").inner_text().split()[0])
        key = figure.get_attribute("data-figure")
        navigate(page, figure)
        if key in ("address-secrecy", "account-approval"):
            shown = page.locator("table tbody tr").count() if number else 0
        else:
            tab = page.locator(".nav-tabs .nav-link.active").inner_text()
            match = re.search(r"\((\d+)\)", tab)
            shown = int(match.group(1)) if match else 0
        assert shown == number, key
        assert_japanese(page)


def test_an_invited_agency_reads_its_notice(page, app, sample):
    with app.app_context():
        police = db.session.scalars(sa.select(Agency).order_by(Agency.id)).all()[1]
        meeting = Meeting(kind=MeetingKind.case_conference, held_on=TODAY + timedelta(days=7),
                          place="第2会議室", agencies=[police])
        db.session.add(meeting)
        db.session.add(MeetingCase(meeting=meeting, case=db.session.get(Case, sample["case"])))
        db.session.execute(sa.delete(Notice).where(Notice.kind != NoticeKind.meeting_invited))
        db.session.commit()
    log_in(page, "agency_staff")
    badge = page.locator("[data-unread-count]")
    expect(badge).to_have_text("1")
    navigate(page, page.locator("a[data-notices]"))
    navigate(page, page.get_by_role("link", name=re.compile("会議への招集：個別ケース検討会議")))
    expect(page.locator(".notice-detail")).to_contain_text(sample["case_number"])
    expect(page.locator(".notice-detail")).to_contain_text("第2会議室")
    expect(page.locator("[data-unread-count]")).to_have_count(0)
    assert_japanese(page)


def test_a_clerk_attaches_a_scanned_consent_and_a_supervisor_downloads_it(page, app, sample,
                                                                          tmp_path, browser,
                                                                          live_server):
    scan = tmp_path / "同意書.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    renamed = tmp_path / "写真.pdf"
    renamed.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    log_in(page, "clerk")
    page.goto(f"/admin/consent/details/?id={sample['consent']}")
    panel = page.locator("#attachments")
    panel.locator("input[type=file]").set_input_files(str(renamed))
    navigate(page, panel.get_by_role("button", name="添付する"))
    expect(page.locator(".alert-danger")).to_contain_text("中身は PNG ですが")
    panel.locator("input[type=file]").set_input_files(str(scan))
    navigate(page, panel.get_by_role("button", name="添付する"))
    expect(page.locator(".alert-success")).to_contain_text("「同意書.pdf」を添付しました。")
    expect(panel.get_by_role("link", name="同意書.pdf")).to_be_visible()
    expect(panel.get_by_role("button", name="削除")).to_have_count(0)  # 調整担当者 only
    assert_japanese(page)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 1

    context = browser.new_context(base_url=live_server, locale="ja-JP", accept_downloads=True)
    other = context.new_page()
    try:
        log_in(other, "supervisor")
        other.goto(f"/admin/consent/details/?id={sample['consent']}")
        with other.expect_download() as download:
            other.locator("#attachments").get_by_role("link", name="同意書.pdf").click()
        assert download.value.suggested_filename == "同意書.pdf"
        assert Path(download.value.path()).read_bytes() == scan.read_bytes()
    finally:
        context.close()


def test_meeting_papers_print_on_a4_with_the_secret_mark(page, app, sample):
    log_in(page, "coordinator")
    page.goto(f"/admin/meeting/details/?id={sample['meeting']}")
    navigate(page, page.get_by_role("link", name="会議資料（A4・印刷用）"))
    expect(page.locator(".secret")).to_have_text("秘")
    expect(page.locator("body")).to_contain_text(sample["case_number"])
    expect(page.locator("body")).to_contain_text("役割分担を決定")
    expect(page.get_by_role("button", name="印刷する")).to_be_visible()
    assert_japanese(page)
    page.emulate_media(media="print")
    expect(page.locator(".toolbar")).to_be_hidden()
    pdf = page.pdf(prefer_css_page_size=True)
    (OUT / "e2e-meeting-paper.pdf").parent.mkdir(parents=True, exist_ok=True)
    (OUT / "e2e-meeting-paper.pdf").write_bytes(pdf)
    # A4 is 210×297 mm, 595.3×841.9 points.
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert boxes and all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1
                         for w, h in boxes)


def test_the_file_choosers_speak_japanese(page, sample, tmp_path):
    """The browser draws its own file button in its own language (「Choose File」「No file
    chosen」 on an English Windows): the panel's choosers show Japanese and the chosen name."""
    scan = tmp_path / "同意書.pdf"
    scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.set_viewport_size(SCREEN)
    log_in(page, "coordinator")
    for url in (f"/admin/case_page/?id={sample['case']}", "/admin/ledger_import/"):
        page.goto(url)
        chooser = page.locator(".custom-file").first
        button = chooser.locator("input[type=file]")
        label = chooser.locator(".custom-file-label")
        assert button.evaluate("el => getComputedStyle(el).opacity") == "0", url
        expect(label).to_have_text("ファイルが選択されていません")
        assert label.evaluate("el => getComputedStyle(el, '::after').content") == '"ファイルを選択"'
        button.set_input_files(str(scan))
        expect(label).to_have_text("同意書.pdf")
        save_screenshot(page, OUT / f"e2e-file-chooser-{url.split('/')[2]}.png")
        assert_japanese(page)
