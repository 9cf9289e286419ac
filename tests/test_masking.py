"""住所秘匿 (DOMAIN rule 3): masked on every output, changed only by two coordinators."""

import pytest
import sqlalchemy as sa

from kyogikai.models import AuditAction, AuditEvent, Companion, Role, SecrecyChange, User, Woman, db
from kyogikai.policy.authentication import hash_password
from kyogikai.policy.masking import MASK
from tests.conftest import PASSWORD, AuthActions, csrf_token, post_form

STREET = "本町1-2-3"
# Every part of the hidden address, each of which alone would tell where she lives.
PARTS = ("本町", "1-2-3", "秘匿市", "架空県", "987-6543", "みどりハイツ")


@pytest.fixture
def hidden(app, sample):
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        woman.address_hidden = True
        woman.prefecture, woman.municipality = "架空県", "秘匿市"
        woman.postal_code, woman.katagaki = "987-6543", "みどりハイツ101号室"
        woman.companions[0].address_hidden = True
        woman.companions[0].street = "別町9-9"
        db.session.commit()
    return sample


@pytest.mark.parametrize("role", ["clerk", "supervisor", "agency_staff"])
def test_hidden_address_is_masked_in_list_details_search_and_export(login_as, hidden, role):
    client = login_as(role)
    for url in ("/admin/woman/", f"/admin/woman/details/?id={hidden['woman']}",
                "/admin/woman/?search=青木"):
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert [part for part in PARTS if part in body] == [], url
        assert MASK in body, url
    if role == "supervisor":
        export = client.get("/admin/woman/export/csv/").get_data(as_text=True)
        assert [part for part in PARTS if part in export] == [] and MASK in export


def test_the_coordinator_sees_the_address(login_as, hidden):
    body = login_as("coordinator").get(
        f"/admin/woman/details/?id={hidden['woman']}").get_data(as_text=True)
    assert STREET in body


def test_edit_form_masks_and_saving_keeps_the_real_address(app, login_as, hidden):
    client = login_as("clerk")
    url = f"/admin/woman/edit/?id={hidden['woman']}"
    form = client.get(url).get_data(as_text=True)
    assert STREET not in form and "別町9-9" not in form and MASK in form
    response = post_form(client, url, {
        "name": "青木 明美", "furigana": "アオキ アケミ", "alias": "", "birth_date": "1990-05-01",
        "postal_code": "", "prefecture": MASK, "municipality": MASK, "street": MASK,
        "katagaki": "", "address_hidden": "y", "phone": "000-0000-0000", "referral_route": "__None",
        "note": "更新", "companions-0-id": "1", "companions-0-name": "青木 陽太",
        "companions-0-furigana": "アオキ ヨウタ", "companions-0-relationship_to_woman": "child",
        "companions-0-birth_date": "2018-06-01", "companions-0-street": MASK,
        "companions-0-address_hidden": "y"})
    assert response.status_code == 302
    with app.app_context():
        woman = db.session.get(Woman, hidden["woman"])
        assert (woman.street, woman.prefecture, woman.note) == (STREET, "架空県", "更新")
        assert woman.companions[0].street == "別町9-9"


def _second_coordinator(app):
    with app.app_context():
        db.session.add(User(login="test-coordinator2", display_name="第二調整", role=Role.coordinator,
                            password_hash=hash_password(PASSWORD), active=True, agency_id=1))
        db.session.commit()
    client = app.test_client()
    AuthActions(client).login_as("coordinator2")
    return client


def _decide(client, woman_id, decision):
    return client.post("/admin/address_secrecy/decide", data={
        "kind": "woman", "id": str(woman_id), "decision": decision,
        "csrf_token": csrf_token(client, "/admin/address_secrecy/")})


def _request_flag(client, woman_id, hidden_flag: bool, state=None):
    """The explicit control on the edit page, as the page rendered it."""
    return post_form(client, f"/admin/woman/edit/?id={woman_id}", {
        "woman": str(woman_id), "kind": "woman", "id": str(woman_id),
        "change": "set" if hidden_flag else "clear",
        "state": state or ("open" if hidden_flag else "hidden")},
        target="/admin/woman/secrecy/")


def _state(app, woman_id):
    with app.app_context():
        woman = db.session.get(Woman, woman_id)
        return woman.address_hidden, woman.address_hidden_pending


def test_setting_the_flag_waits_for_a_coordinator_and_masks_meanwhile(app, login_as, sample):
    clerk = login_as("clerk")
    assert _request_flag(clerk, sample["woman"], True).status_code == 302
    assert _state(app, sample["woman"]) == (False, SecrecyChange.set)
    # Pending already masks: the person asking for secrecy is protected from now.
    assert STREET not in clerk.get(f"/admin/woman/details/?id={sample['woman']}").get_data(
        as_text=True)
    coordinator = login_as("coordinator")
    assert "青木 明美" in coordinator.get("/admin/address_secrecy/").get_data(as_text=True)
    assert _decide(coordinator, sample["woman"], "confirm").status_code == 302
    assert _state(app, sample["woman"]) == (True, None)


