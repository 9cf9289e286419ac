"""The Excel 台帳 importer: a city's 1,000-case ledger comes in with a report of what it refused;
hostile files are refused whole; nothing is half-written; the screen is for 調整担当者 only."""

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa

from kyogikai.imports import ledger, service
from kyogikai.models import (
    Agency,
    AuditAction,
    AuditEvent,
    Case,
    CaseReview,
    CaseSerial,
    Companion,
    Relationship,
    SecrecyChange,
    Woman,
    db,
)
from tests import ledger_files
from tests.conftest import csrf_token, user_by_login


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _cli(app, *args):
    result = app.test_cli_runner().invoke(args=["import-ledger", *map(str, args)])
    return result.exit_code, result.output


def _refused_rows(output: str) -> dict[int, str]:
    rows = {}
    section = output.split("取り込まない行:\n", 1)[-1] if "取り込まない行:\n" in output else ""
    for line in section.splitlines():
        if line.startswith("  ") and "行目" in line and ": " in line:
            head, reason = line.strip().split(": ", 1)
            if head.split("行目")[0].isdigit():
                rows[int(head.split("行目")[0])] = reason
    return rows


def test_a_1000_case_ledger_comes_in_with_a_report_of_what_it_refused(app, tmp_path):
    data, expected = ledger_files.flat_ledger(1000)
    path = _write(tmp_path, "台帳.xlsx", data)
    report = tmp_path / "report.csv"
    code, output = _cli(app, path, "--user", "test-coordinator", "--yes", "--report", report)
    assert code == 0, output
    total = 1001
    with app.app_context():
        assert _count(Case) == total - len(expected)
        assert _count(Woman) == total - len(expected)
        # Every refused row is refused for its own reason, and no other row is refused.
        refused = {int(r["行"]): r["取り込まなかった理由"]
                   for r in csv.DictReader(io.StringIO(report.read_text("utf-8-sig")))}
        assert set(refused) == set(expected)
        for row, fragment in expected.items():
            assert fragment in refused[row], (row, refused[row])
        assert "取り込みました: 1001件中 ケース" in output
        # The report names rows and reasons, never the people.
        assert "青木" not in report.read_text("utf-8-sig")
        # 和暦 text, Excel dates and R7.4.1 all came in; フリガナ stored as katakana.
        woman = db.session.scalar(sa.select(Woman).where(Woman.name == "石田 明美1"))
        assert woman.furigana == "イシダ\u3000アケミ" and woman.birth_date is not None
        assert woman.municipality == "テスト市" and woman.prefecture == "架空県"
        # 住所秘匿 in the ledger: a request a second coordinator confirms, masked meanwhile.
        hidden = db.session.scalars(sa.select(Woman).where(
            Woman.address_hidden_pending == SecrecyChange.set)).all()
        assert hidden and all(not w.address_hidden for w in hidden)
        child = db.session.scalar(sa.select(Companion).where(Companion.name.like("% 陽太")))
        assert child.relationship_to_woman is Relationship.child
        ended = db.session.scalars(sa.select(Case).where(Case.status == "closed")).all()
        assert ended and all(c.ended_on and c.end_reason for c in ended)
        assert "旧台帳番号: 旧-0001" in db.session.scalar(
            sa.select(Case.note).join(Woman).where(Woman.name == "石田 明美1"))
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.detail.like("import=ledger;cases=%"))).all()
        assert len(events) == 1 and f"refused={len(expected)}" in events[0].detail
        assert events[0].user_id == user_by_login("test-coordinator").id
        # The 住所秘匿 requests name the importing coordinator too (the command line has no
        # signed-in user), so the second coordinator's confirmation can be told apart.
        requests = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.address_secrecy)).all()
        assert len(requests) == len(hidden)
        assert {e.user_id for e in requests} == {user_by_login("test-coordinator").id}


def test_yoshiki1_layout_with_merged_cells_and_reviews(app, tmp_path):
    data, expected = ledger_files.yoshiki1_ledger(30)
    code, output = _cli(app, _write(tmp_path, "様式1.xlsx", data), "--user", "test-coordinator",
                        "--yes")
    assert code == 0, output
    assert "様式1（1ケース3行" in output and "管理記録: 4回分の列（H・I・J・K）" in output
    assert set(_refused_rows(output)) == set(expected)
    with app.app_context():
        assert _count(Case) == 30 - len(expected)
        reviews = sum(i % 5 for i in range(1, 31) if 3 + (i - 1) * 3 not in expected)
        assert _count(CaseReview) == reviews
        # The reading came from the second line of the name cell; the age suffix was ignored.
        woman = db.session.scalar(sa.select(Woman).where(Woman.name == "上野 明美2"))
        assert woman.furigana == "ウエノ\u3000アケミ" and woman.birth_date
        case = woman.cases[0]
        assert [r.situation for r in case.reviews] == ["状況の確認 1回目", "状況の確認 2回目"]
        assert case.reviews[0].lead_agency.name == "テスト市 女性支援課"
        assert case.last_review_on == case.reviews[-1].reviewed_on


