"""Agencies (要綱 4(1)), members and the coordinator's qualifications (4(3)①)."""

import pytest
import sqlalchemy as sa

from kyogikai.models import Agency, AgencyCategory, Council, Member, db
from tests.conftest import post_form


def test_agency_categories_are_the_17_kinds_and_other():
    assert len(AgencyCategory) == 18
    assert AgencyCategory.womens_consultation_office.label == "婦人相談所"
    assert AgencyCategory.other.label == "その他"


def test_agency_form_offers_japanese_categories(login_as):
    page = login_as("admin").get("/admin/agency/new/").get_data(as_text=True)
    assert "配偶者暴力相談支援センター" in page
    assert ">police<" not in page


def test_duplicate_agency_name_is_a_japanese_message(app, login_as):
    client = login_as("admin")
    response = post_form(client, "/admin/agency/new/", {
        "name": "テスト警察署", "category": "police", "member_from": "", "member_to": "",
        "contact_person": "", "phone": "", "address": "", "note": ""})
    body = response.get_data(as_text=True)
    assert "既に登録されています。" in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == 2


def _member_form(**overrides):
    data = {"name": "新任 調整", "furigana": "しんにん ちょうせい", "agency": "1", "title": "",
            "pledge_date": "令和7年4月1日", "active_from": "", "active_to": "",
            "is_coordinator": "y", "qual_years_in_support": ""}
    data.update(overrides)
    return data


def test_coordinator_without_qualification_is_warned(app, login_as):
    client = login_as("admin")
    response = post_form(client, "/admin/member/new/", _member_form())
    assert response.status_code == 302
    page = client.get("/admin/member/").get_data(as_text=True)
    assert "資格要件（要綱4(3)① ア・イ・ウ）のいずれにも該当しません" in page
    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.name == "新任 調整"))
        assert member.furigana == "シンニン\u3000チョウセイ"


def test_five_years_of_support_is_qualification_i(app):
    member = Member(name="x", agency_id=1, is_coordinator=True, qual_years_in_support=5)
    assert member.has_coordinator_qualification
    member.qual_years_in_support = 4
    assert member.lacks_coordinator_qualification


@pytest.mark.parametrize("months,saved", [("0", 3), ("13", 3), ("1", 1), ("12", 12)])
def test_council_interval_must_be_one_to_twelve_months(app, login_as, sample, months, saved):
    client = login_as("admin")
    response = post_form(client, f"/admin/council/edit/?id={sample['council']}", {
        "name": "テスト市地域協議会", "municipality": "テスト市", "coordinating_agency": "1",
        "review_interval_months": months})
    refused = "1以上12以下の数値を入力してください。" in response.get_data(as_text=True)
    assert (response.status_code, refused) == ((302, False) if saved != 3 else (200, True))
    with app.app_context():
        assert db.session.get(Council, sample["council"]).review_interval_months == saved
