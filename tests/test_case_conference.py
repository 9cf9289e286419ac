"""個別ケース検討会議 in one form: the gate answers before saving, one save writes the meeting and
everything decided per case in one transaction, a refused save leaves nothing and keeps all."""

from datetime import date

import pytest
import sqlalchemy as sa

from kyogikai.models import (
    Agency,
    AgencyCategory,
    AuditAction,
    AuditEvent,
    Case,
    CaseReview,
    CaseStatus,
    Consent,
    Meeting,
    MeetingCase,
    RoleAssignment,
    RoleFunction,
    Woman,
    db,
)
from kyogikai.workflows.freshness import case_token
from tests.conftest import csrf_token


@pytest.fixture
def hospital(app, sample):
    with app.app_context():
        agency = Agency(name="テスト病院", category=AgencyCategory.medical_institution)
        db.session.add(agency)
        db.session.commit()
        return agency.id


def _form(app, sample, hospital, **changes):
    with app.app_context():
        seen = case_token(sample["case"])
    data = {"held_on": "令和7年9月1日", "place": "市役所 第2会議室",
            "agencies": ["1", "2", str(hospital)], "agenda": "支援方針の見直し",
            "cases-0-case_id": str(sample["case"]), "cases-0-seen": seen,
            "cases-0-risk_level": "high", "cases-0-urgency": "high",
            "cases-0-situation": "加害者からの連絡が再開した", "cases-0-support_policy": "警察と連携",
            "cases-0-status": "supporting", "cases-0-end_reason": "",
            "cases-0-lead_agency": "1", "cases-0-direct_support": ["2", str(hospital)],
            "cases-0-coordination": "1", "cases-0-case_management": "1",
            "cases-0-main_support": str(hospital), "cases-0-next_meeting_on": "令和7年10月1日",
            "cases-0-override_reason": "生命・身体の保護のため緊急に必要",
            "decisions": "病院が直接支援に加わる", "minutes": "（議事録）"}
    data.update(changes)
    return data


def _post(client, data):
    return client.post("/admin/case_conference/",
                       data={**data, "csrf_token": csrf_token(client, "/admin/case_conference/")})


def _counts(app):
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (Meeting, MeetingCase, CaseReview, RoleAssignment))


def test_the_gate_answers_while_the_form_is_filled_in(app, login_as, sample, hospital):
    client = login_as("coordinator")
    url = (f"/admin/case_conference/gate?held_on=R7.9.1&agencies=1&agencies=2"
           f"&cases={sample['case']}")
    assert client.get(url).get_json()["cases"] == {str(sample["case"]): []}
    answer = client.get(url + f"&agencies={hospital}").get_json()
    assert answer["cases"] == {str(sample["case"]): ["テスト病院"]}
    late = client.get(url.replace("R7.9.1", "R7.4.1")).get_json()  # before the consent
    assert late["cases"] == {str(sample["case"]): ["テスト市 女性支援課", "テスト警察署"]}


def test_one_save_writes_the_meeting_and_everything_decided(app, login_as, sample, hospital):
    client = login_as("coordinator")
    response = _post(client, _form(app, sample, hospital))
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert response.headers["Location"].endswith(f"/admin/case_page/?id={sample['case']}")
    with app.app_context():
        meeting = db.session.scalar(sa.select(Meeting).order_by(Meeting.id.desc()))
        assert (meeting.held_on, meeting.place, meeting.decisions, meeting.next_meeting_on) == (
            date(2025, 9, 1), "市役所 第2会議室", "病院が直接支援に加わる", date(2025, 10, 1))
        [link] = meeting.case_links
        assert [a.name for a in link.override_agencies] == ["テスト病院"]
        assert link.next_meeting_on == date(2025, 10, 1)
        [review] = meeting.reviews
        assert (review.risk_level.value, review.situation, review.lead_agency_id) == (
            "high", "加害者からの連絡が再開した", 1)
        case = db.session.get(Case, sample["case"])
        assert case.current_risk_level.value == "high" and case.last_review_on == date(2025, 9, 1)
        started = db.session.scalars(sa.select(RoleAssignment).where(
            RoleAssignment.meeting_id == meeting.id).order_by(RoleAssignment.id)).all()
        assert sorted((r.function.value, r.agency_id) for r in started) == sorted([
            ("direct_support", hospital), ("coordination", 1), ("case_management", 1),
            ("main_support", hospital)])
        police_row = db.session.get(RoleAssignment, sample["role_assignment"])
        assert police_row.valid_to is None  # the police still support directly: unchanged
        actions = {(e.action, e.object_type) for e in db.session.scalars(sa.select(AuditEvent))}
        assert {(AuditAction.create, "meeting"), (AuditAction.create, "meeting_case"),
                (AuditAction.create, "case_review"), (AuditAction.create, "role_assignment"),
                (AuditAction.consent_override, "meeting_case")} <= actions


def test_a_refused_case_leaves_nothing_and_keeps_everything_typed(app, login_as, sample,
                                                                  hospital):
    before = _counts(app)
    response = _post(login_as("coordinator"),
                     _form(app, sample, hospital, **{"cases-0-override_reason": ""}))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "テスト病院" in body and "カバーしていない" in body
    assert _counts(app) == before
    for typed in ("市役所 第2会議室", "加害者からの連絡が再開した", "警察と連携", "病院が直接支援に加わる",
                  "（議事録）", "令和7年10月1日"):
        assert typed in body, typed


