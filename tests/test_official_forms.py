"""様式1/2/3 files, read back as a person (or Excel) would: openpyxl for the workbooks, pdftotext
(poppler-utils) for the PDFs, LibreOffice where it is installed. Every figure is checked against
the rows the test itself created."""

import io
import re
import shutil
import subprocess
import zipfile
from datetime import date
from urllib.parse import unquote
from xml.etree import ElementTree

import openpyxl
import pytest
import sqlalchemy as sa

from kyogikai.exports import pdf as pdf_module
from kyogikai.models import (
    AnnualReport,
    AuditAction,
    AuditEvent,
    AuditOutcome,
    BusinessPlan,
    Case,
    CaseReview,
    CaseStatus,
    Companion,
    Concern,
    Council,
    Meeting,
    MeetingKind,
    Member,
    PlanCostLine,
    ReferralRoute,
    Relationship,
    ReportCostLine,
    Woman,
    db,
)
from kyogikai.policy.masking import MASK
from tests.conftest import user_by_login
from tests.tools import needs

HIDDEN_STREET = "秘匿町9-8-7"
FORMULA = '=HYPERLINK("http://example.invalid","x")'
HEADINGS = ["番号", "支援女性氏名", "生年月日（年齢）", "住所", "同伴家族氏名", "相談受理年月日"]
ROUNDS = ["第1回", "第2回", "第3回", "第4回"]
FIRST_DATA_ROW = 6  # 1-based: rows 1–3 title, 4–5 headings
PDF_READY = pdf_module.available() and shutil.which("pdftotext") is not None
needs_pdf = needs(PDF_READY, "PDF: WeasyPrint, the IPAex font or pdftotext (poppler-utils) is "
                             "missing; scripts/bootstrap.sh installs them as root")


# --------------------------------------------------------------------------- data


def _agencies():
    from kyogikai.models import Agency

    return db.session.scalars(sa.select(Agency).order_by(Agency.id)).all()


def _woman(name, furigana, birth, **kwargs):
    return Woman(name=name, furigana=furigana, birth_date=birth, prefecture="架空県",
                 municipality="テスト市", **kwargs)


@pytest.fixture
def ledger(app):
    """Five cases around 令和7年度 (2025): which belong to it, which reviews, who is hidden."""
    with app.app_context():
        home, police = _agencies()
        db.session.add(Council(name="テスト市地域協議会", municipality="テスト市",
                               coordinating_agency=home))
        aoki = _woman("青木 明美", "アオキ アケミ", date(1990, 5, 1), street="本町1-2-3",
                      referral_route=ReferralRoute.police)
        aoki.companions += [Companion(name="青木 陽太", furigana="アオキ ヨウタ",
                                      relationship_to_woman=Relationship.child),
                            Companion(name="青木 花", furigana="アオキ ハナ",
                                      relationship_to_woman=Relationship.child)]
        hidden = _woman("石田 秘子", "イシダ ヒミコ", date(2000, 2, 29), street=HIDDEN_STREET,
                        address_hidden=True, referral_route=ReferralRoute.self_phone)
        young = _woman("上野 若葉", "ウエノ ワカバ", date(2005, 4, 2), street="若葉1-1")
        old = _woman("大野 古子", "オオノ フルコ", date(1960, 1, 1), street="古町1-1")
        later = _woman("加藤 次子", "カトウ ツギコ", date(1980, 3, 3), street="次町1-1")
        c1 = Case(woman=aoki, received_on=date(2025, 4, 10), status=CaseStatus.supporting,
                  lead_agency=home, note=FORMULA)
        c2 = Case(woman=hidden, received_on=date(2025, 6, 1), status=CaseStatus.supporting,
                  lead_agency=police, note=f"転居先は{HIDDEN_STREET}（本人申告）")
        c3 = Case(woman=young, received_on=date(2024, 5, 1), status=CaseStatus.closed,
                  ended_on=date(2025, 5, 31), end_reason="自立", lead_agency=home)
        c4 = Case(woman=old, received_on=date(2023, 4, 3), status=CaseStatus.closed,
                  ended_on=date(2024, 6, 30), end_reason="移管", lead_agency=home)
        c5 = Case(woman=later, received_on=date(2026, 4, 5), status=CaseStatus.received,
                  lead_agency=home)
        db.session.add_all([c1, c2, c3, c4, c5])
        db.session.flush()
        # Six reviews of c1 in 2025 (continues past four), one review of c3 in each 年度.
        for i in range(6):
            db.session.add(CaseReview(case=c1, reviewed_on=date(2025, 5 + i, 15 - i),
                                      lead_agency=home if i % 2 == 0 else police,
                                      situation=f"第{i + 1}回の状況"))
        db.session.add(CaseReview(case=c2, reviewed_on=date(2025, 7, 1), lead_agency=police,
                                  situation=f"{HIDDEN_STREET}のアパートで安定"))
        db.session.add(CaseReview(case=c3, reviewed_on=date(2025, 3, 1), lead_agency=home,
                                  situation="前年度の記録"))
        db.session.add(CaseReview(case=c3, reviewed_on=date(2025, 5, 1), lead_agency=home,
                                  situation="今年度の記録"))
        db.session.commit()
        return {"numbers": [c.number for c in (c1, c2, c3, c4, c5)],
                "ids": [c.id for c in (c1, c2, c3, c4, c5)]}


# --------------------------------------------------------------------------- reading files


