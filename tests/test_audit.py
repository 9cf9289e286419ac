"""DOMAIN rule 7: each action writes exactly one AuditEvent, and none holds personal values."""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from kyogikai.models import AuditAction, AuditEvent, AuditOutcome, Woman, db
from tests.conftest import csrf_token, post_form

PERSONAL = ("青木", "明美", "アオキ", "本町", "000-0000", "1990", "安定", "見守りを継続")


def _events(app, since=0):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent).options(joinedload(AuditEvent.user))
                                  .where(AuditEvent.id > since).order_by(AuditEvent.id)).all()


def _last_id(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0


def _one(app, since, action):
    events = [e for e in _events(app, since) if e.action is action]
    assert len(events) == 1, [(e.action, e.detail) for e in _events(app, since)]
    return events[0]


@pytest.mark.parametrize("url,object_type", [
    ("/admin/case/edit/?id={case}", "case"),
    ("/admin/woman/details/?id={woman}", "woman"),
    ("/admin/consent/details/?id={consent}", "consent"),
    ("/admin/case_review/edit/?id={case_review}", "case_review"),
])
def test_every_read_of_a_record_is_one_event(app, login_as, sample, url, object_type):
    client = login_as("coordinator")
    since = _last_id(app)
    assert client.get(url.format(**sample)).status_code == 200
    event = _one(app, since, AuditAction.view_record)
    assert event.object_type == object_type and event.user.login == "test-coordinator"


def test_list_and_export_record_row_counts(app, login_as, sample):
    client = login_as("supervisor")
    since = _last_id(app)
    client.get("/admin/case/")
    assert _one(app, since, AuditAction.view_list).detail.startswith("rows=1;total=1")
    since = _last_id(app)
    response = client.get("/admin/case/export/csv/")
    response.get_data()
    event = _one(app, since, AuditAction.export)
    assert "rows=1" in event.detail and "format=csv" in event.detail


def test_create_update_delete_name_fields_never_values(app, login_as, sample):
    client = login_as("coordinator")
    since = _last_id(app)
    post_form(client, "/admin/woman/new/", {"name": "新規 太郎子", "furigana": "シンキ",
                                            "alias": "", "birth_date": "", "street": "秘密の住所",
                                            "phone": "090-1111-2222", "referral_route": "__None"})
    created = _one(app, since, AuditAction.create)
    assert "name" in created.detail and "street" in created.detail
    assert "秘密の住所" not in created.detail and "090" not in created.detail
    with app.app_context():
        woman_id = db.session.scalar(sa.select(Woman.id).where(Woman.name == "新規 太郎子"))
    since = _last_id(app)
    post_form(client, f"/admin/woman/edit/?id={woman_id}", {
        "name": "新規 太郎子", "furigana": "シンキ", "alias": "", "birth_date": "",
        "street": "秘密の住所", "phone": "090-9999-9999", "referral_route": "__None"})
    updated = _one(app, since, AuditAction.update)
    assert updated.detail == "fields=phone"
    since = _last_id(app)
    with app.app_context():  # the version the list's delete button sends
        version = db.session.get(Woman, woman_id).version
    client.post("/admin/woman/delete/", data={"id": str(woman_id), "version": str(version),
                                              "csrf_token": csrf_token(client, "/admin/")})
    deleted = _one(app, since, AuditAction.delete)
    assert deleted.object_id == woman_id


def test_login_logout_and_failed_login(app, auth, client):
    since = _last_id(app)
    auth.login("test-clerk", "wrong password!")
    assert _one(app, since, AuditAction.login_failed).outcome is AuditOutcome.failure
    since = _last_id(app)
    auth.login_as("clerk")
    _one(app, since, AuditAction.login)
    since = _last_id(app)
    auth.logout()
    _one(app, since, AuditAction.logout)


def test_denied_and_out_of_scope_accesses_are_recorded(app, login_as, sample):
    client = login_as("agency_staff")
    since = _last_id(app)
    assert client.get("/admin/user/").status_code == 403
    assert _one(app, since, AuditAction.denied).object_type == "user"
    since = _last_id(app)
    assert client.get("/admin/case/details/?id=999").status_code == 404
    event = _one(app, since, AuditAction.denied)
    assert (event.object_type, event.object_id, event.outcome) == ("case", 999,
                                                                  AuditOutcome.denied)


def test_no_event_holds_personal_values(app, login_as, sample):
    client = login_as("coordinator")
    for url in ("/admin/case/", f"/admin/case/details/?id={sample['case']}",
                "/admin/woman/?search=青木", f"/admin/woman/edit/?id={sample['woman']}",
                "/admin/case/export/csv/", "/admin/case_review/ajax/lookup/?name=case&query=青木"):
        client.get(url).get_data()
    for event in _events(app):
        text = f"{event.detail}|{event.object_type}|{event.login_attempted}"
        assert not any(value in text for value in PERSONAL), text


def test_events_cannot_be_changed_through_the_orm(app):
    with app.app_context():
        from kyogikai.policy import audit

        audit.record(AuditAction.login, with_change=True)
        db.session.commit()
        event = db.session.scalar(sa.select(AuditEvent))
        event.detail = "改ざん"
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.scalar(sa.select(AuditEvent)))
        with pytest.raises(PermissionError):
            db.session.commit()


