"""Role history only grows (要綱 4(2)ウ, 4(3)③): changes end a row and start another, mistakes are
corrected by new rows, nothing is edited or deleted — by any role, on any path."""

from datetime import date

import pytest
import sqlalchemy as sa

from kyogikai.models import (
    Agency,
    AgencyCategory,
    AuditAction,
    AuditEvent,
    Case,
    Meeting,
    RoleAssignment,
    RoleFunction,
    RoleHistoryError,
    db,
)
from kyogikai.models import roles as history
from kyogikai.workflows.freshness import case_token
from tests.conftest import csrf_token, post_form

D = RoleFunction.direct_support
M = RoleFunction.main_support


@pytest.fixture
def hospital(app, sample):
    with app.app_context():
        agency = Agency(name="テスト病院", category=AgencyCategory.medical_institution)
        db.session.add(agency)
        db.session.commit()
        return agency.id


def _rows(app, case_id):
    with app.app_context():
        return [(r.id, r.agency_id, r.function, r.valid_from, r.valid_to, r.corrects_id, r.cancels,
                 r.designated) for r in db.session.scalars(
            sa.select(RoleAssignment).where(RoleAssignment.case_id == case_id)
            .order_by(RoleAssignment.id))]


# ---------------------------------------------------------------- the rules, below every screen

def test_a_row_cannot_be_rewritten_through_the_orm(app, sample):
    with app.app_context():
        row = db.session.get(RoleAssignment, sample["role_assignment"])
        row.agency_id = 1
        with pytest.raises(RoleHistoryError):
            db.session.flush()
        db.session.rollback()
        row = db.session.get(RoleAssignment, sample["role_assignment"])
        db.session.delete(row)
        with pytest.raises(RoleHistoryError):
            db.session.flush()


def test_a_row_may_be_closed_once_and_never_reopened(app, sample):
    with app.app_context():
        row = db.session.get(RoleAssignment, sample["role_assignment"])
        row.valid_to = date(2025, 9, 30)
        db.session.commit()
        row.valid_to = date(2025, 10, 31)
        with pytest.raises(RoleHistoryError):
            db.session.flush()
        db.session.rollback()
        row = db.session.get(RoleAssignment, sample["role_assignment"])
        row.valid_to = None
        with pytest.raises(RoleHistoryError):
            db.session.flush()


@pytest.mark.parametrize("statement", [
    "UPDATE role_assignments SET agency_id = 1",
    "UPDATE role_assignments SET note = 'x'",
    "UPDATE role_assignments SET valid_from = '2020-01-01'",
    "DELETE FROM role_assignments",
])
def test_the_database_refuses_rewrites_even_by_hand(app, sample, statement):
    with app.app_context(), pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.text(statement))
        db.session.flush()


def test_the_database_lets_an_open_row_close_once(app, sample):
    with app.app_context():
        db.session.execute(sa.text("UPDATE role_assignments SET valid_to = '2025-09-30' "
                                   f"WHERE id = {sample['role_assignment']}"))
        db.session.commit()
        with pytest.raises(sa.exc.DatabaseError):
            db.session.execute(sa.text("UPDATE role_assignments SET valid_to = NULL"))


def test_a_change_ends_the_holder_and_starts_the_new_one_with_the_meeting(app, sample, hospital):
    with app.app_context():
        case = db.session.get(Case, sample["case"])
        meeting = db.session.get(Meeting, sample["meeting"])
        change = history.set_holders(case, D, [hospital], day=date(2025, 9, 1), meeting=meeting)
        db.session.commit()
        [ended], [started] = change.ended, change.started
        assert (ended.valid_to, ended.ended_meeting_id) == (date(2025, 8, 31), meeting.id)
        assert (started.agency_id, started.valid_from, started.meeting_id) == (
            hospital, date(2025, 9, 1), meeting.id)
        held = history.holders_on(history.rows_of(case.id), date(2025, 9, 1))[D]
        assert [r.agency_id for r in held] == [hospital]
        before = history.holders_on(history.rows_of(case.id), date(2025, 8, 31))[D]
        assert [r.agency.name for r in before] == ["テスト警察署"]


def test_direct_support_may_have_several_holders_but_other_functions_one(app, sample, hospital):
    with app.app_context():
        case = db.session.get(Case, sample["case"])
        police = sample["agency"] + 1
        change = history.set_holders(case, D, [police, hospital], day=date(2025, 9, 1))
        assert [r.agency_id for r in change.started] == [hospital] and not change.ended
        with pytest.raises(history.RoleError, match="1つの機関だけ"):
            history.set_holders(case, RoleFunction.coordination, [police, hospital],
                                day=date(2025, 9, 1))