def workbook(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def sheet_rows(ws) -> list[list]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


def case_blocks(ws) -> dict[str, list[list]]:
    """番号 → the three rows of each of its blocks, in sheet order (continuations appended)."""
    rows = sheet_rows(ws)[FIRST_DATA_ROW - 1:]
    blocks: dict[str, list[list]] = {}
    for i in range(0, len(rows), 3):
        number = str(rows[i][0]).split("\n")[0]
        blocks.setdefault(number, []).append(rows[i:i + 3])
    return blocks


def ledger_numbers(ws) -> list[str]:
    return [n for n, blocks in case_blocks(ws).items() for _ in blocks[:1]]


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, check=True,
                          capture_output=True, timeout=60).stdout.decode()


def download_name(response) -> str:
    header = response.headers["Content-Disposition"]
    return unquote(re.search(r"filename\*=UTF-8''(\S+)", header).group(1))


def export_events(app, **where) -> list[AuditEvent]:
    with app.app_context():
        query = sa.select(AuditEvent).where(AuditEvent.action == AuditAction.export)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return db.session.scalars(query.order_by(AuditEvent.id)).all()


# --------------------------------------------------------------------------- 様式1 xlsx


def test_form1_year_layout_values_and_wareki(ledger, login_as, app):
    client = login_as("coordinator")
    response = client.get("/admin/forms/form1/?fiscal_year=2025&format=xlsx"
                          "&reference_date=2026-03-31")
    assert response.status_code == 200
    assert download_name(response) == "様式1_ケース進行管理台帳_令和7年度.xlsx"
    ws = workbook(response.data).active
    rows = sheet_rows(ws)
    assert rows[0][0] == "(別紙様式1)" and rows[0][-1] == "秘　取扱注意"
    assert rows[1][0] == "ケース進行管理台帳"
    assert "令和7年度" in rows[2][0] and "年齢は令和8年3月31日現在" in rows[2][0]
    # Headings verbatim, merged as printed.
    assert rows[3][:6] == HEADINGS and rows[3][6] == "管理記録" and rows[3][11] == "備考"
    assert rows[4][7:11] == ROUNDS
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A4:A5", "B4:B5", "C4:C5", "D4:D5", "E4:E5", "F4:F5", "G4:K4", "L4:L5"} <= merged

    # The 年度's cases (under management at some time in it), by number; not c4 or c5.
    numbers = ledger["numbers"]
    assert ledger_numbers(ws) == sorted([numbers[2], numbers[0], numbers[1]])
    blocks = case_blocks(ws)

    first = blocks[numbers[0]][0]
    assert first[0][:6] == [numbers[0], "青木 明美\n（アオキ アケミ）", "平成2年5月1日\n（35歳）",
                            "架空県テスト市本町1-2-3", "青木 陽太（子）\n青木 花（子）",
                            "令和7年4月10日"]
    assert [r[6] for r in first] == ["会議日", "主担当機関", "状況等"]
    # 管理記録 in date order (they were entered newest first within the loop's dates).
    expected_days = sorted(date(2025, 5 + i, 15 - i) for i in range(6))
    assert first[0][7] == f"令和7年{expected_days[0].month}月{expected_days[0].day}日"
    assert first[2][7:11] == ["第1回の状況", "第2回の状況", "第3回の状況", "第4回の状況"]
    assert first[1][7] == "テスト市 女性支援課" and first[1][8] == "テスト警察署"

    # The block's cells are merged down its three rows.
    top = FIRST_DATA_ROW + 3 * sorted(numbers[:3]).index(numbers[0])
    for col in "ABCDEFL":
        assert f"{col}{top}:{col}{top + 2}" in merged

    # Only that 年度's 管理記録: c3's review of 2025-03-01 belongs to 令和6年度.
    young = blocks[numbers[2]][0]
    assert young[2][7] == "今年度の記録" and young[0][8] is None


def test_form1_continues_past_four_reviews(ledger, login_as):
    ws = workbook(login_as("coordinator").get(
        "/admin/forms/form1/?fiscal_year=2025&format=xlsx").data).active
    first, more = case_blocks(ws)[ledger["numbers"][0]]
    assert more[0][0] == f"{ledger['numbers'][0]}\n（続き：第5回～第6回）"
    assert more[0][1] == "青木 明美"
    assert more[2][7:9] == ["第5回の状況", "第6回の状況"]
    assert more[0][7].startswith("第5回　令和7年") and more[0][9] is None
    written = [c for block in (first, more) for c in block[2][7:11] if c]
    assert len(written) == 6  # nothing dropped


@pytest.mark.parametrize(("reference", "birth_text"), [
    ("2021-02-27", "平成12年2月29日\n（20歳）"),  # born 29 Feb: 21 on 28 Feb of a common year
    ("2021-02-28", "平成12年2月29日\n（21歳）"),
    ("令和7年3月31日", None),
])
def test_form1_age_by_the_legal_rule(ledger, login_as, reference, birth_text):
    ws = workbook(login_as("coordinator").get(
        f"/admin/forms/form1/?fiscal_year=2025&format=xlsx&reference_date={reference}").data
    ).active
    blocks = case_blocks(ws)
    if birth_text:
        assert blocks[ledger["numbers"][1]][0][0][2] == birth_text
    else:
        # Born 2005-04-02: 19 on 2025-03-31 … and 20 the next day (the eve of the birthday).
        assert blocks[ledger["numbers"][2]][0][0][2] == "平成17年4月2日\n（19歳）"
        ws2 = workbook(login_as("coordinator").get(
            "/admin/forms/form1/?fiscal_year=2025&format=xlsx&reference_date=R7.4.1").data
        ).active
        assert case_blocks(ws2)[ledger["numbers"][2]][0][0][2] == "平成17年4月2日\n（20歳）"


