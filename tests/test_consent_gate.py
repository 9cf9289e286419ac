"""DOMAIN rule 1: a case goes on a 個別ケース検討会議 only with consent covering every attendee."""

from datetime import date

import pytest
import sqlalchemy as sa

from kyogikai.models import (
    Agency,
    AgencyCategory,
    AuditAction,
    AuditEvent,
    Case,
    Consent,
    Meeting,
    MeetingCase,
    MeetingKind,
    db,
)
from tests.conftest import csrf_token, post_form


@pytest.fixture
def conference(app, sample):
    """A new 個別ケース検討会議 on 2025-09-01 attended by both baseline agencies and a hospital."""
    with app.app_context():
        hospital = Agency(name="テスト病院", category=AgencyCategory.medical_institution)
        meeting = Meeting(kind=MeetingKind.case_conference, held_on=date(2025, 9, 1),
                          agencies=[*db.session.scalars(sa.select(Agency)).all(), hospital])
        db.session.add(meeting)
        db.session.commit()
        return meeting.id


def _link(client, meeting_id, case_id, reason=""):
    return post_form(client, "/admin/meeting_case/new/", {
        "meeting": str(meeting_id), "case": str(case_id), "note": "",
        "override_reason": reason})


def _links(app, meeting_id):
    with app.app_context():
        return db.session.scalars(sa.select(MeetingCase).where(
            MeetingCase.meeting_id == meeting_id)).all()


def _events(app, action):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_partial_coverage_is_refused_naming_the_agencies(app, login_as, sample, conference):
    response = _link(login_as("clerk"), conference, sample["case"])
    body = response.get_data(as_text=True)
    assert "本人の同意が次の機関をカバーしていない" in body and "テスト病院" in body
    assert "テスト警察署" not in body.split("カバーしていない")[1].split("。")[0]
    assert _links(app, conference) == []


def test_no_consent_at_all_names_every_agency(app, login_as, sample, conference):
    with app.app_context():
        db.session.delete(db.session.get(Consent, sample["consent"]))
        db.session.commit()
    body = _link(login_as("clerk"), conference, sample["case"]).get_data(as_text=True)
    for name in ("テスト市 女性支援課", "テスト警察署", "テスト病院"):
        assert name in body
    assert _links(app, conference) == []


def test_full_coverage_is_accepted(app, login_as, sample, conference):
    with app.app_context():
        consent = db.session.get(Consent, sample["consent"])
        consent.agencies = db.session.scalars(sa.select(Agency)).all()
        db.session.commit()
    response = _link(login_as("clerk"), conference, sample["case"])
    assert response.status_code == 302
    assert len(_links(app, conference)) == 1


@pytest.mark.parametrize("change", [{"valid_until": date(2025, 8, 31)},
                                    {"withdrawn_on": date(2025, 9, 1)},
                                    {"obtained_on": date(2025, 9, 2)}])
def test_consent_not_valid_on_the_meeting_date_is_refused(app, login_as, sample, conference,
                                                          change):
    with app.app_context():
        consent = db.session.get(Consent, sample["consent"])
        consent.agencies = db.session.scalars(sa.select(Agency)).all()
        for name, value in change.items():
            setattr(consent, name, value)
        db.session.commit()
    body = _link(login_as("coordinator"), conference, sample["case"]).get_data(as_text=True)
    assert "カバーしていない" in body
    assert _links(app, conference) == []


def test_coordinator_override_with_reason_is_recorded_and_audited(app, login_as, sample,
                                                                  conference):
    reason = "生命・身体の保護のため緊急に必要"
    response = _link(login_as("coordinator"), conference, sample["case"], reason)
    assert response.status_code == 302
    [link] = _links(app, conference)
    assert link.consent_override_reason == reason and link.consent_override_by_id is not None
    [event] = _events(app, AuditAction.consent_override)
    assert event.object_id == link.id and reason not in event.detail


def test_override_by_a_non_coordinator_is_refused(app, login_as, sample, conference):
    body = _link(login_as("clerk"), conference, sample["case"],
                 "生命・身体の保護のため緊急に必要").get_data(as_text=True)
    assert "同意確認の緊急例外は調整担当者だけが行えます" in body
    assert _links(app, conference) == [] and _events(app, AuditAction.consent_override) == []


