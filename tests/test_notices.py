"""Notices (要綱 4(2)ウ ii 1): the right people are told, no one else, and nothing personal."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from kyogikai.models import (
    Agency,
    AgencyCategory,
    Case,
    CaseStatus,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    Meeting,
    MeetingCase,
    MeetingKind,
    Notice,
    NoticeKind,
    Role,
    RoleAssignment,
    RoleFunction,
    User,
    Woman,
    db,
    roles,
)
from kyogikai.policy import notices
from kyogikai.policy.authentication import hash_password
from tests.conftest import PASSWORD, AuthActions, post_form
from tests.test_migrations import migrated_app  # noqa: F401 (fixture: a migrated database)

TODAY = date.today()
SOON = TODAY + timedelta(days=10)
WAREKI_SOON = re.compile(r"令和\d+年\d+月\d+日")


@pytest.fixture
def people(app, sample):
    """Besides the baseline (police staff ``test-agency_staff``): staff of the home agency, staff
    of a hospital that is never invited, and a second coordinator."""
    with app.app_context():
        home, police = db.session.scalars(sa.select(Agency).order_by(Agency.id)).all()
        hospital = Agency(name="テスト病院", category=AgencyCategory.medical_institution)
        db.session.add(hospital)
        password = hash_password(PASSWORD)
        for login, role, agency in (("home-staff", Role.agency_staff, home),
                                    ("hospital-staff", Role.agency_staff, hospital),
                                    ("coordinator-2", Role.coordinator, home)):
            db.session.add(User(login=login, display_name=login, role=role, agency=agency,
                                password_hash=password, active=True))
        db.session.execute(sa.delete(Notice))  # the sample's own role assignment told the police
        db.session.commit()
        return {"home": home.id, "police": police.id, "hospital": hospital.id, **sample}


def told(app, kind=None) -> dict[str, list]:
    """login → the kinds of the notices they received."""
    with app.app_context():
        query = sa.select(User.login, Notice.kind).join(Notice, Notice.user_id == User.id)
        if kind is not None:
            query = query.where(Notice.kind == kind)
        found = {}
        for login, notice_kind in db.session.execute(query.order_by(Notice.id)):
            found.setdefault(login, []).append(notice_kind)
        return found


def new_meeting(client, agencies, held_on=SOON, kind="case_conference", place="第1会議室"):
    return post_form(client, "/admin/meeting/new/", {
        "kind": kind, "held_on": held_on.isoformat(), "place": place,
        "agencies": [str(a) for a in agencies], "agenda": "", "minutes": "", "decisions": "",
        "next_meeting_on": ""})


def test_agencies_invited_to_a_meeting_are_told_and_no_one_else(app, login_as, people):
    response = new_meeting(login_as("coordinator"), [people["home"], people["police"]])
    assert response.status_code == 302
    assert told(app) == {"test-agency_staff": [NoticeKind.meeting_invited],
                         "home-staff": [NoticeKind.meeting_invited]}


def test_a_past_meeting_being_recorded_tells_no_one(app, login_as, people):
    new_meeting(login_as("clerk"), [people["police"]], held_on=TODAY - timedelta(days=3))
    assert told(app) == {}


def test_changes_to_a_meeting_tell_exactly_those_concerned(app, login_as, people):
    client = login_as("coordinator")
    new_meeting(client, [people["home"], people["police"]])
    with app.app_context():
        meeting_id = db.session.scalar(sa.select(sa.func.max(Meeting.id)))
        db.session.execute(sa.delete(Notice))
        db.session.commit()
    response = post_form(client, f"/admin/meeting/edit/?id={meeting_id}", {
        "kind": "case_conference", "held_on": (SOON + timedelta(days=1)).isoformat(),
        "place": "第1会議室", "agencies": [str(people["police"]), str(people["hospital"])],
        "agenda": "", "minutes": "", "decisions": "", "next_meeting_on": ""})
    assert response.status_code == 302
    assert told(app) == {"hospital-staff": [NoticeKind.meeting_invited],
                         "home-staff": [NoticeKind.meeting_cancelled],
                         "test-agency_staff": [NoticeKind.meeting_changed]}


def test_minutes_corrected_tell_no_one(app, login_as, people):
    client = login_as("coordinator")
    new_meeting(client, [people["police"]])
    with app.app_context():
        meeting_id = db.session.scalar(sa.select(sa.func.max(Meeting.id)))
        db.session.execute(sa.delete(Notice))
        db.session.commit()
    post_form(client, f"/admin/meeting/edit/?id={meeting_id}", {
        "kind": "case_conference", "held_on": SOON.isoformat(), "place": "第1会議室",
        "agencies": [str(people["police"])], "agenda": "", "minutes": "議事録を追記",
        "decisions": "", "next_meeting_on": ""})
    assert told(app) == {}


def test_a_role_assigned_and_ended_tells_that_agency_only(app, login_as, people):
    client = login_as("coordinator")
    response = post_form(client, "/admin/role_assignment/new/", {
        "case": str(people["case"]), "agency": str(people["home"]),
        "function": "coordination", "meeting": "", "valid_from": TODAY.isoformat(),
        "valid_to": "", "note": ""})
    assert response.status_code == 302
    assert told(app) == {"home-staff": [NoticeKind.role_assigned]}
    with app.app_context():  # the role editor's change: the home agency hands over to the police
        case = db.session.get(Case, people["case"])
        roles.set_holders(case, RoleFunction.coordination, [people["police"]],
                          day=TODAY + timedelta(days=1))
        db.session.commit()
    assert told(app) == {"home-staff": [NoticeKind.role_assigned, NoticeKind.role_relieved],
                         "test-agency_staff": [NoticeKind.role_assigned]}


def test_a_corrected_role_tells_both_agencies(app, people):
    with app.app_context():
        mistaken = db.session.get(RoleAssignment, people["role_assignment"])  # the police's
        roles.correct(mistaken, reason="機関の選択誤り", agency_id=people["home"])
        db.session.commit()
    assert told(app) == {"test-agency_staff": [NoticeKind.role_relieved],
                         "home-staff": [NoticeKind.role_assigned]}
    with app.app_context():
        db.session.execute(sa.delete(Notice))
        fixed = db.session.scalar(sa.select(RoleAssignment).where(
            RoleAssignment.corrects_id == people["role_assignment"]))
        roles.correct(fixed, reason="会議で取り上げていない", cancel=True)
        db.session.commit()
    assert told(app) == {"home-staff": [NoticeKind.role_relieved]}


def test_a_withdrawn_consent_tells_the_coordinators_but_not_the_one_who_withdrew_it(
        app, people):
    with app.app_context():
        consent = db.session.get(Consent, people["consent"])
        consent.withdrawn_on = None
        db.session.commit()
    client = app.test_client()
    AuthActions(client).login("coordinator-2")
    response = post_form(client, f"/admin/consent/edit/?id={people['consent']}", {
        "woman": str(people["woman"]), "purpose": "case_conference",
        "agencies": [str(people["home"]), str(people["police"])], "obtained_on": "2025-04-10",
        "method": "written", "obtained_by": "", "valid_until": "",
        "withdrawn_on": TODAY.isoformat(), "note": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert told(app) == {"test-coordinator": [NoticeKind.consent_withdrawn]}


def test_a_consent_withdrawn_for_one_agency_is_told_too(app, people):
    with app.app_context():  # any path: here a plain change of the record, as a workflow makes
        consent = db.session.get(Consent, people["consent"])
        consent.agencies = [a for a in consent.agencies if a.id != people["police"]]
        db.session.commit()
        notice = db.session.scalar(sa.select(Notice))
        assert notice.agency_id == people["police"]
    assert told(app) == {"test-coordinator": [NoticeKind.consent_withdrawn],
                         "coordinator-2": [NoticeKind.consent_withdrawn]}


def test_a_consent_withdrawn_for_one_agency_on_the_case_page_is_told(app, people):
    with app.app_context():  # as the case page's per-agency withdrawal does
        consent = db.session.get(Consent, people["consent"])
        consent.withdraw_for(people["police"], TODAY)
        db.session.commit()
        notice = db.session.scalar(sa.select(Notice))
        assert (notice.agency_id, notice.on_date) == (people["police"], TODAY)
    assert told(app) == {"test-coordinator": [NoticeKind.consent_withdrawn],
                         "coordinator-2": [NoticeKind.consent_withdrawn]}


def test_a_closed_case_is_not_relied_on(app, people):
    with app.app_context():
        case = db.session.get(Case, people["case"])
        case.status, case.ended_on, case.end_reason = CaseStatus.closed, TODAY, "終結"
        db.session.get(Consent, people["consent"]).withdrawn_on = TODAY
        db.session.commit()
    assert told(app) == {}


def test_an_expired_consent_is_told_once_per_coordinator(app, login_as, people):
    with app.app_context():
        consent = db.session.get(Consent, people["consent"])
        consent.valid_until = TODAY - timedelta(days=2)
        db.session.commit()
    client = login_as("coordinator")
    client.get("/admin/")
    client.get("/admin/notice/")
    login_as("clerk").get("/admin/")
    assert told(app) == {"test-coordinator": [NoticeKind.consent_expired],
                         "coordinator-2": [NoticeKind.consent_expired]}


def test_a_renewed_consent_is_not_told_as_expired(app, login_as, people):
    with app.app_context():
        old = db.session.get(Consent, people["consent"])
        old.valid_until = TODAY - timedelta(days=2)
        db.session.add(Consent(woman_id=old.woman_id, purpose=old.purpose,
                               obtained_on=TODAY - timedelta(days=2), method=old.method,
                               agencies=list(old.agencies)))
        db.session.commit()
    login_as("coordinator").get("/admin/")
    assert told(app) == {}


def _invite_with_three_cases(app, people):
    """A meeting soon, attended by the police: one case whose consent covers the police, one
    whose consent does not (put on the agenda by a coordinator's override), and one whose
    consent covers the police today but ends the day before the meeting."""
    with app.app_context():
        police = db.session.get(Agency, people["police"])
        home = db.session.get(Agency, people["home"])
        covered = db.session.get(Case, people["case"])
        cases = []
        for name, agencies, until in (("井上 花", [home], None),
                                      ("上田 空", [home, police], SOON - timedelta(days=1))):
            woman = Woman(name=name, furigana="テスト")
            cases.append(Case(woman=woman, received_on=TODAY, status=CaseStatus.supporting))
            db.session.add_all([cases[-1], Consent(
                woman=woman, purpose=ConsentPurpose.case_conference, obtained_on=TODAY,
                method=ConsentMethod.written, agencies=agencies, valid_until=until)])
        uncovered, ending = cases
        db.session.add(RoleAssignment(case=ending, agency=police, valid_from=TODAY,
                                      function=RoleFunction.direct_support))
        db.session.flush()
        meeting = Meeting(kind=MeetingKind.case_conference, held_on=SOON, place="第2会議室",
                          agencies=[police])
        db.session.add(meeting)
        reason = "生命・身体の保護のため緊急に必要"
        db.session.add_all([MeetingCase(meeting=meeting, case=covered),
                            MeetingCase(meeting=meeting, case=uncovered,
                                        consent_override_reason=reason),
                            MeetingCase(meeting=meeting, case=ending,
                                        consent_override_reason=reason)])
        db.session.commit()
        notice = db.session.scalar(sa.select(Notice).where(
            Notice.kind == NoticeKind.meeting_invited,
            Notice.user_id == sa.select(User.id).where(User.login == "test-agency_staff")
            .scalar_subquery()))
        return notice.id, covered.number, uncovered.number, ending.number


def test_a_notice_shows_only_case_numbers_consent_allows(app, login_as, people):
    notice_id, covered, uncovered, ending = _invite_with_three_cases(app, people)
    staff = login_as("agency_staff")
    assert ending in staff.get("/admin/case/").get_data(as_text=True)  # in scope today
    body = staff.get(f"/admin/notice/{notice_id}").get_data(as_text=True)
    assert covered in body
    assert uncovered not in body
    assert ending not in body  # not covered on the meeting's date
    assert "第2会議室" in body and "個別ケース検討会議" in body
    inbox = staff.get("/admin/notice/").get_data(as_text=True)
    row = inbox.split(f'data-notice-id="{notice_id}"')[1].split("</tr>")[0]
    assert covered in row and uncovered not in row and ending not in row
    assert WAREKI_SOON.search(body)
    # Nothing personal: neither woman's name.
    assert "青木" not in body and "井上" not in body and "上田" not in body


def test_a_notice_is_its_readers_alone(app, login_as, people):
    notice_id, *_numbers = _invite_with_three_cases(app, people)
    for role in ("coordinator", "clerk", "supervisor"):
        assert login_as(role).get(f"/admin/notice/{notice_id}").status_code == 404
    assert login_as("admin").get(f"/admin/notice/{notice_id}").status_code == 403
    client = app.test_client()
    AuthActions(client).login("hospital-staff")
    assert client.get(f"/admin/notice/{notice_id}").status_code == 404
    assert "お知らせはありません" in client.get("/admin/notice/").get_data(as_text=True)


def test_unread_count_in_the_navbar_and_read_state(app, login_as, people):
    client = login_as("coordinator")
    new_meeting(client, [people["police"]])
    new_meeting(client, [people["police"]], held_on=SOON + timedelta(days=7))
    staff = login_as("agency_staff")
    page = staff.get("/admin/").get_data(as_text=True)
    assert re.search(r'data-unread-count[^>]*>2<', page)
    with app.app_context():
        first = db.session.scalar(sa.select(sa.func.min(Notice.id)))
    # The page that marks it read already counts one (the count loaded with the user is
    # dropped when the request changes a notice: policy.request_values).
    opened = staff.get(f"/admin/notice/{first}").get_data(as_text=True)
    assert re.search(r'data-unread-count[^>]*>1<', opened)
    assert re.search(r'data-unread-count[^>]*>1<', staff.get("/admin/").get_data(as_text=True))
    post_form(staff, "/admin/notice/", {}, target=f"/admin/notice/{first}/unread")
    assert re.search(r'data-unread-count[^>]*>2<', staff.get("/admin/").get_data(as_text=True))
    post_form(staff, "/admin/notice/", {}, target="/admin/notice/read-all")
    assert "data-unread-count" not in staff.get("/admin/").get_data(as_text=True)
    # The coordinator who called the meetings has no notices of them.
    assert "data-unread-count" not in client.get("/admin/").get_data(as_text=True)


SENT = []


def record_mail(recipient, subject, path):
    """A NOTICE_MAIL_HOOK for the test: what a mail relay would be handed."""
    SENT.append((recipient, subject, path))


def test_no_mail_by_default_and_the_hook_when_configured(app, login_as, people):
    SENT.clear()
    client = login_as("coordinator")
    new_meeting(client, [people["police"]])
    assert SENT == []
    app.config["NOTICE_MAIL_HOOK"] = "tests.test_notices:record_mail"
    new_meeting(client, [people["police"]], place="架空町1-2-3 公民館")
    assert len(SENT) == 1
    recipient, subject, path = SENT[0]
    assert recipient["login"] == "test-agency_staff"
    assert subject.startswith("会議への招集：個別ケース検討会議（令和")
    assert "公民館" not in subject and path.startswith("/admin/notice/")


def test_a_change_that_rolls_back_tells_no_one(app, people):
    with app.app_context():
        db.session.add(Meeting(kind=MeetingKind.practitioner, held_on=SOON,
                               agencies=[db.session.get(Agency, people["police"])]))
        db.session.flush()
        assert db.session.scalar(sa.select(sa.func.count(Notice.id))) == 1
        db.session.rollback()
    assert told(app) == {}


def test_recipients_are_the_audience_of_each_kind(app, people):
    with app.app_context():
        for kind, role in notices.AUDIENCE.items():
            for user_id in notices.recipients(kind, people["police"]):
                assert db.session.get(User, user_id).role is role


def test_the_expiry_sweep_runs_from_the_command_line(app, people):
    with app.app_context():
        db.session.get(Consent, people["consent"]).valid_until = TODAY - timedelta(days=1)
        db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["notices", "sweep"])
    assert first.exit_code == 0 and "2 件作成しました" in first.output
    assert "0 件作成しました" in runner.invoke(args=["notices", "sweep"]).output


def test_the_migrated_schema_takes_every_kind_role_and_meeting(migrated_app):  # noqa: F811
    """The notices table's CHECKs (from the migration) list every value the enums have."""
    from itertools import zip_longest

    from kyogikai.models import MeetingKind

    user = User(login="x", display_name="x", role=Role.coordinator, password_hash="x")
    db.session.add(user)
    db.session.flush()
    for kind, function, meeting_kind in zip_longest(NoticeKind, RoleFunction, MeetingKind):
        db.session.add(Notice(user_id=user.id, kind=kind or NoticeKind.role_assigned,
                              role_function=function, meeting_kind=meeting_kind))
    db.session.flush()
    db.session.rollback()


def test_the_case_meeting_screen_tells_the_same_people(app, login_as, people):
    """The workflow screen (one save: meeting, cases, reviews, roles) goes through the same
    events as the generated screens."""
    from kyogikai.japanese.wareki import format_wareki
    from tests.test_case_conference import _form, _post

    data = _form(app, people, people["hospital"], held_on=format_wareki(SOON),
                 **{"cases-0-next_meeting_on": ""})
    response = _post(login_as("coordinator"), data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    got = {login: sorted(kinds) for login, kinds in told(app).items()}
    assert got == {
        "home-staff": sorted([NoticeKind.meeting_invited, NoticeKind.role_assigned,
                              NoticeKind.role_assigned]),
        "test-agency_staff": [NoticeKind.meeting_invited],
        "hospital-staff": sorted([NoticeKind.meeting_invited, NoticeKind.role_assigned,
                                  NoticeKind.role_assigned])}