def test_a_failure_late_in_the_save_rolls_back_the_meeting_too(app, login_as, sample, hospital):
    """The second case is refused after the meeting, the first link, its review and its roles
    were already written in the transaction: none of them remains."""
    with app.app_context():
        other = Woman(name="別の 女性", furigana="ベツノ ジョセイ")  # no consent at all
        second = Case(woman=other, received_on=date(2025, 7, 1))
        db.session.add(second)
        db.session.commit()
        second_id, seen = second.id, case_token(second.id)
    data = _form(app, sample, hospital, **{
        "cases-1-case_id": str(second_id), "cases-1-seen": seen, "cases-1-status": "received",
        "cases-1-risk_level": "", "cases-1-urgency": "", "cases-1-situation": "2件目",
        "cases-1-support_policy": "", "cases-1-end_reason": "", "cases-1-lead_agency": "",
        "cases-1-coordination": "", "cases-1-case_management": "", "cases-1-main_support": "",
        "cases-1-next_meeting_on": "", "cases-1-override_reason": ""})
    data["cases-0-override_reason"] = "生命・身体の保護のため緊急に必要"
    with app.app_context():
        db.session.get(Consent, sample["consent"]).agencies = db.session.scalars(
            sa.select(Agency)).all()
        db.session.commit()
    before = _counts(app)
    response = _post(login_as("coordinator"), data)
    body = response.get_data(as_text=True)
    # The first case is fully covered now; the second (no consent at all) is refused by the
    # gate, after the meeting and the first case were written in the transaction.
    assert response.status_code == 200 and "テスト市 女性支援課" in body.split("カバーしていない")[1]
    assert _counts(app) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == AuditAction.create)) == 0


def test_the_coordinator_who_may_see_hidden_addresses_is_not_refused(app, login_as, sample,
                                                                     hospital):
    """Only a 調整担当者 records this meeting, and a 調整担当者 may see hidden addresses: the
    save-time refusal is for the roles that may not (intake and the 実務者会議 test it)."""
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        woman.street, woman.address_hidden = "緑町1丁目26番3号", True
        db.session.commit()
    client = login_as("coordinator")
    assert _post(client, _form(app, sample, hospital, minutes="緑町1-26-3 に転居")).status_code \
        == 302


def test_ending_a_case_at_the_meeting_needs_a_reason(app, login_as, sample, hospital):
    before = _counts(app)
    response = _post(login_as("coordinator"),
                     _form(app, sample, hospital, **{"cases-0-status": "closed"}))
    assert response.status_code == 200 and "理由を入力" in response.get_data(as_text=True)
    assert _counts(app) == before
    response = _post(login_as("coordinator"), _form(app, sample, hospital, **{
        "cases-0-status": "closed", "cases-0-end_reason": "自立"}))
    assert response.status_code == 302
    with app.app_context():
        case = db.session.get(Case, sample["case"])
        assert (case.status, case.ended_on) == (CaseStatus.closed, date(2025, 9, 1))


def test_a_case_changed_by_someone_else_meanwhile_is_refused(app, login_as, sample, hospital):
    data = _form(app, sample, hospital)
    with app.app_context():
        db.session.add(CaseReview(case_id=sample["case"], reviewed_on=date(2025, 8, 1),
                                  situation="他の人の記録"))
        db.session.commit()
    before = _counts(app)
    response = _post(login_as("coordinator"), data)
    assert response.status_code == 200 and "他の利用者" in response.get_data(as_text=True)
    assert _counts(app) == before


def test_only_a_coordinator_records_the_meeting(app, login_as, sample, hospital):
    for role in ("clerk", "supervisor", "agency_staff"):
        client = login_as(role)
        assert client.get("/admin/case_conference/").status_code == 403
        response = client.post("/admin/case_conference/", data={
            **_form(app, sample, hospital), "csrf_token": csrf_token(client, "/admin/")})
        assert response.status_code == 403
    assert _counts(app)[0] == 1


def test_the_case_search_and_panel_stay_in_scope(app, login_as, sample):
    client = login_as("coordinator")
    found = client.get("/admin/case_conference/cases?q=あおき").get_json()
    assert [c["id"] for c in found] == [sample["case"]]
    panel = client.get(f"/admin/case_conference/panel?case={sample['case']}&index=3")
    body = panel.get_data(as_text=True)
    assert panel.status_code == 200 and 'name="cases-3-situation"' in body
    assert 'selected value="2"' in body.split('name="cases-3-direct_support"')[1].split(
        "</select>")[0]  # the police, the current direct support, is preselected
    assert client.get("/admin/case_conference/panel?case=99999&index=0").status_code == 404
    assert RoleFunction.direct_support  # (the enum the panel's fields are named after)


def test_a_bad_value_in_a_case_row_is_a_japanese_message(app, login_as, sample, hospital):
    from tests.english import english_words

    before = _counts(app)
    response = _post(login_as("coordinator"), _form(app, sample, hospital, **{
        "cases-0-risk_level": "extreme", "cases-0-next_meeting_on": "令和7年2月30日"}))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "存在しない日付" in body
    assert english_words(body) == set(), english_words(body)
    assert _counts(app) == before