def test_override_without_reason_is_refused(app, login_as, sample, conference):
    body = _link(login_as("coordinator"), conference, sample["case"], "   ").get_data(
        as_text=True)
    assert "カバーしていない" in body
    assert _links(app, conference) == []


def test_other_meeting_kinds_need_no_case_consent(app, login_as, sample):
    with app.app_context():
        meeting = Meeting(kind=MeetingKind.practitioner, held_on=date(2025, 9, 1),
                          agencies=db.session.scalars(sa.select(Agency)).all())
        db.session.add(meeting)
        db.session.commit()
        meeting_id = meeting.id
    assert _link(login_as("clerk"), meeting_id, sample["case"]).status_code == 302


def test_adding_an_uncovered_attendee_to_a_meeting_is_refused(app, login_as, sample):
    with app.app_context():
        db.session.add(Agency(name="テスト学校", category=AgencyCategory.school))
        db.session.commit()
    client = login_as("coordinator")
    response = post_form(client, f"/admin/meeting/edit/?id={sample['meeting']}", {
        "kind": "case_conference", "held_on": "2025-05-20", "place": "", "agencies": ["1", "2", "3"],
        "members": [], "agenda": "", "minutes": "", "decisions": "", "next_meeting_on": ""})
    body = response.get_data(as_text=True)
    assert "テスト学校" in body and "カバーしていない" in body
    with app.app_context():
        assert len(db.session.get(Meeting, sample["meeting"]).agencies) == 2
        assert db.session.get(Case, sample["case"]) is not None


# ---------------------------------------------------------------- right-sized (issue 10)

def _meeting_form(meeting_id, **changes):
    """The meeting's edit form as a browser sends it back, with some fields changed."""
    with db.session.no_autoflush:
        meeting = db.session.get(Meeting, meeting_id)
        data = {"kind": meeting.kind.value, "held_on": meeting.held_on.isoformat(),
                "place": meeting.place, "agencies": [str(a.id) for a in meeting.agencies],
                "members": [str(m.id) for m in meeting.members], "agenda": meeting.agenda,
                "minutes": meeting.minutes, "decisions": meeting.decisions,
                "next_meeting_on": "", "override_reason": "", "version_token": str(
                    meeting.version)}
    data.update(changes)
    return data


def _lose_consent(app, sample):
    with app.app_context():
        consent = db.session.get(Consent, sample["consent"])
        consent.withdrawn_on = date(2025, 5, 1)  # before the sample meeting of 2025-05-20
        db.session.commit()