def test_form1_masks_hidden_addresses_as_the_screens_do(ledger, login_as):
    numbers = ledger["numbers"]
    for role, masked in (("supervisor", True), ("coordinator", False)):
        client = login_as(role)
        ws = workbook(client.get("/admin/forms/form1/?fiscal_year=2025&format=xlsx").data).active
        block = case_blocks(ws)[numbers[1]][0]
        address, situation, note = block[0][3], block[2][7], block[0][11]
        if masked:
            assert address == MASK and MASK in situation and MASK in note
            assert HIDDEN_STREET not in repr(sheet_rows(ws))
            # The ledger screen shows the same mask for the same person.
            detail = client.get(f"/admin/case_page/?id={ledger['ids'][1]}")
            assert MASK in detail.get_data(as_text=True)
        else:
            assert HIDDEN_STREET in address and HIDDEN_STREET in situation


def test_form1_neutralises_formulas(ledger, login_as):
    data = login_as("supervisor").get("/admin/forms/form1/?fiscal_year=2025&format=xlsx").data
    ws = workbook(data).active
    cell = ws.cell(row=FIRST_DATA_ROW + 3 * sorted(ledger["numbers"][:3]).index(
        ledger["numbers"][0]), column=12)
    assert cell.value == "'" + FORMULA and cell.data_type == "s"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


def test_form1_prints_as_the_form(ledger, login_as):
    ws = workbook(login_as("coordinator").get(
        "/admin/forms/form1/?fiscal_year=2025&format=xlsx").data).active
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    # One page wide (1 is the attribute's default, so it may be left out), as tall as needed.
    assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$4:$5"
    assert "秘" in ws.oddHeader.left.text and "取扱注意" in ws.oddHeader.right.text
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text


def test_xlsx_is_well_formed_for_excel(ledger, login_as):
    """What makes Excel offer to repair a file: rows or cells out of order, cells outside the
    dimension, overlapping merges. Checked in the XML itself for every form."""
    client = login_as("coordinator")
    with app_context_of(client):
        db.session.add(BusinessPlan(fiscal_year=2025, expected_women=10))
        db.session.commit()
    for form in ("form1", "form2", "form3"):
        data = client.get(f"/admin/forms/{form}/?fiscal_year=2025&format=xlsx").data
        assert_well_formed(data)


def app_context_of(client):
    return client.application.app_context()


def assert_well_formed(data: bytes) -> None:
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        root = ElementTree.fromstring(z.read("xl/worksheets/sheet1.xml"))
    last_row = 0
    for row in root.iterfind("m:sheetData/m:row", ns):
        number = int(row.get("r"))
        assert number > last_row, "rows out of order"
        last_row = number
        last_col = 0
        for cell in row.iterfind("m:c", ns):
            ref = cell.get("r")
            assert int(re.sub(r"[A-Z]+", "", ref)) == number
            col = openpyxl.utils.column_index_from_string(re.sub(r"\d+", "", ref))
            assert col > last_col, f"cells out of order in row {number}"
            last_col = col
    taken: dict = {}
    for merge in root.iterfind("m:mergeCells/m:mergeCell", ns):
        low, high = openpyxl.utils.range_boundaries(merge.get("ref"))[:2], \
            openpyxl.utils.range_boundaries(merge.get("ref"))[2:]
        for r in range(low[1], high[1] + 1):
            for c in range(low[0], high[0] + 1):
                assert (r, c) not in taken, f"merges overlap at {(r, c)}"
                taken[(r, c)] = merge.get("ref")


# --------------------------------------------------------------------------- the ledger's buttons


def _ledger_filter_args(client) -> dict:
    import json

    page = client.get("/admin/case/").get_data(as_text=True)
    groups = json.loads(re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', page,
                                  re.S).group(1))
    return {label: groups[label][0]["arg"] for label in ("状況", "年度")}


def listed_numbers(page: str) -> list[str]:
    """Case numbers in the ledger's table, top to bottom."""
    table = re.search(r'<table[^>]*model-list.*?</table>', page, re.S).group(0)
    return list(dict.fromkeys(re.findall(r"R\d+-\d{4}", table)))


def test_ledger_buttons_export_exactly_the_filtered_list_in_its_order(ledger, login_as, app):
    client = login_as("supervisor")
    flt = _ledger_filter_args(client)
    query = f"flt1_{flt['状況']}=supporting&flt2_{flt['年度']}=2025&sort=1"
    page = client.get(f"/admin/case/?{query}").get_data(as_text=True)
    assert "様式1（Excel）" in page and "様式1（PDF）" in page
    shown = listed_numbers(page)
    assert shown and set(shown) == {ledger["numbers"][0], ledger["numbers"][1]}

    response = client.get(f"/admin/case/form1/?{query}&format=xlsx&reference_date=")
    assert response.status_code == 200
    assert download_name(response) == "様式1_ケース進行管理台帳_令和7年度.xlsx"
    ws = workbook(response.data).active
    assert ledger_numbers(ws) == shown
    assert "状況" in sheet_rows(ws)[2][0]

    # Reversed order on the ledger → reversed in the file.
    page = client.get(f"/admin/case/?{query}&desc=1").get_data(as_text=True)
    shown_desc = listed_numbers(page)
    ws = workbook(client.get(f"/admin/case/form1/?{query}&desc=1&format=xlsx").data).active
    assert ledger_numbers(ws) == shown_desc == shown[::-1]

    # Audited with the row count and the filters, never the search words.
    events = export_events(app, object_type="case")
    assert "rows=2" in events[-1].detail and "filters=" in events[-1].detail
    assert "状況:supporting" in events[-1].detail and "年度:2025" in events[-1].detail


