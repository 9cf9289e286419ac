"""Meeting papers (4(3)②ア): the cases a reader may see, masked, roles as corrected, 「秘」."""

import pytest
import sqlalchemy as sa

from kyogikai.models import Meeting, MeetingCase, RoleAssignment, Woman, db
from kyogikai.models import roles as history
from kyogikai.policy.masking import MASK
from tests.test_scoping import other  # noqa: F401 (fixture: a case outside the police's scope)
from tests.tools import missing_tool


@pytest.fixture
def papers(app, sample, other):  # noqa: F811
    """The sample's meeting also discussed the other case (not the police's), and its minutes
    mention the sample woman's address, which is hidden."""
    with app.app_context():
        db.session.add(MeetingCase(meeting_id=sample["meeting"], case_id=other["case"],
                                   consent_override_reason="生命・身体の保護のため緊急に必要"))
        db.session.get(Woman, sample["woman"]).address_hidden = True
        meeting = db.session.get(Meeting, sample["meeting"])
        meeting.minutes = "自宅（テスト市本町1-2-3）への訪問は控える。"
        db.session.commit()
    return {**sample, "other_number": other["number"], "other_meeting": other["meeting"]}


def _paper(client, meeting_id):
    return client.get(f"/admin/meeting_paper/?id={meeting_id}")


def test_the_coordinator_sees_every_case_and_the_address(login_as, papers):
    body = _paper(login_as("coordinator"), papers["meeting"]).get_data(as_text=True)
    assert papers["case_number"] in body and papers["other_number"] in body
    assert "本町1-2-3" in body
    assert '<span class="secret">秘</span>' in body and "@page { size: A4" in body


def test_the_papers_carry_attendees_decisions_and_the_next_dates(app, login_as, papers):
    from datetime import date

    with app.app_context():
        meeting = db.session.get(Meeting, papers["meeting"])
        meeting.next_meeting_on = date(2025, 8, 20)
        db.session.get(MeetingCase, papers["meeting_case"]).next_meeting_on = date(2025, 7, 1)
        db.session.commit()
    body = _paper(login_as("coordinator"), papers["meeting"]).get_data(as_text=True)
    for text in ("テスト市 女性支援課、テスト警察署", "調整 太郎", "支援方針の確認",  # attendees
                 "役割分担を決定", "主たる直接支援機能：テスト警察署",            # decisions, roles
                 "このケースの次回会議予定日: 令和7年7月1日", "令和7年8月20日"):   # next dates
        assert text in body, text


def test_agency_staff_see_their_cases_only_masked(login_as, papers):
    body = _paper(login_as("agency_staff"), papers["meeting"]).get_data(as_text=True)
    assert papers["case_number"] in body
    assert papers["other_number"] not in body and "秘密" not in body
    assert "本町1-2-3" not in body and MASK in body


def test_a_meeting_out_of_scope_is_a_404(login_as, papers):
    assert _paper(login_as("agency_staff"), papers["other_meeting"]).status_code == 404
    assert _paper(login_as("admin"), papers["meeting"]).status_code == 403


def test_roles_are_shown_as_corrected(app, login_as, papers):
    with app.app_context():
        mistaken = db.session.get(RoleAssignment, papers["role_assignment"])  # the police's
        history.correct(mistaken, reason="機関の選択誤り", agency_id=1)
        db.session.commit()
    body = _paper(login_as("coordinator"), papers["meeting"]).get_data(as_text=True)
    assert "主たる直接支援機能：テスト市 女性支援課" in body
    assert "主たる直接支援機能：テスト警察署" not in body


def test_the_papers_as_pdf_through_the_forms_builder(app, login_as, papers):
    from kyogikai.exports import pdf
    from kyogikai.models import AuditAction, AuditEvent
    from tests.test_official_forms import pdf_text

    if not pdf.available():
        missing_tool("WeasyPrint or the IPAex font is not installed (scripts/bootstrap.sh)")
    client = login_as("supervisor")
    page = _paper(client, papers["meeting"]).get_data(as_text=True)
    assert f"/admin/meeting_paper/pdf?id={papers['meeting']}" in page
    response = client.get(f"/admin/meeting_paper/pdf?id={papers['meeting']}")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    assert "秘" in text and "個別ケース検討会議 会議録" in text
    assert papers["case_number"] in text and "本町1-2-3" not in text  # masked for 管理職
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.export, AuditEvent.object_type == "meeting"))
        assert event.object_id == papers["meeting"] and "format=pdf" in event.detail


def test_agency_staff_print_but_do_not_export(login_as, papers):
    client = login_as("agency_staff")
    assert "meeting_paper/pdf" not in _paper(client, papers["meeting"]).get_data(as_text=True)
    assert client.get(f"/admin/meeting_paper/pdf?id={papers['meeting']}").status_code == 403