def test_the_requester_cannot_confirm_their_own_request(app, login_as, hidden):
    coordinator = login_as("coordinator")
    _request_flag(coordinator, hidden["woman"], False)
    assert _state(app, hidden["woman"]) == (True, SecrecyChange.clear)
    _decide(coordinator, hidden["woman"], "confirm")
    page = coordinator.get("/admin/address_secrecy/").get_data(as_text=True)
    assert "申請した本人は確認できません" in page
    assert _state(app, hidden["woman"]) == (True, SecrecyChange.clear)
    # While the clearing waits, the address stays masked for others.
    body = login_as("clerk").get(f"/admin/woman/details/?id={hidden['woman']}").get_data(
        as_text=True)
    assert STREET not in body
    second = _second_coordinator(app)
    assert _decide(second, hidden["woman"], "confirm").status_code == 302
    assert _state(app, hidden["woman"]) == (False, None)
    assert STREET in login_as("clerk").get(
        f"/admin/woman/details/?id={hidden['woman']}").get_data(as_text=True)


def test_rejecting_leaves_the_flag_and_both_steps_are_audited(app, login_as, sample):
    _request_flag(login_as("clerk"), sample["woman"], True)
    _decide(login_as("coordinator"), sample["woman"], "reject")
    assert _state(app, sample["woman"]) == (False, None)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.address_secrecy).order_by(AuditEvent.id)).all()
        assert [e.detail for e in events] == ["requested=set", "rejected=set"]
        assert all(STREET not in e.detail for e in events)


def test_the_mask_is_never_stored(app, sample):
    with app.app_context():
        companion = db.session.get(Companion, 1)
        companion.street = MASK
        db.session.commit()
        assert db.session.get(Companion, 1).street == ""


def test_hidden_address_typed_into_minutes_is_masked_and_kept(app, login_as, hidden):
    from kyogikai.models import Meeting

    with app.app_context():
        meeting = db.session.get(Meeting, hidden["meeting"])
        meeting.minutes = f"本人は{STREET}に住んでいる。転居を検討。"
        db.session.commit()
    client = login_as("clerk")
    body = client.get(f"/admin/meeting/details/?id={hidden['meeting']}").get_data(as_text=True)
    assert STREET not in body and f"本人は{MASK}に住んでいる" in body
    url = f"/admin/meeting/edit/?id={hidden['meeting']}"
    assert STREET not in client.get(url).get_data(as_text=True)
    response = post_form(client, url, {
        "kind": "case_conference", "held_on": "2025-05-20", "place": "", "agencies": ["1", "2"],
        "members": ["1"], "agenda": "支援方針の確認", "decisions": "役割分担を決定",
        "minutes": f"本人は{MASK}に住んでいる。転居を検討。", "next_meeting_on": ""})
    assert response.status_code == 302
    with app.app_context():
        assert STREET in db.session.get(Meeting, hidden["meeting"]).minutes
    coordinator = login_as("coordinator").get(f"/admin/meeting/details/?id={hidden['meeting']}")
    assert STREET in coordinator.get_data(as_text=True)


def test_a_new_woman_flagged_at_intake_is_pending_and_named_in_the_audit(app, login_as):
    client = login_as("clerk")
    post_form(client, "/admin/woman/new/", {"name": "新規 秘子", "furigana": "シンキ ヒメコ",
                                            "street": "秘密町1-1", "address_hidden": "y",
                                            "referral_route": "__None"})
    with app.app_context():
        woman = db.session.scalar(sa.select(Woman).where(Woman.name == "新規 秘子"))
        assert (woman.address_hidden, woman.address_hidden_pending) == (False, SecrecyChange.set)
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.address_secrecy))
        assert event.object_id == woman.id and event.object_type == "woman"


def test_the_request_reader_follows_a_flag_flushed_in_the_same_request(app, sample):
    """A list asks one Reader per request for its cells; an address hidden (flushed) later in
    that request is masked from then on, not after the next request."""
    from flask_login import login_user

    from kyogikai.policy.masking import request_reader

    text = f"本人は{STREET}に住んでいる"
    with app.test_request_context("/"):
        login_user(db.session.scalar(sa.select(User).where(User.role == Role.clerk)))
        woman = db.session.get(Woman, sample["woman"])
        woman.street, woman.address_hidden = STREET, False
        db.session.flush()
        assert request_reader().free_text(text) == text
        woman.address_hidden = True
        db.session.flush()
        assert request_reader().free_text(text) == f"本人は{MASK}に住んでいる"
        db.session.rollback()