def test_a_correction_voids_the_row_and_keeps_it(app, sample, hospital):
    with app.app_context():
        row = db.session.get(RoleAssignment, sample["role_assignment"])
        fixed = history.correct(row, reason="入力誤り（機関の選択違い）", agency_id=hospital)
        db.session.commit()
        rows = history.rows_of(sample["case"])
        assert len(rows) == 2 and fixed.corrects_id == row.id
        assert [r.agency_id for r in history.live(rows)] == [hospital]
        entries = history.timeline(rows, date(2025, 9, 1)).by_function[D]
        assert {e.row.id: e.state for e in entries} == {row.id: "void", fixed.id: "current"}
        with pytest.raises(history.RoleError, match="既に訂正"):
            history.correct(row, reason="二度目")


def test_a_cancellation_holds_nothing(app, sample):
    with app.app_context():
        row = db.session.get(RoleAssignment, sample["role_assignment"])
        history.correct(row, reason="担っていなかった", cancel=True)
        db.session.commit()
        assert history.holders_on(history.rows_of(sample["case"]), date(2025, 9, 1)) == {}


def test_a_voided_row_no_longer_opens_the_case_to_that_agency(app, login_as, sample):
    """The police see the sample case only through their 役割分担 (and the meeting they attended):
    once the row is cancelled and the meeting link is gone, the case is out of their scope."""
    with app.app_context():
        meeting = db.session.get(Meeting, sample["meeting"])
        meeting.agencies = [db.session.get(Agency, sample["agency"])]
        history.correct(db.session.get(RoleAssignment, sample["role_assignment"]),
                        reason="担っていなかった", cancel=True)
        db.session.commit()
    assert login_as("agency_staff").get(f"/admin/case_page/?id={sample['case']}").status_code \
        == 404


def test_a_designation_needs_reason_and_meeting(app, sample, hospital):
    with app.app_context():
        case = db.session.get(Case, sample["case"])
        with pytest.raises(history.RoleError, match="理由"):
            history.designate_main_support(case, hospital, day=date(2025, 9, 1),
                                           meeting=db.session.get(Meeting, sample["meeting"]),
                                           reason=" ")
        with pytest.raises(history.RoleError, match="会議"):
            history.designate_main_support(case, hospital, day=date(2025, 9, 1), meeting=None,
                                           reason="協議が調わないため")


def test_the_designation_is_stated_for_the_case_page_and_form1(app, sample, hospital):
    with app.app_context():
        case = db.session.get(Case, sample["case"])
        meeting = db.session.get(Meeting, sample["meeting"])
        history.designate_main_support(case, hospital, day=date(2025, 9, 1), meeting=meeting,
                                       reason="協議が調わず支援が遅れるため")
        db.session.commit()
        found = history.designations([case.id], date(2025, 9, 1))
        remark = history.designation_remark(found[case.id])
        for text in ("要綱4(3)③", "テスト病院", "令和7年9月1日", "個別ケース検討会議（令和7年5月20日）",
                     "協議が調わず支援が遅れるため"):
            assert text in remark, text
        assert history.designations([case.id], date(2025, 8, 31)) == {}


# ---------------------------------------------------------------- through the screens

def test_nobody_edits_or_deletes_a_row_through_the_generic_screen(login_as, sample):
    client = login_as("coordinator")
    row = sample["role_assignment"]
    assert client.get(f"/admin/role_assignment/edit/?id={row}").status_code == 403
    token = csrf_token(client, "/admin/")
    assert client.post("/admin/role_assignment/delete/", data={
        "id": str(row), "csrf_token": token}).status_code == 403
    assert client.post("/admin/role_assignment/action/", data={
        "action": "delete", "rowid": str(row), "csrf_token": token}).status_code == 403


def _seen(app, case_id):
    with app.app_context():
        return case_token(case_id)