@pytest.fixture
def ties(app):
    """Seven cases of one day whose other sort keys tie in groups: number → keys. The women are
    written in the reverse order of their cases, so a tie sorted through the woman is decided
    one way by her id and the other way by the case's."""
    with app.app_context():
        women = [_woman(f"同姓 {i}", "ドウセイ\u3000ハナコ" if i % 2 else "アイダ\u3000ハナコ",
                        date(1990, 1, 1) if i % 3 else date(1985, 6, 1)) for i in range(7)]
        for woman in reversed(women):
            db.session.add(woman)
            db.session.flush()
        keys = {}
        for i, woman in enumerate(women):
            case = Case(woman=woman, received_on=date(2025, 5, 1),
                        status=CaseStatus.supporting if i % 2 else CaseStatus.received)
            db.session.add(case)
            db.session.flush()
            keys[case.number] = {"id": case.id, "woman_id": woman.id,
                                 "received_on": case.received_on,
                                 "status": case.status.value, "furigana": woman.furigana,
                                 "birth": woman.birth_date, "last_review_on": 0}
        db.session.commit()
        return keys


# The ledger's sortable columns by their index in the list (?sort=N): number, woman, birth,
# received_on, status, …, last_review_on.
SORTS = {None: "received_on", 1: "furigana", 2: "birth", 3: "received_on", 4: "status",
         7: "last_review_on"}
THROUGH_THE_WOMAN = {1, 2}


@pytest.mark.parametrize("desc", [False, True])
@pytest.mark.parametrize("sort", list(SORTS))
def test_ties_keep_one_order_in_the_ledger_and_its_form1(ties, login_as, sort, desc):
    """Equal sort keys are ordered by id in the sort's direction, on the ledger and in 様式1: a
    sort through the woman by her id, then the case's (the order of her column's index, which
    SQLite then walks instead of sorting every case)."""
    client = login_as("supervisor")
    query = f"sort={sort}" if sort is not None else ""
    if desc:
        query += "&desc=1"
    shown = listed_numbers(client.get(f"/admin/case/?{query}").get_data(as_text=True))
    key = SORTS[sort]
    direction = True if sort is None else desc  # the ledger's default: newest first
    woman = sort in THROUGH_THE_WOMAN
    expected = sorted(ties, key=lambda n: (ties[n][key], ties[n]["woman_id"] if woman else 0,
                                           ties[n]["id"]), reverse=direction)
    assert shown == expected
    ws = workbook(client.get(f"/admin/case/form1/?{query}&format=xlsx").data).active
    assert ledger_numbers(ws) == shown


def test_ledger_search_is_exported_but_not_audited(ledger, login_as, app):
    client = login_as("supervisor")
    ws = workbook(client.get("/admin/case/form1/?search=青木&format=xlsx").data).active
    assert ledger_numbers(ws) == [ledger["numbers"][0]]
    event = export_events(app, object_type="case")[-1]
    assert "search=yes" in event.detail and "青木" not in event.detail and "rows=1" in event.detail
    # Without a 年度 filter every 管理記録 is shown, and the file is named by date.
    response = client.get("/admin/case/form1/?search=上野&format=xlsx")
    assert download_name(response).endswith("現在.xlsx")
    young = case_blocks(workbook(response.data).active)[ledger["numbers"][2]][0]
    assert young[2][7:9] == ["前年度の記録", "今年度の記録"]


@pytest.mark.parametrize("role", ["clerk", "agency_staff", "admin"])
def test_only_roles_the_matrix_allows_may_export(ledger, login_as, app, role):
    client = login_as(role)
    assert "様式1（Excel）" not in client.get("/admin/case/").get_data(as_text=True)
    for url in ("/admin/case/form1/?format=xlsx", "/admin/forms/form1/?fiscal_year=2025&format=xlsx",
                "/admin/forms/form2/?fiscal_year=2025&format=pdf",
                "/admin/forms/form3/?fiscal_year=2025&format=xlsx"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Content-Disposition" not in response.headers
    assert not [e for e in export_events(app) if e.outcome is AuditOutcome.success]
    with app.app_context():
        denied = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.outcome == AuditOutcome.denied))
    assert denied >= 4


def test_scoped_rows_for_a_scoped_user(ledger, app):
    """policy.forms gives an agency user only the cases their scope lets through, masked."""
    from kyogikai.policy import forms
    from tests.conftest import user_by_login

    with app.app_context():
        staff = user_by_login("test-agency_staff")
        rows = list(forms.form1_rows(forms.fiscal_year_cases(2025, staff), user=staff,
                                     fiscal_year=2025, reference_date=date(2026, 3, 31)))
        assert rows == []  # no role, meeting or consent links the police to these cases


