"""実務者会議 (要綱 4(2)イ i): every open case on one screen, one 管理記録 per case changed."""

from datetime import date

import pytest
import sqlalchemy as sa

from kyogikai.models import (
    AuditAction,
    AuditEvent,
    Case,
    CaseReview,
    CaseStatus,
    Meeting,
    MeetingKind,
    Woman,
    db,
)
from kyogikai.workflows.freshness import case_tokens
from tests.conftest import csrf_token


@pytest.fixture
def review(app, sample):
    """A 実務者会議 and three open cases (the sample's and two more) plus one closed case."""
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        more = [Case(woman=woman, received_on=date(2025, 6, d)) for d in (1, 2)]
        closed = Case(woman=woman, received_on=date(2025, 6, 3), status=CaseStatus.closed,
                      ended_on=date(2025, 7, 1), end_reason="終結")
        meeting = Meeting(kind=MeetingKind.practitioner, held_on=date(2025, 10, 10),
                          agencies=[])
        db.session.add_all([*more, closed, meeting])
        db.session.commit()
        ids = [sample["case"], more[0].id, more[1].id]
        return {"meeting": meeting.id, "cases": ids, "closed": closed.id,
                "numbers": [db.session.get(Case, i).number for i in ids],
                "closed_number": closed.number}


def _form(app, review, rows: dict):
    with app.app_context():
        tokens = case_tokens(review["cases"])
        cases = {i: db.session.get(Case, i) for i in review["cases"]}
        data = {"cases": [str(i) for i in review["cases"]]}
        for case_id, case in cases.items():
            key = f"r-{case_id}-"
            data.update({key + "seen": tokens[case_id], key + "situation": "",
                         key + "lead": str(case.current_lead_agency_id or ""),
                         key + "risk": case.current_risk_level.value if case.current_risk_level
                         else "",
                         key + "urgency": case.current_urgency.value if case.current_urgency
                         else ""})
    for case_id, changes in rows.items():
        data.update({f"r-{case_id}-{name}": value for name, value in changes.items()})
    return data


def _post(client, review, data):
    url = f"/admin/practitioner_review/?meeting={review['meeting']}"
    return client.post(url, data={**data, "csrf_token": csrf_token(client, url)})


def _reviews(app, meeting_id):
    with app.app_context():
        return db.session.scalars(sa.select(CaseReview).where(
            CaseReview.meeting_id == meeting_id).order_by(CaseReview.case_id)).all()


def test_every_open_case_is_on_one_screen(login_as, review):
    body = login_as("clerk").get(
        f"/admin/practitioner_review/?meeting={review['meeting']}").get_data(as_text=True)
    for number in review["numbers"]:
        assert number in body
    assert review["closed_number"] not in body
    assert "安定" in body  # the sample case's last 管理記録


def test_one_review_per_changed_case_and_none_for_the_others(app, login_as, review):
    first, second, third = review["cases"]
    data = _form(app, review, {first: {"situation": "就労を開始した"},
                               second: {"risk": "high"},
                               third: {}})
    response = _post(login_as("clerk"), review, data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    saved = _reviews(app, review["meeting"])
    assert [(r.case_id, r.situation, r.risk_level and r.risk_level.value,
             r.reviewed_on) for r in saved] == [
        (first, "就労を開始した", "medium", date(2025, 10, 10)),
        (second, "", "high", date(2025, 10, 10))]
    with app.app_context():
        assert db.session.get(Case, second).current_risk_level.value == "high"
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.create,
            AuditEvent.object_type == "case_review")).all()
        assert sorted(e.object_id for e in events) == sorted(r.id for r in saved)


def test_the_need_for_a_case_conference_is_recorded(app, login_as, review):
    first = review["cases"][0]
    _post(login_as("clerk"), review, _form(app, review, {first: {"needs": "1"}}))
    [saved] = _reviews(app, review["meeting"])
    assert saved.case_id == first and saved.needs_conference is True


def test_one_refused_row_saves_nothing_and_keeps_what_was_typed(app, login_as, review):
    first, second, _third = review["cases"]
    data = _form(app, review, {first: {"situation": "一件目の状況"},
                               second: {"situation": "二件目の状況"}})
    with app.app_context():  # someone else records the second case meanwhile
        db.session.add(CaseReview(case_id=second, reviewed_on=date(2025, 10, 1),
                                  situation="別の記録"))
        db.session.commit()
    response = _post(login_as("clerk"), review, data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "他の利用者" in body and "何も保存していません" in body
    assert "一件目の状況" in body and "二件目の状況" in body
    assert _reviews(app, review["meeting"]) == []


def test_a_row_already_recorded_at_this_meeting_is_not_recorded_twice(app, login_as, review):
    first = review["cases"][0]
    client = login_as("clerk")
    _post(client, review, _form(app, review, {first: {"situation": "一回目"}}))
    body = client.get(f"/admin/practitioner_review/?meeting={review['meeting']}").get_data(
        as_text=True)
    assert "この会議で記録済み" in body
    _post(client, review, _form(app, review, {first: {"situation": "二回目"}}))
    assert [r.situation for r in _reviews(app, review["meeting"])] == ["一回目"]


def test_a_hidden_address_in_a_row_is_refused_for_the_clerk(app, login_as, review, sample):
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        woman.street, woman.address_hidden = "緑町1丁目26番3号", True
        db.session.commit()
    first = review["cases"][0]
    response = _post(login_as("clerk"), review, _form(app, review, {
        first: {"situation": "緑町１－２６－３の知人宅へ"}}))
    assert response.status_code == 200
    assert "秘匿された住所が含まれています" in response.get_data(as_text=True)
    assert _reviews(app, review["meeting"]) == []


def test_agency_staff_and_supervisors_do_not_reach_it(login_as, review):
    for role in ("agency_staff", "supervisor", "admin"):
        assert login_as(role).get(
            f"/admin/practitioner_review/?meeting={review['meeting']}").status_code == 403


def test_a_new_practitioner_meeting_is_recorded_from_the_chooser(app, login_as):
    client = login_as("clerk")
    response = client.post("/admin/practitioner_review/new", data={
        "held_on": "R7.10.10", "place": "会議室",
        "csrf_token": csrf_token(client, "/admin/practitioner_review/")})
    assert response.status_code == 302
    with app.app_context():
        meeting = db.session.scalar(sa.select(Meeting).order_by(Meeting.id.desc()))
        assert (meeting.kind, meeting.held_on, len(meeting.agencies)) == (
            MeetingKind.practitioner, date(2025, 10, 10), 2)
    assert response.headers["Location"].endswith(f"?meeting={meeting.id}")