def test_numbers_in_our_format_are_kept_and_the_counter_moves_past_them(app, tmp_path):
    book = ledger_files.small_ledger()
    book.active["A2"] = "R7-0012"
    book.active.append(["R7-0003", "石田 裕子", "イシダ ユウコ", "2025/5/1"])
    book.active.append(["", "上野 直美", "ウエノ ナオミ", "R7.6.1"])
    code, output = _cli(app, _write(tmp_path, "n.xlsx", ledger_files._bytes(book)), "--user",
                        "test-coordinator", "--yes")
    assert code == 0, output
    with app.app_context():
        numbers = set(db.session.scalars(sa.select(Case.number)))
        assert numbers == {"R7-0012", "R7-0003", "R7-0013"}
        assert db.session.get(CaseSerial, 2025).last_serial == 13


def test_cells_the_panel_could_not_keep_refuse_their_row_not_the_file(app, tmp_path):
    """Found by fuzzing rows: a 番号 over 20 characters and an Excel date before 明治 stopped the
    whole import with a traceback (and the date, stored, would have made every page showing it
    fail). Each now refuses its own row, naming the field."""
    from datetime import datetime

    book = ledger_files.small_ledger()
    book.active.append(["旧" * 21, "石田 裕子", "イシダ ユウコ", "2025/5/1"])
    book.active.append(["R7-0002", "上野 直美", "ウエノ ナオミ", datetime(1800, 1, 1)])
    book.active.append(["R7-0003", "江口 聡子", "エグチ サトコ", "1860/1/1"])
    code, output = _cli(app, _write(tmp_path, "cells.xlsx", ledger_files._bytes(book)), "--user",
                        "test-coordinator", "--yes")
    assert "Traceback" not in output
    refused = _refused_rows(output)
    assert refused[3] == "番号が20文字を超えています", output
    assert refused[4] == refused[5] == "相談受理年月日: 明治より前の日付は和暦で表せません", output
    with app.app_context():
        assert _count(Case) == 1


def test_unknown_agencies_are_created_only_when_confirmed(app, tmp_path):
    book = ledger_files.small_ledger()
    book.active["E1"], book.active["E2"] = "主担当機関", "みどり市 こども家庭課"
    path = _write(tmp_path, "a.xlsx", ledger_files._bytes(book))
    code, output = _cli(app, path, "--user", "test-coordinator", "--yes")
    assert "関係機関「みどり市 こども家庭課」が登録されていません" in output
    assert "取り込める行がありません" in output
    code, output = _cli(app, path, "--user", "test-coordinator", "--yes", "--create-agencies")
    assert code == 0, output
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.name == "みどり市 こども家庭課"))
        assert agency is not None and agency.category.value == "other"
        assert db.session.scalar(sa.select(Case)).lead_agency_id == agency.id


def test_duplicate_women_refused_unless_linked(app, tmp_path):
    book = ledger_files.small_ledger()
    book.active["E1"], book.active["E2"] = "生年月日", "昭和60年1月2日"
    book.active.append(["2", "青木　明美", "アオキ アケミ", "令和7年5月1日", "1985-01-02"])
    path = _write(tmp_path, "d.xlsx", ledger_files._bytes(book))
    code, output = _cli(app, path, "--user", "test-coordinator", "--yes")
    assert "このファイルの 2 行目にもいます" in _refused_rows(output)[3]
    with app.app_context():
        assert _count(Woman) == 1
    # Again with linking: the database's woman gets both new cases.
    code, output = _cli(app, path, "--user", "test-coordinator", "--yes", "--link-existing")
    assert code == 0, output
    with app.app_context():
        assert _count(Woman) == 1 and _count(Case) == 3


def test_dry_run_writes_nothing_and_a_clerk_may_not_import(app, tmp_path):
    data, _expected = ledger_files.flat_ledger(20)
    path = _write(tmp_path, "x.xlsx", data)
    code, output = _cli(app, path, "--user", "test-coordinator", "--dry-run")
    assert code == 0 and "検証結果（まだ書き込んでいません）" in output
    code, output = _cli(app, path, "--user", "test-clerk", "--yes")
    assert code != 0 and "調整担当者のアカウントだけ" in output
    with app.app_context():
        assert _count(Case) == 0 and _count(Woman) == 0