@pytest.mark.parametrize("url", [
    "/admin/case/form1/?format=xlsx&reference_date=令和99年13月1日",
    "/admin/case/form1/?format=docx",
    "/admin/forms/form1/?fiscal_year=abc&format=xlsx",
    "/admin/forms/form1/?fiscal_year=99999999999999999999&format=xlsx",
    "/admin/forms/form1/?fiscal_year=2025&format=xlsx&reference_date=nonsense",
    "/admin/forms/form2/?fiscal_year=2019&format=xlsx",
    "/admin/forms/form3/preview/?fiscal_year=２０２５",
])
def test_bad_input_is_a_japanese_message(ledger, login_as, url):
    client = login_as("coordinator")
    response = client.get(url)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r"(基準日|出力形式|年度|事業計画書)", page)


# --------------------------------------------------------------------------- 様式2 and 様式3


def test_form2_headings_and_values(ledger, login_as, app):
    with app.app_context():
        db.session.add(BusinessPlan(
            fiscal_year=2025, submitted_on=date(2025, 3, 21), period_from=date(2025, 4, 1),
            period_to=date(2026, 3, 31), expected_women=42, council_members="15機関",
            council_activities="年2回", coordinator_staff="社会福祉士1名",
            cost_lines=[PlanCostLine(item="会議費", amount_yen=120000),
                        PlanCostLine(item="=1+1", amount_yen=5000)]))
        db.session.commit()
    client = login_as("supervisor")
    response = client.get("/admin/forms/form2/?fiscal_year=2025&format=xlsx")
    assert download_name(response) == "様式2_事業計画書_令和7年度.xlsx"
    cells = [c for row in sheet_rows(workbook(response.data).active) for c in row if c]
    for text in ("(別紙様式2)", "令和7年3月21日", "厚生労働省子ども家庭局長", "テスト市",
                 "令和7年度 困難な問題抱える女性支援連携強化モデル事業に関する事業計画書",
                 "事業の実施時期", "事業計画の内容", "支援対象女性見込み数（同伴家族含む実人員）",
                 "地域協議会の構成員、取組内容", "代表者会議の構成員、取組内容",
                 "実務者会議の構成員、取組内容", "個別ケース検討会議の構成員、取組内容",
                 "調整機関の職員、取組内容", "事業所要額（対象経費の具体的な内訳を記載）",
                 "令和7年4月1日から令和8年3月31日まで", "42人", "15機関", "年2回",
                 "社会福祉士1名", "会議費", 120000, "合計", 125000, "'=1+1"):
        assert text in cells, text
    assert cells.index("1") < cells.index("事業の実施時期") < cells.index("(1)")


def _figures_data(app):
    """Women of 2025 with known attributes; returns what the test expects, counted by hand."""
    from kyogikai.japanese.age import age_on

    with app.app_context():
        home, police = _agencies()
        concerns = db.session.scalars(sa.select(Concern).order_by(Concern.sort_order)).all()
        db.session.add(Member(name="調整 花子", furigana="チョウセイ ハナコ", agency=home,
                              title="主査", is_coordinator=True, qual_social_worker=True,
                              qual_years_in_support=6))
        db.session.add(Member(name="一般 太郎", furigana="イッパン タロウ", agency=police))
        specs = [  # birth, route, n concerns, companions, received, ended
            (date(2008, 4, 1), ReferralRoute.police, 1, 0, date(2025, 4, 1), None),
            (date(2008, 4, 2), ReferralRoute.police, 2, 1, date(2025, 5, 1), None),
            (date(2006, 3, 31), None, 0, 2, date(2024, 6, 1), date(2025, 4, 1)),
            (None, ReferralRoute.family, 1, 0, date(2025, 9, 9), None),
            (date(1955, 1, 1), ReferralRoute.family, 3, 3, date(2023, 1, 1), None),
            (date(1990, 1, 1), ReferralRoute.self_visit, 1, 0, date(2024, 1, 1),
             date(2025, 3, 31)),  # ended before the 年度: not counted
            (date(1991, 1, 1), ReferralRoute.self_visit, 1, 1, date(2026, 4, 1), None),
        ]
        counted = []
        for i, (birth, route, n_concerns, n_companions, received, ended) in enumerate(specs):
            woman = _woman(f"集計 {i}", "シュウケイ", birth, referral_route=route,
                           concerns=concerns[:n_concerns])
            woman.companions += [Companion(name=f"子 {i}-{j}", relationship_to_woman=
                                           Relationship.child) for j in range(n_companions)]
            status = CaseStatus.closed if ended else CaseStatus.supporting
            db.session.add(Case(woman=woman, received_on=received, status=status,
                                ended_on=ended, end_reason="終結" if ended else ""))
            if received <= date(2026, 3, 31) and (ended is None or ended >= date(2025, 4, 1)):
                counted.append((birth, route, n_concerns, n_companions, received))
        # A woman with two cases in the 年度 is one woman (実人数).
        twice = _woman("二重 計上", "ニジュウ", date(1985, 6, 6), referral_route=ReferralRoute.medical)
        db.session.add_all([Case(woman=twice, received_on=date(2025, 4, 20)),
                            Case(woman=twice, received_on=date(2025, 10, 20))])
        counted.append((date(1985, 6, 6), ReferralRoute.medical, 0, 0, date(2025, 4, 20)))
        for kind, day, agencies in ((MeetingKind.representative, date(2025, 6, 1), [home, police]),
                                    (MeetingKind.case_conference, date(2025, 7, 1), [home]),
                                    (MeetingKind.case_conference, date(2025, 8, 1),
                                     [home, police]),
                                    (MeetingKind.practitioner, date(2024, 8, 1), [home])):
            db.session.add(Meeting(kind=kind, held_on=day, agencies=agencies))
        db.session.add(AnnualReport(fiscal_year=2025, submitted_on=date(2026, 4, 20),
                                    council_results="協議会を4回開催",
                                    ingenuity_effects_issues="工夫と課題",
                                    cost_lines=[ReportCostLine(item="人件費", amount_yen=300000),
                                                ReportCostLine(item="会議費", amount_yen=20000)]))
        db.session.commit()

    end = date(2026, 3, 31)

    def band(birth):
        if birth is None:
            return "不明"
        age = age_on(birth, end)
        for label, low, high in (("18歳未満", 0, 18), ("18～19歳", 18, 20), ("20～29歳", 20, 30),
                                 ("30～39歳", 30, 40), ("40～49歳", 40, 50),
                                 ("50～59歳", 50, 60), ("60～69歳", 60, 70)):
            if low <= age < high:
                return label
        return "70歳以上"

    expected = {"women": len(counted), "companions": sum(c[3] for c in counted),
                "new_cases": 5, "age": {}, "route": {}, "concern": {}, "with": {}}
    for birth, route, n_concerns, n_companions, _ in counted:
        expected["age"][band(birth)] = expected["age"].get(band(birth), 0) + 1
        key = route.label if route else "不明"
        expected["route"][str(key)] = expected["route"].get(str(key), 0) + 1
        for name in [c for c in ("配偶者等からの暴力（DV）", "生活困窮", "住居の問題")][:n_concerns]:
            expected["concern"][name] = expected["concern"].get(name, 0) + 1
        if n_concerns == 0:
            expected["concern"]["（主訴の登録なし）"] = \
                expected["concern"].get("（主訴の登録なし）", 0) + 1
        key = "同伴家族あり" if n_companions else "同伴家族なし"
        expected["with"][key] = expected["with"].get(key, 0) + 1
    return expected


