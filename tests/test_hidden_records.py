"""Editing a hidden record: a clerk saves what she may change in one try, and nothing she sees
masked — address or free text — changes, whatever the browser (or a tampered request) sends."""

import re

import pytest
import sqlalchemy as sa
from flask_login import login_user

from kyogikai.models import (
    AuditAction,
    AuditEvent,
    Meeting,
    SecrecyChange,
    SupportRecord,
    Woman,
    db,
)
from kyogikai.policy import masking
from kyogikai.policy.masking import MASK, PLACEHOLDER
from tests.browser_form import submitted
from tests.conftest import csrf_token, post_form, user_by_login

ADDRESS = {"postal_code": "987-6543", "prefecture": "架空県", "municipality": "みどり市",
           "street": "緑町1丁目26番3号", "katagaki": "グリーンハイツ101号室"}
NOTE = "一行目\n二行目"


@pytest.fixture(autouse=True)
def canonical(app, sample):
    """The sample's フリガナ as a form stores it (full-width space), so that saving a form
    unchanged is no change."""
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        woman.furigana, woman.companions[0].furigana = "アオキ\u3000アケミ", "アオキ\u3000ヨウタ"
        db.session.commit()


@pytest.fixture
def hidden(app, sample):
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        for key, value in ADDRESS.items():
            setattr(woman, key, value)
            setattr(woman.companions[0], key, value)  # her child lives with her, no own flag
        woman.address_hidden = True
        woman.note = NOTE
        woman.companions[0].note = f"保育園は{ADDRESS['street']}の近く"
        db.session.commit()
    return sample


def _state(app, woman_id):
    with app.app_context():
        woman = db.session.get(Woman, woman_id)
        child = woman.companions[0]
        return ({k: getattr(woman, k) for k in (*ADDRESS, "note", "phone", "address_hidden",
                                                  "address_hidden_pending")},
                {k: getattr(child, k) for k in (*ADDRESS, "note", "address_hidden")})


def _update_events(app, since):
    with app.app_context():
        return [e.detail for e in db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.id > since, AuditEvent.action == AuditAction.update))]