def test_all_or_nothing_when_writing_fails_half_way(app, tmp_path, monkeypatch):
    data, _expected = ledger_files.flat_ledger(50)
    calls = {"n": 0}
    original = ledger._hidden_address_reasons

    def fail_late(case):
        calls["n"] += 1
        if calls["n"] == 40:
            raise RuntimeError("disk full")
        return original(case)

    monkeypatch.setattr(ledger, "_hidden_address_reasons", fail_late)
    with app.app_context():
        user = user_by_login("test-coordinator")
        prepared = service.prepare(data)
        plan = service.plan(prepared, create_agencies=False, link_existing=False)
        with pytest.raises(RuntimeError):
            service.run(plan, user, data, commit=True)
        db.session.remove()
        assert _count(Case) == 0 and _count(Woman) == 0 and _count(Companion) == 0


def test_text_with_a_hidden_address_already_registered_is_refused(app, tmp_path):
    with app.app_context():
        db.session.add(Woman(name="秘匿 花子", furigana="ヒトク ハナコ", municipality="みどり市",
                             street="桜町3-4-5", address_hidden=True))
        db.session.commit()
    book = ledger_files.small_ledger()
    book.active["E1"], book.active["E2"] = "備考", "転居先はみどり市桜町3-4-5の近く"
    code, output = _cli(app, _write(tmp_path, "h.xlsx", ledger_files._bytes(book)), "--user",
                        "test-coordinator", "--yes")
    assert "「備考」に秘匿された住所が含まれています" in _refused_rows(output)[2]
    with app.app_context():
        assert _count(Case) == 0


