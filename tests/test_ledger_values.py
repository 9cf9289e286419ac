"""The ledger's 危険度／緊急度 and 主担当機関 follow the latest 管理記録, or say that they are the
case's own (受理時) values while it has none."""

import html
import json
import re
from datetime import date

from kyogikai.models import Case, CaseReview, Level, Woman, db
from tests.browser_form import form_fields, with_changes
from tests.conftest import csrf_token


def _values(app, case_id):
    with app.app_context():
        case = db.session.get(Case, case_id)
        return (case.current_risk_level, case.current_urgency, case.current_lead_agency_id,
                case.last_review_on)


def test_a_case_without_a_review_shows_its_own_values_and_says_so(app, login_as, sample):
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        case = Case(woman=woman, received_on=date(2025, 6, 1), risk_level=Level.high,
                    urgency=Level.low, lead_agency_id=2)
        db.session.add(case)
        db.session.commit()
        case_id, number = case.id, case.number
    assert _values(app, case_id) == (Level.high, Level.low, 2, None)
    ledger = login_as("clerk").get("/admin/case/").get_data(as_text=True)
    row = ledger.split(number)[1].split("</tr>")[0]
    assert "高／低" in row and "（受理時）" in row and "テスト警察署" in row


def test_the_latest_review_decides_even_when_an_older_one_is_entered_later(app, sample):
    """The sample case: own 高／中 at intake, a review of 2025-05-20 saying 中／低."""
    assert _values(app, sample["case"]) == (Level.medium, Level.low, 1, date(2025, 5, 20))
    with app.app_context():
        db.session.add(CaseReview(case_id=sample["case"], reviewed_on=date(2025, 8, 1),
                                  risk_level=Level.high, urgency=Level.high, lead_agency_id=2))
        db.session.add(CaseReview(case_id=sample["case"], reviewed_on=date(2025, 4, 30),
                                  risk_level=Level.low, urgency=Level.low, lead_agency_id=1))
        db.session.commit()
    assert _values(app, sample["case"]) == (Level.high, Level.high, 2, date(2025, 8, 1))


def test_a_blank_judgment_in_the_latest_review_is_shown_blank(app, sample):
    with app.app_context():
        db.session.add(CaseReview(case_id=sample["case"], reviewed_on=date(2025, 8, 1),
                                  situation="状況のみ"))
        db.session.commit()
    assert _values(app, sample["case"]) == (None, None, None, date(2025, 8, 1))


def test_deleting_the_last_review_goes_back_to_the_case_own_values(app, login_as, sample):
    client = login_as("coordinator")
    response = client.post("/admin/case_review/delete/", data={
        "id": str(sample["case_review"]), "version": "1",
        "csrf_token": csrf_token(client, "/admin/")})
    assert response.status_code == 302
    assert _values(app, sample["case"]) == (Level.high, Level.medium, 1, None)


def test_editing_the_case_own_values_does_not_override_a_review(app, login_as, sample):
    client = login_as("coordinator")
    url = f"/admin/case/edit/?id={sample['case']}"
    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data=with_changes(form_fields(page), risk_level="low"))
    assert response.status_code == 302
    assert _values(app, sample["case"])[0] is Level.medium  # still the review's
    with app.app_context():
        assert db.session.get(Case, sample["case"]).risk_level is Level.low


def _filters(client) -> dict:
    page = client.get("/admin/case/").get_data(as_text=True)
    data = re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S).group(1)
    return {name: groups[0]["index"] for name, groups in json.loads(html.unescape(data)).items()}


def test_the_ledger_filters_on_the_values_it_shows(login_as, sample):
    client = login_as("coordinator")
    index = _filters(client)
    for name, value, listed in (("危険度", "medium", True), ("危険度", "high", False),
                                ("緊急度", "low", True), ("主担当機関", "1", True),
                                ("主担当機関", "2", False)):
        page = client.get(f"/admin/case/?flt1_{index[name]}={value}").get_data(as_text=True)
        assert (sample["case_number"] in page) is listed, (name, value)


def test_the_main_support_filter_reads_the_role_history(app, login_as, sample):
    from kyogikai.models import Case, Meeting, RoleFunction
    from kyogikai.models import roles as history

    client = login_as("coordinator")
    index = _filters(client)["主たる支援機関"]
    assert sample["case_number"] not in client.get(
        f"/admin/case/?flt1_{index}=2").get_data(as_text=True)
    with app.app_context():
        history.set_holders(db.session.get(Case, sample["case"]), RoleFunction.main_support, [2],
                            day=date(2025, 5, 20), meeting=db.session.get(Meeting,
                                                                          sample["meeting"]))
        db.session.commit()
    assert sample["case_number"] in client.get(
        f"/admin/case/?flt1_{index}=2").get_data(as_text=True)


def test_new_review_form_from_the_case_page_starts_from_the_current_values(login_as, sample):
    body = login_as("clerk").get(
        f"/admin/case_review/new/?case={sample['case']}&url=/x").get_data(as_text=True)
    assert sample["case_number"] in body  # the case is picked already
    for name, value in (("risk_level", "medium"), ("urgency", "low"), ("lead_agency", "1")):
        select = body.split(f'id="{name}"')[1].split("</select>")[0]
        assert f'selected value="{value}"' in select, name