def test_form3_figures_equal_an_independent_count(app, login_as):
    expected = _figures_data(app)
    from kyogikai.policy import forms
    from tests.conftest import user_by_login

    with app.app_context():
        f = forms.figures(2025, user_by_login("test-supervisor"))
        assert (f.women, f.companions, f.new_cases) == (
            expected["women"], expected["companions"], expected["new_cases"])
        assert {t.label: t.count for t in f.by_age if t.count} == expected["age"]
        assert {t.label: t.count for t in f.by_route if t.count} == expected["route"]
        assert {t.label: t.count for t in f.by_concern if t.count} == expected["concern"]
        assert {t.label: t.count for t in f.by_companions if t.count} == expected["with"]
        rep = f.meetings_of(MeetingKind.representative)
        conf = f.meetings_of(MeetingKind.case_conference)
        assert [(h.held_on, h.agencies) for h in rep.held] == [(date(2025, 6, 1), 2)]
        assert [(h.held_on, h.agencies) for h in conf.held] == [(date(2025, 7, 1), 1),
                                                                (date(2025, 8, 1), 2)]
        assert f.meetings_of(MeetingKind.practitioner).count == 0  # held in 令和6年度
        assert [(c.name, c.qualifications) for c in f.coordinators] == [
            ("調整 花子", ("ア 社会福祉士", "イ 困難な問題を抱える女性への支援に6年従事"))]

    # The same figures in the file, under the printed headings.
    client = login_as("supervisor")
    response = client.get("/admin/forms/form3/?fiscal_year=2025&format=xlsx")
    assert download_name(response) == "様式3_実施状況報告書_令和7年度.xlsx"
    rows = sheet_rows(workbook(response.data).active)
    cells = [c for row in rows for c in row if c is not None]
    for text in ("(別紙様式3)", "令和8年4月20日", "厚生労働省子ども家庭局長",
                 "令和7年度 困難な問題抱える女性支援連携強化モデル事業に関する実施状況報告",
                 "事業実績内容", "支援対象女性数（同伴家族含む実人数、属性を内訳として記載）",
                 "地域協議会の構成員、取組実績", "代表者会議の構成員、取組実績",
                 "実務者会議の構成員、取組実績", "個別ケース検討会議の構成員、取組実績",
                 "調整機関の職員、取組実績",
                 "当該モデル事業の実施に当たり工夫したことや効果、課題等（具体的に記載）",
                 "事業実績額（対象経費の具体的な支出内訳（人件費、会議費、事務等）を記載）",
                 "協議会を4回開催", "工夫と課題", 320000, "調整 花子"):
        assert text in cells, text
    pairs = {(row[2], row[3]) for row in rows if isinstance(row[3], int)}
    assert ("支援対象女性", expected["women"]) in pairs
    assert ("同伴家族", expected["companions"]) in pairs
    assert ("計（同伴家族含む実人数）", expected["women"] + expected["companions"]) in pairs
    for label, count in {**expected["age"], **expected["route"], **expected["with"]}.items():
        assert (label, count) in pairs, label
    assert ("第1回", "令和7年6月1日") in {(row[2], row[3]) for row in rows}

    # The screen shows the same table before any export.
    page = client.get("/admin/forms/form3/preview/?fiscal_year=2025").get_data(as_text=True)
    assert "支援対象女性数（同伴家族含む実人数、属性を内訳として記載）" in page
    assert re.search(r"<td>支援対象女性</td><td class=\"text-right\">"
                     rf"{expected['women']}</td>", page)
    assert export_events(app, object_type="annual_report")[-1].detail.startswith(
        "form=form3;format=xlsx;rows=")