def test_the_case_page_records_each_part_it_shows(app, login_as, sample):
    """One read of the case and of the woman, one list event per part, no personal values."""
    client = login_as("coordinator")
    since = _last_id(app)
    assert client.get(f"/admin/case_page/?id={sample['case']}").status_code == 200
    events = _events(app, since)
    reads = sorted((e.object_type, e.object_id) for e in events
                   if e.action is AuditAction.view_record)
    assert reads == [("case", sample["case"]), ("woman", sample["woman"])]
    lists = sorted(e.object_type for e in events if e.action is AuditAction.view_list)
    assert lists == ["case_review", "consent", "meeting", "role_assignment", "support_record"]
    assert all(f"case_id={sample['case']}" in e.detail for e in events
               if e.action is AuditAction.view_list)
    for event in events:
        assert not any(text in event.detail for text in PERSONAL)


def test_the_bare_case_record_leads_to_the_case_page(app, login_as, sample):
    response = login_as("coordinator").get(f"/admin/case/details/?id={sample['case']}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/case_page/?id={sample['case']}")


def test_case_access_log_shows_who_read_the_case(app, login_as, sample):
    login_as("clerk").get(f"/admin/case_page/?id={sample['case']}")
    body = login_as("coordinator").get(
        f"/admin/case_access_log/?case_id={sample['case']}").get_data(as_text=True)
    assert "事務担当テスト" in body and "記録閲覧" in body


def test_admin_reads_the_log_but_cannot_change_it(login_as, sample):
    client = login_as("admin")
    assert client.get("/admin/audit_event/").status_code == 200
    assert client.get("/admin/audit_event/edit/?id=1").status_code == 403
    assert client.get("/admin/audit_event/export/csv/").status_code == 403
    assert client.post("/admin/audit_event/delete/", data={
        "id": "1", "csrf_token": csrf_token(client, "/admin/")}).status_code == 403


def test_the_workflow_events_read_in_japanese(app, login_as, sample):
    """The events the workflow screens write (case page, intake look-up, gate, role change,
    withdrawal for one agency) are shown in the log without English."""
    from kyogikai.workflows.freshness import case_token
    from tests.english import english_words

    coordinator = login_as("coordinator")
    coordinator.get(f"/admin/case_page/?id={sample['case']}")
    coordinator.get("/admin/intake/candidates?name=青木&furigana=")
    coordinator.get(f"/admin/case_conference/gate?held_on=R7.9.1&agencies=1&cases={sample['case']}")
    coordinator.get("/admin/case_conference/cases?q=あおき")
    with app.app_context():
        seen = case_token(sample["case"])
    token = csrf_token(coordinator, "/admin/")
    coordinator.post(f"/admin/role_editor/change?case={sample['case']}", data={
        "function": "coordination", "agency": "1", "meeting": str(sample["meeting"]),
        "valid_from": "", "note": "", "seen": seen, "csrf_token": token})
    coordinator.post(f"/admin/case_page/withdraw?id={sample['case']}", data={
        "consent": str(sample["consent"]), "agency": "2", "withdrawn_on": "R7.9.1",
        "csrf_token": token})
    body = login_as("admin").get("/admin/audit_event/?page_size=100").get_data(as_text=True)
    assert "ケースのページ" in body and "本人同意の確認" in body and "取りまとめ機能" in body
    assert english_words(body) == set(), sorted(english_words(body))


