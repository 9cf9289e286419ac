"""Need to know (DOMAIN rule 2) for 関係機関担当者, and IDOR probes on every route."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from kyogikai.models import (
    Agency,
    Case,
    CaseReview,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    Meeting,
    MeetingCase,
    MeetingKind,
    RoleAssignment,
    RoleFunction,
    SupportKind,
    SupportRecord,
    Woman,
    db,
)
from kyogikai.policy.resources import RESOURCES

TODAY = date.today()
SECRET_NAME = "秘密 花子"


@pytest.fixture
def other(app, sample):
    """A second woman and case the police (the agency user's agency) has nothing to do with."""
    with app.app_context():
        home = db.session.get(Agency, 1)
        woman = Woman(name=SECRET_NAME, furigana="ヒミツ ハナコ", birth_date=date(1985, 1, 1))
        case = Case(woman=woman, received_on=date(2025, 6, 1), lead_agency=home)
        consent = Consent(woman=woman, purpose=ConsentPurpose.case_conference,
                          obtained_on=date(2025, 6, 1), method=ConsentMethod.oral,
                          agencies=[home])
        review = CaseReview(case=case, reviewed_on=date(2025, 7, 1), situation="秘密の状況")
        record = SupportRecord(case=case, recorded_on=date(2025, 6, 2), agency=home,
                               kind=SupportKind.phone, content="秘密の内容")
        role = RoleAssignment(case=case, agency=home, function=RoleFunction.case_management,
                              valid_from=date(2025, 6, 1))
        meeting = Meeting(kind=MeetingKind.practitioner, held_on=date(2025, 7, 1),
                          agencies=[home])
        link = MeetingCase(meeting=meeting, case=case)
        db.session.add_all([case, consent, review, record, role, meeting, link])
        db.session.commit()
        return {"woman": woman.id, "case": case.id, "consent": consent.id,
                "case_review": review.id, "support_record": record.id,
                "role_assignment": role.id, "meeting": meeting.id, "meeting_case": link.id,
                "number": case.number}


def _leaks(body: str, other) -> list[str]:
    return [text for text in (SECRET_NAME, "ヒミツ", other["number"], "秘密の状況", "秘密の内容")
            if text in body]


def test_agency_staff_sees_only_their_case_in_every_list(login_as, sample, other):
    client = login_as("agency_staff")
    for resource in ("case", "woman", "consent", "case_review", "support_record",
                     "role_assignment", "meeting_case"):
        body = client.get(f"/admin/{resource}/").get_data(as_text=True)
        assert not _leaks(body, other), resource
    ledger = client.get("/admin/case/").get_data(as_text=True)
    assert sample["case_number"] in ledger


@pytest.mark.parametrize("resource", ["case", "woman", "consent", "case_review",
                                      "support_record", "role_assignment", "meeting",
                                      "meeting_case"])
def test_guessed_ids_answer_404_and_reveal_nothing(login_as, sample, other, resource):
    client = login_as("agency_staff")
    for url in (f"/admin/{resource}/details/?id={other[resource]}",
                f"/admin/{resource}/details/?id=999999"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert not _leaks(response.get_data(as_text=True), other)


@pytest.mark.parametrize("resource", ["case", "woman", "consent", "case_review",
                                      "support_record", "role_assignment", "meeting",
                                      "meeting_case"])
def test_guessed_ids_on_write_routes_are_refused_and_reveal_nothing(app, login_as, sample, other,
                                                                   resource, monkeypatch):
    """Scoping holds on the write routes by itself: agency staff are given every right on the
    resource here, so the matrix lets the requests through and only the scope stops them."""
    from kyogikai.models import Role
    from kyogikai.policy.matrix import FULL, MATRIX
    from tests.conftest import csrf_token

    monkeypatch.setitem(MATRIX[resource], Role.agency_staff, FULL)
    client = login_as("agency_staff")
    token = csrf_token(client, "/admin/")
    # The grant works: the agency's own record opens for editing.
    assert client.get(f"/admin/{resource}/edit/?id={sample[resource]}").status_code == 200
    edit = client.get(f"/admin/{resource}/edit/?id={other[resource]}")
    delete = client.post(f"/admin/{resource}/delete/", data={"id": other[resource],
                                                             "csrf_token": token})
    bulk = client.post(f"/admin/{resource}/action/", data={"action": "delete",
                                                           "rowid": other[resource],
                                                           "csrf_token": token})
    export = client.get(f"/admin/{resource}/export/csv/")
    assert (edit.status_code, delete.status_code, bulk.status_code, export.status_code) == (
        404, 404, 302, 200)
    for response in (edit, delete, bulk, export):
        assert not _leaks(response.get_data(as_text=True), other)
    model = RESOURCES[resource].model
    with app.app_context():
        assert db.session.get(model, other[resource]) is not None  # nothing was deleted


def test_the_out_of_scope_case_is_visible_to_the_coordinator(login_as, other):
    response = login_as("coordinator").get(f"/admin/case_page/?id={other['case']}")
    assert response.status_code == 200
    assert SECRET_NAME in response.get_data(as_text=True)


@pytest.mark.parametrize("url", [
    "/admin/case/?search=秘密",
    "/admin/case/?search={number}",
    "/admin/woman/?search=ヒミツ",
    "/admin/case_review/ajax/lookup/?name=case&query=秘密",
    "/admin/case_review/ajax/lookup/?name=case&query={number}",
    "/admin/support_record/ajax/lookup/?name=case&query=秘密",
    "/admin/role_assignment/ajax/lookup/?name=case&query=秘密",
    "/admin/meeting_case/ajax/lookup/?name=case&query=秘密",
    "/admin/case/ajax/lookup/?name=woman&query=秘密",
    "/admin/consent/ajax/lookup/?name=woman&query=ヒミツ",
    "/admin/",
])
def test_search_pickers_and_home_reveal_nothing(login_as, sample, other, url):
    url = url.format(number=other["number"])
    response = login_as("agency_staff").get(url)
    assert response.status_code == 200  # answered, not refused: the scope did the work
    body = response.get_data(as_text=True)
    if "/ajax/lookup/" in url:
        assert response.get_json() == []
    # The search box echoes what the person typed; anything beyond that is a leak.
    typed = url.split("=")[-1]
    assert [t for t in _leaks(body, other) if t != typed] == []


@pytest.mark.parametrize("url", [
    "/admin/case_review/ajax/lookup/?name=case&query=青木",
    "/admin/case_review/ajax/lookup/?name=case&query={number}",
    "/admin/case/ajax/lookup/?name=woman&query=アオキ",
])
def test_the_same_pickers_find_the_agencys_own_case(login_as, sample, other, url):
    found = login_as("agency_staff").get(url.format(number=sample["case_number"])).get_json()
    assert len(found) == 1


def test_pickers_still_work_for_the_clerk(login_as, other):
    body = login_as("clerk").get(
        "/admin/case_review/ajax/lookup/?name=case&query=秘密").get_data(as_text=True)
    assert other["number"] in body


def test_meeting_details_list_only_visible_cases(app, login_as, sample, other):
    with app.app_context():
        meeting = db.session.get(Meeting, sample["meeting"])
        db.session.add(MeetingCase(meeting=meeting, case=db.session.get(Case, other["case"]),
                                   consent_override_reason="テスト"))
        db.session.commit()
    body = login_as("agency_staff").get(
        f"/admin/meeting/details/?id={sample['meeting']}").get_data(as_text=True)
    assert sample["case_number"] in body and other["number"] not in body


def test_home_counts_only_what_the_user_may_see(login_as, sample, other):
    import re

    def numbers(role):
        body = login_as(role).get("/admin/").get_data(as_text=True)
        return [int(n) for n in re.findall(r"data-panel-number>(\d+)<", body)]

    assert numbers("agency_staff")[0] == 1
    assert numbers("coordinator")[0] == 2


def _visible(login_as, case_number) -> bool:
    return case_number in login_as("agency_staff").get("/admin/case/").get_data(as_text=True)


def test_withdrawn_consent_ends_sharing_from_that_day(app, login_as, sample):
    assert _visible(login_as, sample["case_number"])
    with app.app_context():
        db.session.get(Consent, sample["consent"]).withdrawn_on = TODAY
        db.session.commit()
    assert not _visible(login_as, sample["case_number"])
    response = login_as("agency_staff").get(f"/admin/case/details/?id={sample['case']}")
    assert response.status_code == 404


def test_expired_consent_ends_sharing(app, login_as, sample):
    with app.app_context():
        db.session.get(Consent, sample["consent"]).valid_until = TODAY - timedelta(days=1)
        db.session.commit()
    assert not _visible(login_as, sample["case_number"])


def test_consent_not_naming_the_agency_hides_the_case(app, login_as, sample):
    with app.app_context():
        consent = db.session.get(Consent, sample["consent"])
        consent.agencies = [a for a in consent.agencies if a.id == 1]
        db.session.commit()
    assert not _visible(login_as, sample["case_number"])


def test_ended_role_and_no_meeting_hides_the_case(app, login_as, sample):
    with app.app_context():
        db.session.get(RoleAssignment, sample["role_assignment"]).valid_to = TODAY - timedelta(1)
        meeting = db.session.get(Meeting, sample["meeting"])
        meeting.agencies = [a for a in meeting.agencies if a.id == 1]
        db.session.commit()
    assert not _visible(login_as, sample["case_number"])


def test_attending_a_meeting_about_the_case_is_enough(app, login_as, sample):
    with app.app_context():
        db.session.get(RoleAssignment, sample["role_assignment"]).valid_to = TODAY - timedelta(1)
        db.session.commit()
    # The police still attends the 個別ケース検討会議 that discussed the case.
    assert _visible(login_as, sample["case_number"])


def test_agency_staff_without_an_agency_sees_nothing(app, login_as, sample):
    with app.app_context():
        from tests.conftest import user_by_login

        user_by_login("test-agency_staff").agency_id = None
        db.session.commit()
    assert not _visible(login_as, sample["case_number"])


def test_scoped_count_matches_the_rows(app, login_as, sample, other):
    body = login_as("agency_staff").get("/admin/case/").get_data(as_text=True)
    assert body.count('<td class="col-number">') == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 2
        # The pager's count goes through the same scope as the rows.
        from tests.conftest import user_by_login

        view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "resource", "")
                    == "case")
        with app.test_request_context():
            from flask_login import login_user

            login_user(user_by_login("test-agency_staff"))
            assert view.get_count_query().scalar() == 1


def test_fiscal_year_options_come_from_the_cases_the_user_may_see(app, login_as, sample, other):
    """An agency user is not told, through the 年度 filter, that older cases exist."""
    import json
    import re

    with app.app_context():
        db.session.get(Case, other["case"]).received_on = date(2019, 6, 1)
        db.session.get(Case, other["case"]).fiscal_year = 2019
        db.session.commit()

    def years(role):
        body = login_as(role).get("/admin/case/").get_data(as_text=True)
        groups = json.loads(re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', body,
                                      re.S).group(1))
        return {int(k) for k, _ in groups["年度"][0]["options"]}

    assert 2019 in years("coordinator")
    assert min(years("agency_staff")) == 2025