HOSTILE = {
    "formula": (ledger_files.with_formula, "数式を含むセルがあります（E2、E3）"),
    "macro": (ledger_files.with_macro, "マクロ"),
    "xml_bomb": (ledger_files.with_xml_bomb, "安全でない XML"),
    "blank_rows": (ledger_files.with_blank_rows, "空行を含めて20,000行まで"),
    "merged_everywhere": (ledger_files.with_merged_cells_everywhere, "結合セルがあります"),
    "encrypted_or_xls": (ledger_files.encrypted_or_xls, "パスワード付き"),
    "not_excel": (ledger_files.not_excel, "Excel ファイル（.xlsx）ではありません"),
    # Damaged archives on which zipfile raises other than BadZipFile (found by fuzzing).
    "encrypted_member": (ledger_files.with_encrypted_member, "壊れています"),
    "unknown_compression": (ledger_files.with_unknown_compression, "壊れています"),
    "directory_offset_beyond": (ledger_files.with_directory_offset_beyond, "壊れています"),
    "broken_deflate": (ledger_files.with_broken_deflate, "壊れています"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_files_are_refused_with_a_clear_message(app, tmp_path, kind):
    make, message = HOSTILE[kind]
    code, output = _cli(app, _write(tmp_path, f"{kind}.xlsx", make()), "--user",
                        "test-coordinator", "--yes")
    assert code != 0 and message in output, output
    assert "Traceback" not in output
    with app.app_context():
        assert _count(Case) == 0 and _count(Woman) == 0


def test_dates_and_addresses_as_staff_write_them():
    assert ledger._date("平成2年5月1日（35歳）", "") == date(1990, 5, 1)
    assert ledger._date("令和7年4月1日 (2025-04-01)", "") == date(2025, 4, 1)
    assert ledger._date("R7.4.1", "") == date(2025, 4, 1)
    assert ledger.split_address("〒000-0001 架空県みどり市本町1-2-3 みどりハイツ101") == {
        "postal_code": "000-0001", "prefecture": "架空県", "municipality": "みどり市",
        "street": "本町1-2-3", "katagaki": "みどりハイツ101"}
    assert ledger._name_and_reading("青木 明美（あおき あけみ）", None) == ("青木 明美",
                                                                       "アオキ\u3000アケミ")


# ---------------------------------------------------------------- the screen


def _upload(client, data: bytes, name="台帳.xlsx"):
    token = csrf_token(client, "/admin/ledger_import/")
    return client.post("/admin/ledger_import/upload", data={
        "csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data")


def test_the_screen_uploads_maps_checks_and_imports(app, login_as):
    client = login_as("coordinator")
    data, expected = ledger_files.flat_ledger(60)
    response = _upload(client, data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/mapping")
    page = client.get("/admin/ledger_import/mapping").get_data(as_text=True)
    assert "石田 明美1（イシダ　アケミ）" in page  # the preview, as it will be written
    assert 'name="map_furigana"' in page
    token = csrf_token(client, "/admin/ledger_import/mapping")
    form = {"csrf_token": token, "sheet": "ケース台帳", "layout": "flat"}
    form |= {f"map_{key}": str(column) for key, column in zip(
        ("number", "name", "furigana", "birth_date", "address", "address_hidden", "phone",
         "companions", "received_on", "status", "ended_on", "end_reason", "risk_level",
         "urgency", "lead_agency", "note"), range(1, 17), strict=True)}
    checked = client.post("/admin/ledger_import/mapping", data=form).get_data(as_text=True)
    assert f"取り込まない行 {len(expected)}件" in checked
    with app.app_context():
        assert _count(Case) == 0  # checking writes nothing
    done = client.post("/admin/ledger_import/commit", data=form)
    assert done.status_code == 200, done.get_data(as_text=True)[:500]
    assert f"{61 - len(expected)}件のケース" in done.get_data(as_text=True)
    with app.app_context():
        assert _count(Case) == 61 - len(expected)
        requests = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.address_secrecy)).all()
        assert requests and {e.user_id for e in requests} == {
            user_by_login("test-coordinator").id}
    # The file is gone with the import.
    assert list((app.instance_path and __import__("pathlib").Path(app.instance_path)
                 / "imports").glob("*.xlsx")) == []


def test_upload_needs_a_csrf_token_and_takes_a_ledger_larger_than_a_form(app, login_as):
    client = login_as("coordinator")
    response = client.post("/admin/ledger_import/upload", data={
        "file": (io.BytesIO(b"x"), "a.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 400
    # A limit for ordinary forms smaller than the ledger (kept small: the test client spools
    # larger bodies to a file it never closes).
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    data, _expected = ledger_files.flat_ledger(1000)
    assert len(data) > 64 * 1024
    response = _upload(client, data)
    assert response.status_code == 302, response.status_code
    assert client.get("/admin/ledger_import/mapping").status_code == 200


def test_the_screen_refuses_hostile_files_in_japanese(app, login_as):
    client = login_as("coordinator")
    response = _upload(client, ledger_files.with_macro(), "m.xlsm")
    assert response.status_code == 302
    page = client.get("/admin/ledger_import/").get_data(as_text=True)
    assert "マクロを含むファイル" in page
    response = _upload(client, ledger_files.with_broken_deflate())
    assert response.status_code == 302
    page = client.get("/admin/ledger_import/").get_data(as_text=True)
    assert "Excel ファイル（.xlsx）ではないか、壊れています。" in page


def test_a_changed_mapping_is_applied(app, login_as):
    client = login_as("coordinator")
    data, _expected = ledger_files.flat_ledger(5)
    _upload(client, data)
    token = csrf_token(client, "/admin/ledger_import/mapping")
    # フリガナ mapped to nothing: every row is refused for want of a reading.
    page = client.post("/admin/ledger_import/mapping", data={
        "csrf_token": token, "map_furigana": "", "map_name": "2", "map_received_on": "9"},
    ).get_data(as_text=True)
    assert "フリガナがありません" in page and "取り込まない行 6件" in page


@pytest.mark.parametrize("role", ["admin", "clerk", "agency_staff", "supervisor"])
def test_only_a_coordinator_reaches_the_screen(login_as, role):
    client = login_as(role)
    assert client.get("/admin/ledger_import/").status_code == 403
    token = csrf_token(client, "/admin/")
    response = client.post("/admin/ledger_import/upload", data={"csrf_token": token})
    assert response.status_code == 403


def test_imported_main_support_becomes_role_history_and_the_ledger_keeps_its_judgment(
        app, tmp_path):
    """Issue 10: the 主たる支援機関 column is a row of role history; the row's 危険度・緊急度 stay
    the ledger's values (on the latest 管理記録 when the ledger has reviews, else the case's)."""
    from openpyxl import Workbook

    from kyogikai.models import RoleAssignment, RoleFunction

    book = Workbook()
    sheet = book.active
    sheet.append(["番号", "氏名", "フリガナ", "相談受理年月日", "状況", "危険度", "緊急度",
                  "主担当機関", "主たる支援機関"])
    sheet.append(["旧-0001", "取込 花子", "トリコミ ハナコ", date(2024, 5, 1), "支援中", "高", "低",
                  "テスト市 女性支援課", "テスト警察署"])
    buffer = io.BytesIO()
    book.save(buffer)
    code, output = _cli(app, _write(tmp_path, "roles.xlsx", buffer.getvalue()), "--user",
                        "test-coordinator", "--yes")
    assert code == 0, output
    with app.app_context():
        case = db.session.scalar(sa.select(Case))
        [row] = db.session.scalars(sa.select(RoleAssignment)).all()
        assert (row.case_id, row.agency.name, row.function, row.valid_from) == (
            case.id, "テスト警察署", RoleFunction.main_support, date(2024, 5, 1))
        assert (case.current_risk_level.value, case.current_urgency.value) == ("high", "low")
        assert case.current_lead_agency.name == "テスト市 女性支援課"