def test_correcting_the_minutes_is_not_blocked_by_an_old_case(app, login_as, sample):
    _lose_consent(app, sample)
    client = login_as("clerk")
    with app.app_context():
        data = _meeting_form(sample["meeting"], minutes="議事録を訂正しました")
    response = post_form(client, f"/admin/meeting/edit/?id={sample['meeting']}", data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    with app.app_context():
        assert db.session.get(Meeting, sample["meeting"]).minutes == "議事録を訂正しました"


def test_changing_the_date_runs_the_gate_again(app, login_as, sample):
    with app.app_context():
        db.session.get(Consent, sample["consent"]).valid_until = date(2025, 6, 30)
        db.session.commit()
        data = _meeting_form(sample["meeting"], held_on="2025-07-01")
    body = post_form(login_as("coordinator"), f"/admin/meeting/edit/?id={sample['meeting']}",
                     data).get_data(as_text=True)
    assert "カバーしていない" in body and sample["case_number"] in body
    with app.app_context():
        assert db.session.get(Meeting, sample["meeting"]).held_on == date(2025, 5, 20)


def _add_school(app):
    with app.app_context():
        school = Agency(name="テスト学校", category=AgencyCategory.school)
        db.session.add(school)
        db.session.commit()
        return school.id


def test_adding_an_agency_rechecks_even_an_overridden_case(app, login_as, sample, conference):
    reason = "生命・身体の保護のため緊急に必要"
    client = login_as("coordinator")
    assert _link(client, conference, sample["case"], reason).status_code == 302
    [link] = _links(app, conference)
    with app.app_context():
        link = db.session.get(MeetingCase, link.id)
        assert [a.name for a in link.override_agencies] == ["テスト病院"]
    school = _add_school(app)  # a second uncovered agency joins later
    with app.app_context():
        data = _meeting_form(conference, agencies=["1", "2", "3", str(school)])
    body = post_form(client, f"/admin/meeting/edit/?id={conference}", data).get_data(
        as_text=True)
    assert "カバーしていない" in body and "テスト学校" in body
    with app.app_context():
        assert len(db.session.get(Meeting, conference).agencies) == 3
        data = _meeting_form(conference, agencies=["1", "2", "3", str(school)],
                             override_reason="学校の同席が緊急に必要")
    assert post_form(client, f"/admin/meeting/edit/?id={conference}", data).status_code == 302
    with app.app_context():
        link = db.session.get(MeetingCase, link.id)
        assert sorted(a.name for a in link.override_agencies) == ["テスト学校", "テスト病院"]
        assert reason in link.consent_override_reason
        assert "学校の同席が緊急に必要" in link.consent_override_reason
    events = _events(app, AuditAction.consent_override)
    assert [e.detail.split("agencies=")[1] for e in events] == ["3", str(school)]


def test_a_clerk_cannot_extend_an_override_by_adding_an_agency(app, login_as, sample, conference):
    assert _link(login_as("coordinator"), conference, sample["case"], "緊急").status_code == 302
    school = _add_school(app)
    with app.app_context():
        data = _meeting_form(conference, agencies=["1", "2", "3", str(school)],
                             override_reason="急ぎ")
    body = post_form(login_as("clerk"), f"/admin/meeting/edit/?id={conference}",
                     data).get_data(as_text=True)
    assert "調整担当者だけが行えます" in body
    with app.app_context():
        assert len(db.session.get(Meeting, conference).agencies) == 3


def test_a_note_on_an_old_link_is_not_blocked(app, login_as, sample):
    _lose_consent(app, sample)
    client = login_as("clerk")
    url = f"/admin/meeting_case/edit/?id={sample['meeting_case']}"
    from tests.browser_form import form_fields, with_changes

    data = with_changes(form_fields(client.get(url).get_data(as_text=True)), note="補足")
    assert client.post(url, data=data).status_code == 302
    with app.app_context():
        assert db.session.get(MeetingCase, sample["meeting_case"]).note == "補足"


def test_a_consent_withdrawn_for_one_agency_stays_valid_for_the_others(app, login_as, sample,
                                                                      conference):
    with app.app_context():
        consent = db.session.get(Consent, sample["consent"])
        consent.agencies = db.session.scalars(sa.select(Agency)).all()
        db.session.commit()
        db.session.get(Consent, sample["consent"]).withdraw_for(2, date(2025, 8, 1))
        db.session.commit()
        consent = db.session.get(Consent, sample["consent"])
        assert consent.covers(1, date(2025, 9, 1)) and not consent.covers(2, date(2025, 9, 1))
        assert consent.covers(2, date(2025, 7, 31))
    body = _link(login_as("clerk"), conference, sample["case"]).get_data(as_text=True)
    missing = body.split("カバーしていない")[1].split("。")[0]
    assert "テスト警察署" in missing and "テスト病院" not in missing
    assert "テスト市 女性支援課" not in missing


def test_withdrawal_for_the_police_closes_the_case_to_the_police_only(app, login_as, sample):
    client = login_as("clerk")
    response = client.post(f"/admin/case_page/withdraw?id={sample['case']}", data={
        "consent": str(sample["consent"]), "agency": "2", "withdrawn_on": "2025-06-01",
        "csrf_token": csrf_token(client, "/admin/")})
    assert response.status_code == 302
    with app.app_context():
        consent = db.session.get(Consent, sample["consent"])
        assert [(link.agency_id, link.withdrawn_on) for link in consent.agency_links] == [
            (1, None), (2, date(2025, 6, 1))]
        assert consent.withdrawn_on is None
    assert login_as("agency_staff").get(
        f"/admin/case_page/?id={sample['case']}").status_code == 404
    page = login_as("coordinator").get(f"/admin/case_page/?id={sample['case']}")
    assert "撤回 令和7年6月1日" in page.get_data(as_text=True)