def test_the_role_editor_records_a_change_with_its_meeting(app, login_as, sample, hospital):
    client = login_as("coordinator")
    url = f"/admin/role_editor/?case={sample['case']}"
    response = post_form(client, url, {
        "function": "main_support", "agency": str(hospital), "meeting": str(sample["meeting"]),
        "valid_from": "R7.9.1", "note": "", "seen": _seen(app, sample["case"])},
        target=f"/admin/role_editor/change?case={sample['case']}")
    assert response.status_code == 302
    rows = _rows(app, sample["case"])
    assert rows[-1][1:5] == (hospital, M, date(2025, 9, 1), None)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.object_type == "role_assignment",
            AuditEvent.action == AuditAction.create)).all()
        assert [e.object_id for e in events] == [rows[-1][0]]


def test_the_role_editor_refuses_a_stale_page(app, login_as, sample, hospital):
    client = login_as("coordinator")
    seen = _seen(app, sample["case"])
    with app.app_context():  # someone else records a role meanwhile
        history.set_holders(db.session.get(Case, sample["case"]), RoleFunction.coordination,
                            [sample["agency"]], day=date(2025, 6, 1))
        db.session.commit()
    before = _rows(app, sample["case"])
    response = post_form(client, f"/admin/role_editor/?case={sample['case']}", {
        "function": "main_support", "agency": str(hospital), "meeting": str(sample["meeting"]),
        "valid_from": "", "note": "", "seen": seen},
        target=f"/admin/role_editor/change?case={sample['case']}")
    assert response.status_code == 200 and "他の利用者" in response.get_data(as_text=True)
    assert _rows(app, sample["case"]) == before


def test_the_role_editor_corrects_by_a_new_row(app, login_as, sample, hospital):
    client = login_as("coordinator")
    response = post_form(client, f"/admin/role_editor/?case={sample['case']}", {
        "row": str(sample["role_assignment"]), "agency": str(hospital), "valid_from": "",
        "valid_to": "", "reason": "機関の選択誤り", "seen": _seen(app, sample["case"])},
        target=f"/admin/role_editor/correct?case={sample['case']}")
    assert response.status_code == 302
    original, fixed = _rows(app, sample["case"])
    assert original[1] == sample["agency"] + 1  # untouched: still the police, now void
    assert fixed[1] == hospital and fixed[5] == original[0]
    page = client.get(f"/admin/role_editor/?case={sample['case']}").get_data(as_text=True)
    assert "訂正済み（無効）" in page and "機関の選択誤り" in page


@pytest.mark.parametrize("role", ["clerk", "supervisor", "agency_staff"])
def test_only_a_coordinator_designates(app, login_as, sample, hospital, role):
    client = login_as(role)
    response = client.post(f"/admin/role_editor/designate?case={sample['case']}", data={
        "designation_agency": str(hospital), "designation_meeting": str(sample["meeting"]),
        "designation_reason": "協議が調わない", "seen": _seen(app, sample["case"]),
        "csrf_token": csrf_token(client, "/admin/")})
    assert response.status_code == 403
    assert all(not row[7] for row in _rows(app, sample["case"]))


def test_a_coordinator_designates_and_the_case_page_says_so(app, login_as, sample, hospital):
    client = login_as("coordinator")
    response = post_form(client, f"/admin/role_editor/?case={sample['case']}", {
        "designation_agency": str(hospital), "designation_meeting": str(sample["meeting"]),
        "designation_on": "", "designation_reason": "関係機関の協議が調わないため",
        "seen": _seen(app, sample["case"])},
        target=f"/admin/role_editor/designate?case={sample['case']}")
    assert response.status_code == 302
    row = _rows(app, sample["case"])[-1]
    assert row[1:4] == (hospital, M, date(2025, 5, 20)) and row[7] is True
    for role in ("coordinator", "supervisor"):
        page = login_as(role).get(f"/admin/case_page/?id={sample['case']}").get_data(as_text=True)
        assert "要綱4(3)③により調整機関が主たる支援機関に指定: テスト病院" in page
        assert "関係機関の協議が調わないため" in page


def test_the_flush_guard_refuses_a_designation_by_anyone_else(app, login_as, sample, hospital):
    """Even a code path that builds the row itself cannot save it for a clerk."""
    from flask_login import login_user

    from tests.conftest import user_by_login

    with app.test_request_context("/"):
        login_user(user_by_login("test-clerk"))
        db.session.add(RoleAssignment(case_id=sample["case"], agency_id=hospital, function=M,
                                      meeting_id=sample["meeting"], valid_from=date(2025, 9, 1),
                                      designated=True, designation_reason="x"))
        with pytest.raises(RoleHistoryError):
            db.session.flush()
        db.session.rollback()