def test_form2_missing_plan_is_a_message(ledger, login_as):
    client = login_as("coordinator")
    response = client.get("/admin/forms/form2/?fiscal_year=2024&format=xlsx")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "令和6年度の事業計画書が登録されていません" in page


# --------------------------------------------------------------------------- PDF


@needs_pdf
def test_form1_pdf_text(ledger, login_as):
    client = login_as("supervisor")
    response = client.get("/admin/forms/form1/?fiscal_year=2025&format=pdf"
                          "&reference_date=2026-03-31")
    assert response.mimetype == "application/pdf"
    assert download_name(response) == "様式1_ケース進行管理台帳_令和7年度.pdf"
    text = pdf_text(response.data)
    for expected in ("(別紙様式1)", "ケース進行管理台帳", "秘", "取扱注意", "番号", "支援女性氏名",
                     "生年月日（年齢）", "同伴家族氏名", "相談受理年月日", "管理記録", "第4回",
                     "会議日", "主担当機関", "状況等", "備考", "令和7年4月10日", "（35歳）",
                     "第6回の状況", MASK, ledger["numbers"][0]):
        assert expected in text, expected
    assert re.search(r"1\s*/\s*1", text)  # page numbers in the footer
    assert HIDDEN_STREET not in text and ledger["numbers"][3] not in text


@needs_pdf
def test_form2_and_form3_pdf_text(ledger, login_as, app):
    with app.app_context():
        db.session.add(BusinessPlan(fiscal_year=2025, expected_women=42,
                                    cost_lines=[PlanCostLine(item="会議費", amount_yen=120000)]))
        db.session.commit()
    client = login_as("coordinator")
    text2 = pdf_text(client.get("/admin/forms/form2/?fiscal_year=2025&format=pdf").data)
    for expected in ("(別紙様式2)", "厚生労働省子ども家庭局長", "テスト市",
                     "令和7年度 困難な問題抱える女性支援連携強化モデル事業に関する事業計画書",
                     "事業所要額（対象経費の具体的な内訳を記載）", "42人", "120,000"):
        assert expected in text2, expected
    text3 = pdf_text(client.get("/admin/forms/form3/?fiscal_year=2025&format=pdf").data)
    for expected in ("(別紙様式3)", "令和7年度 困難な問題抱える女性支援連携強化モデル事業に関する実施状況報告",
                     "支援対象女性数（同伴家族含む実人数、属性を内訳として記載）", "同伴家族"):
        assert expected in text3, expected
    assert "秘" not in text3.split("(別紙様式3)")[0]  # aggregate report: no personal data


# --------------------------------------------------------------------------- LibreOffice


@needs(shutil.which("soffice") is not None,
       "LibreOffice is not installed (scripts/bootstrap.sh installs libreoffice-calc-nogui as root)")
