"""新規受理 in one flow: woman, companions, consent and case in one transaction, duplicates offered
before they are made, and the clerk lands on the new case page."""

import re

import sqlalchemy as sa

from kyogikai.models import (
    AuditAction,
    AuditEvent,
    Case,
    Companion,
    Consent,
    ConsentMethod,
    SecrecyChange,
    Woman,
    db,
)
from kyogikai.policy.masking import MASK
from tests.conftest import csrf_token

HIDDEN_STREET = "緑町1丁目26番3号"


def _form(**changes):
    data = {"name": "石田 綾", "furigana": "いしだ あや", "birth_date": "R3.2.28",
            "companions-0-name": "石田 陽", "companions-0-furigana": "ｲｼﾀﾞ ﾋﾅﾀ",
            "companions-0-relationship": "child", "companions-0-birth_date": "2019/5/1",
            "consent_agencies": ["1", "2"], "consent_purpose": "case_conference",
            "consent_method": "written", "consent_obtained_on": "令和7年6月1日",
            "received_on": "令和7年6月1日", "lead_agency": "1", "referral_route": "",
            "risk_level": "high", "urgency": "", "consent_obtained_by": ""}
    data.update(changes)
    return data


def _post(client, **changes):
    return client.post("/admin/intake/", data={**_form(**changes),
                                               "csrf_token": csrf_token(client, "/admin/intake/")})


def _counts(app):
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (Woman, Companion, Consent, Case))


def test_one_save_records_everything_and_lands_on_the_case_page(app, login_as):
    response = _post(login_as("clerk"))
    assert response.status_code == 302
    with app.app_context():
        woman = db.session.scalar(sa.select(Woman).where(Woman.name == "石田 綾"))
        [child] = woman.companions
        [consent] = woman.consents
        [case] = woman.cases
        assert (woman.furigana, child.furigana) == ("イシダ\u3000アヤ", "イシダ\u3000ヒナタ")
        assert [a.name for a in consent.agencies] == ["テスト市 女性支援課", "テスト警察署"]
        assert consent.method is ConsentMethod.written and str(consent.obtained_on) == "2025-06-01"
        assert case.number == "R7-0001" and case.current_risk_level.value == "high"
        assert response.headers["Location"].endswith(f"/admin/case_page/?id={case.id}")
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.create)).all()
        assert sorted(e.object_type for e in events) == ["case", "companion", "consent", "woman"]
        assert all("石田" not in e.detail for e in events)


def test_a_refused_part_saves_nothing_and_keeps_what_was_typed(app, login_as):
    before = _counts(app)
    response = _post(login_as("clerk"), received_on="令和7年2月30日", case_note="緊急")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "存在しない日付" in body
    for typed in ("石田 綾", "石田 陽", "緊急", "令和7年2月30日"):
        assert typed in body
    assert re.search(r'<input checked[^>]*name="consent_agencies"[^>]*value="2"', body)
    assert _counts(app) == before


def test_an_existing_woman_is_offered_before_a_duplicate_is_made(app, login_as, sample):
    client = login_as("clerk")
    before = _counts(app)
    response = _post(client, name="青木 明美", furigana="あおき あけみ")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "既に登録されていませんか" in body
    assert "この方で受理する" in body and f'value="{sample["woman"]}"' in body
    assert _counts(app) == before
    # She is the same person: the new case, consent and companion go to her record.
    response = client.post("/admin/intake/", data={
        **_form(name="青木 明美", furigana="あおき あけみ"), "pick_woman": str(sample["woman"]),
        "csrf_token": csrf_token(client, "/admin/intake/")})
    assert response.status_code == 302
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        assert len(woman.cases) == 2 and len(woman.consents) == 2
        assert [c.name for c in woman.companions] == ["青木 陽太", "石田 陽"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Woman)) == before[0]


def test_someone_else_with_the_same_name_is_registered_when_the_clerk_says_so(app, login_as,
                                                                             sample):
    response = _post(login_as("clerk"), name="青木 明美", furigana="あおき あけみ",
                     confirm_new="y")
    assert response.status_code == 302
    with app.app_context():
        assert len(db.session.scalars(sa.select(Woman).where(
            Woman.name == "青木 明美")).all()) == 2


def test_the_live_lookup_offers_her_by_reading_too(app, login_as, sample):
    client = login_as("clerk")
    found = client.get("/admin/intake/candidates?name=&furigana=ｱｵｷ").get_json()
    assert [w["id"] for w in found] == [sample["woman"]]
    assert found[0]["cases"][0]["number"] == sample["case_number"]
    assert client.get("/admin/intake/candidates?name=石田&furigana=").get_json() == []
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.detail == "endpoint=intake.candidates")).all()
        # One event per record shown: the woman and the case whose number the offer shows.
        assert {(e.object_type, e.object_id) for e in events} == {
            ("woman", sample["woman"]), ("case", sample["case"])}


def test_a_hidden_address_in_a_note_is_refused_for_the_clerk(app, login_as, sample):
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        woman.street, woman.address_hidden = HIDDEN_STREET, True
        db.session.commit()
    before = _counts(app)
    response = _post(login_as("clerk"), case_note=f"{HIDDEN_STREET.replace('1丁目', '一丁目')}の知人宅")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "秘匿された住所が含まれています" in body
    assert _counts(app) == before


def test_address_secrecy_at_intake_waits_for_a_second_coordinator(app, login_as):
    response = _post(login_as("clerk"), street=HIDDEN_STREET, address_hidden="y")
    assert response.status_code == 302
    with app.app_context():
        woman = db.session.scalar(sa.select(Woman).where(Woman.name == "石田 綾"))
        assert woman.address_hidden is False and woman.address_hidden_pending is SecrecyChange.set
        case_id = woman.cases[0].id
    body = login_as("supervisor").get(f"/admin/case_page/?id={case_id}").get_data(as_text=True)
    assert HIDDEN_STREET not in body and MASK in body


def test_without_consent_the_case_is_still_received_and_the_page_says_so(app, login_as):
    response = _post(login_as("clerk"), consent_agencies=[])
    assert response.status_code == 302
    assert _counts(app) == (1, 1, 0, 1)
    body = login_as("clerk").get(response.headers["Location"]).get_data(as_text=True)
    assert "本人同意が登録されていません" in body


def test_only_those_who_may_create_all_three_reach_intake(login_as):
    for role, status in (("clerk", 200), ("coordinator", 200), ("supervisor", 403),
                         ("agency_staff", 403), ("admin", 403)):
        assert login_as(role).get("/admin/intake/").status_code == status, role
