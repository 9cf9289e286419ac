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
from tests.conftest import post_form


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