def _last_event_id(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0


def _send(client, url, fields: dict):
    return client.post(url, data=fields)


def test_a_clerk_changes_a_hidden_womans_phone_in_one_try(app, login_as, hidden):
    client = login_as("clerk")
    url = f"/admin/woman/edit/?id={hidden['woman']}"
    page = client.get(url).get_data(as_text=True)
    # As rendered: the address is text showing the mask, not an input holding it.
    assert all(value not in page for value in ADDRESS.values())
    assert page.count('class="form-control-plaintext masked-field"') == 11  # 5 + 5 + 1 note
    fields = submitted(page)
    assert "street" not in fields and "companions-0-street" not in fields
    assert fields["note"] == ["一行目\r\n二行目"]  # the browser sends CRLF
    before, child_before = _state(app, hidden["woman"])
    since = _last_event_id(app)
    fields["phone"] = ["090-1111-2222"]
    response = _send(client, url, fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    after, child_after = _state(app, hidden["woman"])
    assert after == {**before, "phone": "090-1111-2222"}
    assert child_after == child_before
    assert _update_events(app, since) == ["fields=phone"]


def test_whatever_is_posted_for_a_masked_field_changes_nothing(app, login_as, hidden):
    client = login_as("clerk")
    url = f"/admin/woman/edit/?id={hidden['woman']}"
    fields = submitted(client.get(url).get_data(as_text=True))
    before, child_before = _state(app, hidden["woman"])
    tampered = {**fields, "postal_code": [MASK], "prefecture": ["新しい県"], "street": [""],
                "municipality": [""], "katagaki": [""], "companions-0-street": [""],
                "companions-0-note": [""], "address_hidden": ["y"]}
    assert _send(client, url, tampered).status_code == 302
    assert _state(app, hidden["woman"]) == (before, child_before)


def test_the_server_keeps_hidden_values_whatever_the_form(app, hidden):
    """The policy's own line, below any form: changes to what the user sees masked are undone."""
    with app.test_request_context():
        login_user(user_by_login("test-clerk"))
        woman = db.session.get(Woman, hidden["woman"])
        child = woman.companions[0]
        woman.street, woman.phone = "", "111"
        child.note = "消した"
        assert masking.keep_hidden_values(woman) == ["street"]
        assert masking.keep_hidden_values(child) == ["note"]
        assert (woman.street, woman.phone) == (ADDRESS["street"], "111")
        woman.katagaki = ""
        db.session.flush()  # below the views: a flush by a clerk keeps it too
        assert woman.katagaki == ADDRESS["katagaki"]
        login_user(user_by_login("test-coordinator"))
        woman.street = "新住所"
        assert masking.keep_hidden_values(woman) == [] and woman.street == "新住所"
        db.session.rollback()


def test_line_breaks_sent_back_as_crlf_are_no_change(app, login_as, sample):
    with app.app_context():
        db.session.get(Woman, sample["woman"]).note = NOTE
        db.session.commit()
        version = db.session.get(Woman, sample["woman"]).version
    client = login_as("clerk")
    url = f"/admin/woman/edit/?id={sample['woman']}"
    fields = submitted(client.get(url).get_data(as_text=True))
    since = _last_event_id(app)
    assert _send(client, url, fields).status_code == 302
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        assert (woman.note, woman.version) == (NOTE, version)
    assert _update_events(app, since) == []  # saved unchanged: no change to record


def test_a_companions_changes_are_named_in_the_womans_update(app, login_as, sample):
    client = login_as("clerk")
    url = f"/admin/woman/edit/?id={sample['woman']}"
    fields = submitted(client.get(url).get_data(as_text=True))
    since = _last_event_id(app)
    fields["companions-0-name"] = ["青木 陽"]
    assert _send(client, url, fields).status_code == 302
    assert _update_events(app, since) == ["fields=companions.name"]


# ------------------------------------------------------------------ the 住所秘匿 control


def test_the_edit_form_has_no_secrecy_checkbox_but_an_explicit_control(login_as, hidden):
    page = login_as("clerk").get(f"/admin/woman/edit/?id={hidden['woman']}").get_data(
        as_text=True)
    assert "address_hidden" not in submitted(page)
    controls = submitted(page, "d-inline")  # the controls' own small forms: woman, child
    assert controls["state"] == ["hidden", "open"] and controls["change"] == ["clear", "set"]
    assert "秘匿中" in page and "秘匿の解除を申請する" in page


def test_a_stale_control_files_nothing(app, login_as, sample):
    client = login_as("clerk")
    url = f"/admin/woman/edit/?id={sample['woman']}"
    controls = submitted(client.get(url).get_data(as_text=True), "d-inline")
    stale = {name: values[0] for name, values in controls.items()}  # the woman's own
    assert (stale["kind"], stale["state"], stale["change"]) == ("woman", "open", "set")
    with app.app_context():  # meanwhile the woman was hidden (two coordinators)
        db.session.get(Woman, sample["woman"]).address_hidden = True
        db.session.commit()
    response = client.post("/admin/woman/secrecy/", data={
        **stale, "csrf_token": csrf_token(client, url)}, follow_redirects=True)
    assert "この画面を開いた後に住所秘匿の状態が変わりました" in response.get_data(as_text=True)
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        assert (woman.address_hidden, woman.address_hidden_pending) == (True, None)


def test_the_control_files_a_request_for_a_companion(app, login_as, sample):
    client = login_as("clerk")
    url = f"/admin/woman/edit/?id={sample['woman']}"
    page = client.get(url).get_data(as_text=True)
    assert page.count("data-secrecy=") == 2  # the woman and her child
    with app.app_context():
        child_id = db.session.get(Woman, sample["woman"]).companions[0].id
    response = post_form(client, url, {"woman": sample["woman"], "kind": "companion",
                                       "id": child_id, "change": "set", "state": "open"},
                         target="/admin/woman/secrecy/")
    assert response.status_code == 302
    with app.app_context():
        child = db.session.get(Woman, sample["woman"]).companions[0]
        assert (child.address_hidden, child.address_hidden_pending) == (False, SecrecyChange.set)


# ------------------------------------------------------------------ refusal at save time


def _meeting_form(client, meeting_id):
    url = f"/admin/meeting/edit/?id={meeting_id}"
    return url, submitted(client.get(url).get_data(as_text=True))


TYPED = "本人は緑町１丁目２６番のアパートに転居した。"


def test_free_text_spelling_a_hidden_address_is_refused_and_kept(app, login_as, hidden):
    client = login_as("clerk")
    url, fields = _meeting_form(client, hidden["meeting"])
    response = _send(client, url, {**fields, "minutes": [TYPED]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    message = f"「議事録」に秘匿された住所が含まれています。住所の部分は「{PLACEHOLDER}」と書き換えてから保存してください。"
    assert body.count(message) == 2  # at the field and at the top of the page
    assert submitted(body)["minutes"] == [TYPED.replace("\n", "\r\n")]  # what was typed, kept
    with app.app_context():
        assert db.session.get(Meeting, hidden["meeting"]).minutes == "（議事録）"


def test_the_coordinator_may_write_it(app, login_as, hidden):
    client = login_as("coordinator")
    url, fields = _meeting_form(client, hidden["meeting"])
    assert _send(client, url, {**fields, "minutes": [TYPED]}).status_code == 302
    with app.app_context():
        assert db.session.get(Meeting, hidden["meeting"]).minutes == TYPED


def test_a_new_record_and_an_inline_note_are_refused_too(app, login_as, hidden):
    client = login_as("clerk")
    response = post_form(client, "/admin/support_record/new/", {
        "case": hidden["case"], "recorded_on": "2025-06-01", "agency": "1", "kind": "home_visit",
        "content": "〒９８７－６５４３ の自宅を訪問"})
    assert response.status_code == 200 and PLACEHOLDER in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportRecord)) == 1
    url = f"/admin/woman/edit/?id={hidden['woman']}"
    fields = submitted(client.get(url).get_data(as_text=True))
    fields.pop("companions-0-note", None)
    response = _send(client, f"/admin/woman/edit/?id={hidden['woman']}",
                     {**fields, "note": ["グリーン ハイツ 101 に住む"]})
    assert response.status_code == 200 and PLACEHOLDER in response.get_data(as_text=True)


def test_check_free_text_for_importers_and_exports(app, hidden):
    with app.app_context():
        clerk, coordinator = user_by_login("test-clerk"), user_by_login("test-coordinator")
        with pytest.raises(masking.HiddenAddressInText, match=PLACEHOLDER):
            masking.check_free_text("緑町一丁目二十六番", clerk, label="備考")
        masking.check_free_text("緑町一丁目二十六番", coordinator)
        masking.check_free_text("緑町で待ち合わせ", clerk)
        assert masking.mask_free_text("グリーンハイツ", clerk) == MASK
        woman = db.session.get(Woman, hidden["woman"])
        assert masking.shown(woman, "street", clerk) == MASK
        assert masking.shown(woman, "street", coordinator) == ADDRESS["street"]
        assert masking.shown(woman.companions[0], "katagaki", clerk) == MASK


# ------------------------------------------------------------------ search is no oracle


def _count(client, term):
    """The count the list shows (「一覧 (N)」, no number when none)."""
    body = client.get(f"/admin/meeting/?search={term}").get_data(as_text=True)
    match = re.search(r"一覧(?: \((\d+)\))?</a>", body)
    return int(match.group(1) or 0), body


@pytest.mark.parametrize("role", ["clerk", "supervisor", "agency_staff"])
def test_a_search_never_tells_a_hidden_fragment_from_nonsense(app, login_as, hidden, role):
    with app.app_context():
        meeting = db.session.get(Meeting, hidden["meeting"])
        meeting.place = "グリーンハイツ101号室（本人宅）"
        meeting.agenda = "支援方針の確認"
        db.session.commit()
    client = login_as(role)
    nonsense, _ = _count(client, "ゾゾゾ")
    for fragment in ("グリーン", "グリーンハイツ", "ハイツ", "101号室", "ツ1"):
        found, body = _count(client, fragment)
        assert found == nonsense == 0, fragment
        assert "グリーン" not in body.replace(f'value="{fragment}"', "")
    # The row is still found by what the reader can see of it.
    for visible in ("本人宅", "支援方針"):
        assert _count(client, visible)[0] == 1, visible
    assert _count(login_as("coordinator"), "グリーン")[0] == 1


def test_no_oracle_column_may_be_declared(app):
    from kyogikai.admin_views.meetings import MeetingView

    class Leaky(MeetingView):
        column_sortable_list = ("held_on", "place")

    with pytest.raises(TypeError, match="sorts by place"):
        Leaky(Meeting, db, endpoint="leaky")

    class Filtered(MeetingView):
        column_filters = ("kind", "minutes")

    with pytest.raises(TypeError, match="filters on minutes"):
        Filtered(Meeting, db, endpoint="filtered")