def test_libreoffice_opens_each_xlsx(ledger, login_as, app, tmp_path):
    with app.app_context():
        db.session.add(BusinessPlan(fiscal_year=2025, expected_women=1))
        db.session.commit()
    client = login_as("coordinator")
    for form in ("form1", "form2", "form3"):
        path = tmp_path / f"{form}.xlsx"
        path.write_bytes(client.get(f"/admin/forms/{form}/?fiscal_year=2025&format=xlsx").data)
        done = subprocess.run(
            ["soffice", "--headless", "--norestore",
             f"-env:UserInstallation=file://{tmp_path}/lo-profile",
             "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
            capture_output=True, text=True, timeout=180, check=False)
        converted = tmp_path / f"{form}.pdf"
        assert done.returncode == 0 and converted.exists(), done.stderr
        assert "repair" not in (done.stdout + done.stderr).lower()
        if shutil.which("pdftotext"):
            text = pdf_text(converted.read_bytes())
            assert "(別紙様式" in text


# --------------------------------------------------------------------------- command line


def test_cli_exports_a_year_for_a_named_account(ledger, app, tmp_path):
    runner = app.test_cli_runner()

    def user_id(login):
        with app.app_context():
            return user_by_login(login).id
    out = tmp_path / "f1.xlsx"
    args = ["export", "form1", "--fiscal-year", "2025", "--format", "xlsx", "--out", str(out)]
    # No anonymous, all-seeing export: an account is required, and it must be an active one.
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and "--user" in result.output and not out.exists()
    with app.app_context():
        user_by_login("test-supervisor").active = False
        db.session.commit()
    result = runner.invoke(args=[*args, "--user", "test-supervisor"])
    assert result.exit_code == 2 and "有効な利用者" in result.output and not out.exists()
    result = runner.invoke(args=[*args, "--user", "no-such-login"])
    assert result.exit_code == 2 and not out.exists()
    assert export_events(app) == []

    result = runner.invoke(args=[*args, "--user", "test-coordinator"])
    assert result.exit_code == 0, result.output
    assert "様式1_ケース進行管理台帳_令和7年度.xlsx" in result.output
    ws = workbook(out.read_bytes()).active
    assert len(ledger_numbers(ws)) == 3
    assert HIDDEN_STREET in repr(sheet_rows(ws))  # a coordinator's file: as the coordinator sees
    event = export_events(app)[-1]
    assert event.user_id == user_id("test-coordinator")
    assert "via=cli" in event.detail and "rows=3" in event.detail

    with app.app_context():
        user_by_login("test-supervisor").active = True
        db.session.commit()
    result = runner.invoke(args=[*args, "--user", "test-supervisor"])
    assert result.exit_code == 0, result.output
    assert HIDDEN_STREET not in repr(sheet_rows(workbook(out.read_bytes()).active))  # masked
    assert export_events(app)[-1].user_id == user_id("test-supervisor")

    result = runner.invoke(args=[*args, "--user", "test-agency_staff"])
    assert result.exit_code != 0 and "権限がありません" in result.output
    denied = export_events(app, outcome=AuditOutcome.denied)[-1]
    assert denied.user_id == user_id("test-agency_staff")
    result = runner.invoke(args=["export", "form2", "--fiscal-year", "2025", "--out", str(out),
                                 "--user", "test-coordinator"])
    assert result.exit_code != 0 and "事業計画書が登録されていません" in result.output
    result = runner.invoke(args=[*args, "--user", "test-coordinator",
                                 "--reference-date", "R7.13.1"])
    assert result.exit_code != 0


# --------------------------------------------------------------------------- long PDFs


def test_screen_warns_before_a_long_pdf_and_offers_the_xlsx(ledger, login_as, monkeypatch):
    from kyogikai.exports import forms as exports

    client = login_as("supervisor")
    assert "data-pdf-notice" not in client.get("/admin/case/").get_data(as_text=True)
    monkeypatch.setattr(exports, "PDF_SECONDS_PER_CASE", 10.0)  # 5 cases → about 50 s
    page = client.get("/admin/case/").get_data(as_text=True)
    assert "5件の PDF の作成には約50秒かかります" in page and "様式1（Excel）" in page
    page = client.get("/admin/forms/?fiscal_year=2025").get_data(as_text=True)
    assert "3件の PDF の作成には約30秒かかります" in page

    monkeypatch.setattr(exports, "MAX_PDF_CASES", 2)  # too long: only the xlsx is offered
    page = client.get("/admin/case/").get_data(as_text=True)
    assert "様式1（PDF）" not in page and "様式1（Excel）" in page and "Excel 版を出力" in page
    response = client.get("/admin/case/form1/?format=pdf")
    assert response.status_code == 302 and "Content-Disposition" not in response.headers
    assert "PDF は2件まで" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_case_review_csv_has_the_situation_masked(ledger, login_as):
    csv = login_as("supervisor").get("/admin/case_review/export/csv/").get_data(as_text=True)
    header = csv.splitlines()[0]
    assert "状況等" in header and "支援方針" in header
    assert "第1回の状況" in csv and MASK in csv and HIDDEN_STREET not in csv


# --------------------------------------------------------------------------- 4(3)③ in 備考


def _designate(app, ledger, reason: str) -> None:
    """A 4(3)③ designation for c2, decided at a 個別ケース検討会議 of 2025-08-01."""
    from kyogikai.models.roles import designate_main_support

    with app.app_context():
        home, _police = _agencies()
        meeting = Meeting(kind=MeetingKind.case_conference, held_on=date(2025, 8, 1),
                          place="会議室")
        db.session.add(meeting)
        designate_main_support(db.session.get(Case, ledger["ids"][1]), home.id,
                               day=date(2025, 8, 1), meeting=meeting, reason=reason)
        db.session.commit()


DESIGNATION = "要綱4(3)③により調整機関が主たる支援機関に指定: テスト市 女性支援課（令和7年8月1日"


def test_form1_note_states_the_designation_as_the_case_page_does(ledger, login_as, app):
    _designate(app, ledger, f"協議が調わないため（{HIDDEN_STREET}の件）")
    numbers = ledger["numbers"]
    for role, masked in (("supervisor", True), ("coordinator", False)):
        client = login_as(role)
        ws = workbook(client.get("/admin/forms/form1/?fiscal_year=2025&format=xlsx"
                                 "&reference_date=2025-09-01").data).active
        blocks = case_blocks(ws)
        note = blocks[numbers[1]][0][0][11]
        designation, own_note = note.split("\n", 1)
        assert designation.startswith(DESIGNATION) and "理由: 協議が調わないため" in designation
        assert own_note.startswith("転居先は")  # the case's own 備考 follows
        assert (MASK in designation and HIDDEN_STREET not in note) if masked \
            else HIDDEN_STREET in designation
        # The case page says the same sentence to the same person.
        page = client.get(f"/admin/case_page/?id={ledger['ids'][1]}").get_data(as_text=True)
        assert designation in page
        # A case without a designation: its own note only.
        assert "4(3)③" not in (blocks[numbers[0]][0][0][11] or "")
    # Before the designation was made, the sheet as of that day does not state it.
    ws = workbook(login_as("coordinator").get(
        "/admin/forms/form1/?fiscal_year=2025&format=xlsx&reference_date=2025-07-31").data).active
    assert "4(3)③" not in case_blocks(ws)[numbers[1]][0][0][11]


@needs_pdf
def test_form1_pdf_note_states_the_designation(ledger, login_as, app):
    _designate(app, ledger, "協議が調わないため")
    data = login_as("supervisor").get(
        "/admin/forms/form1/?fiscal_year=2025&format=pdf&reference_date=2025-09-01").data
    # Read in content order (not -layout, which interleaves the narrow columns' lines).
    text = subprocess.run(["pdftotext", "-", "-"], input=data, check=True,
                          capture_output=True).stdout.decode()
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", DESIGNATION) in flat
    assert "理由:協議が調わないため" in flat