def test_a_picker_lookup_that_returns_names_is_recorded(app, login_as, sample):
    client = login_as("clerk")
    since = _last_id(app)
    found = client.get("/admin/case_review/ajax/lookup/?name=case&query=青木").get_json()
    assert len(found) == 1
    event = _one(app, since, AuditAction.view_list)
    assert (event.object_type, event.object_id) == ("case", sample["case"])
    assert event.detail == "endpoint=ajax_lookup"
    # A look-up that found nothing is recorded too, naming no record.
    since = _last_id(app)
    assert client.get("/admin/case_review/ajax/lookup/?name=case&query=該当なし").get_json() == []
    event = _one(app, since, AuditAction.view_list)
    assert (event.object_type, event.object_id, event.detail) == (
        "case", None, "rows=0;endpoint=ajax_lookup")


def test_the_case_access_log_shows_the_look_ups_that_showed_the_case(app, login_as, sample):
    """Every picker that showed the case or its woman by name is in the case's 閲覧記録."""
    clerk = login_as("clerk")
    assert clerk.get("/admin/case_review/ajax/lookup/?name=case&query=青木").get_json()
    assert clerk.get("/admin/case/ajax/lookup/?name=woman&query=あおき").get_json()
    assert clerk.get("/admin/intake/candidates?name=青木&furigana=").get_json()
    assert login_as("coordinator").get("/admin/case_conference/cases?q=あおき").get_json()
    body = login_as("coordinator").get(
        f"/admin/case_access_log/?case_id={sample['case']}").get_data(as_text=True)
    rows = re.findall(r"<td>([^<]+)</td>\s*<td>([^<]+)</td>\s*<td>一覧閲覧</td>\s*<td>成功</td>"
                      r"\s*<td>画面: ([^<]+)</td>", body)
    assert sorted(rows) == sorted([
        ("事務担当テスト（事務担当）", "ケース進行管理台帳", "候補検索"),
        ("事務担当テスト（事務担当）", "支援対象女性", "候補検索"),
        ("事務担当テスト（事務担当）", "支援対象女性", "新規受理（女性・同意・ケース）・登録済みの女性の確認"),
        ("事務担当テスト（事務担当）", "ケース進行管理台帳", "新規受理（女性・同意・ケース）・登録済みの女性の確認"),
        ("調整担当者テスト（調整担当者）", "ケース進行管理台帳", "個別ケース検討会議の記録・ケースの検索"),
    ]), body[body.find("<tbody>"):][:3000]


def test_the_case_access_log_shows_reads_of_what_hangs_on_the_case(app, login_as, sample):
    clerk = login_as("clerk")
    for resource in ("consent", "case_review", "support_record", "role_assignment",
                     "meeting_case"):
        assert clerk.get(f"/admin/{resource}/details/?id={sample[resource]}").status_code == 200
    body = login_as("coordinator").get(
        f"/admin/case_access_log/?case_id={sample['case']}").get_data(as_text=True)
    rows = re.findall(r"<td>事務担当テスト（事務担当）</td>\s*<td>([^<]+)</td>\s*<td>記録閲覧</td>",
                      body)
    assert sorted(rows) == sorted(["本人同意", "管理記録", "支援経過", "役割分担", "検討ケース"])


def test_the_secrecy_confirmation_list_is_audited(app, login_as, sample):
    client = login_as("coordinator")
    since = _last_id(app)
    assert client.get("/admin/address_secrecy/").status_code == 200
    event = _one(app, since, AuditAction.view_list)
    assert (event.object_type, event.detail) == ("address_secrecy", "rows=0")
