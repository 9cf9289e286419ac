"""Optimistic locking: two people saving the same record never silently overwrite each other —
a case, a woman with her companions, a meeting, and rows of a bulk action."""

import html
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from kyogikai.japanese.kana import to_katakana
from kyogikai.models import Case, Companion, Meeting, SupportRecord, Woman, db
from tests.browser_form import form_fields, with_changes
from tests.conftest import csrf_token

STALE = "この画面を開いた後に"


def _open(client, url):
    """What the browser holds after opening the edit form: its fields as rendered."""
    page = client.get(url)
    assert page.status_code == 200
    return form_fields(page.get_data(as_text=True))


def _save(client, url, fields, **changes):
    return client.post(url, data=with_changes(fields, **changes))


def test_two_people_saving_the_same_case(app, login_as, sample):
    url = f"/admin/case/edit/?id={sample['case']}"
    first, second = login_as("coordinator"), login_as("clerk")
    first_form, second_form = _open(first, url), _open(second, url)
    assert _save(second, url, second_form, note="事務担当の記録").status_code == 302
    refused = _save(first, url, first_form, note="調整担当者の記録")
    body = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 200
    assert STALE in body and "事務担当テスト（事務担当）" in body and "令和" in body
    assert "調整担当者の記録" in body  # what she typed is still in the form
    with app.app_context():
        assert db.session.get(Case, sample["case"]).note == "事務担当の記録"
    # Saving again from the refused form is a deliberate choice, and it goes through.
    again = _save(first, url, form_fields(refused.get_data(as_text=True)))
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(Case, sample["case"]).note == "調整担当者の記録"


def test_companions_are_part_of_the_womans_form(app, login_as, sample):
    with app.app_context():  # as a save through the form stores it, so only the companion moves
        db.session.get(Woman, sample["woman"]).furigana = to_katakana("アオキ アケミ")
        db.session.commit()
    url = f"/admin/woman/edit/?id={sample['woman']}"
    first, second = login_as("coordinator"), login_as("clerk")
    first_form, second_form = _open(first, url), _open(second, url)
    assert _save(second, url, second_form,
                 **{"companions-0-name": "青木 陽向"}).status_code == 302
    refused = _save(first, url, first_form, note="備考の追記")
    assert STALE in refused.get_data(as_text=True)
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        assert woman.note == "" and woman.companions[0].name == "青木 陽向"


def test_two_people_saving_the_same_meeting(app, login_as, sample):
    """The second save changes only the attending agencies (a many-to-many link)."""
    url = f"/admin/meeting/edit/?id={sample['meeting']}"
    first, second = login_as("coordinator"), login_as("clerk")
    first_form, second_form = _open(first, url), _open(second, url)
    data = with_changes(second_form)
    data["agencies"] = ["1"]
    assert second.post(url, data=data).status_code == 302
    refused = _save(first, url, first_form, place="第二会議室")
    assert STALE in refused.get_data(as_text=True)
    with app.app_context():
        meeting = db.session.get(Meeting, sample["meeting"])
        assert meeting.place == "テスト市役所 会議室" and [a.id for a in meeting.agencies] == [1]


def test_a_save_without_the_version_is_refused(app, login_as, sample):
    url = f"/admin/case/edit/?id={sample['case']}"
    client = login_as("coordinator")
    data = with_changes(_open(client, url), note="版のない保存")
    del data["version_token"]
    assert STALE in client.post(url, data=data).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Case, sample["case"]).note == ""


def test_two_saves_racing_past_the_check_cannot_both_land(app, login_as, sample):
    """Another save lands between this one's check and its write: the database refuses it."""
    url = f"/admin/case/edit/?id={sample['case']}"
    client = login_as("coordinator")
    fields = _open(client, url)

    def someone_else_saves(session, flush_context, instances):
        table = Case.__table__
        session.connection().execute(sa.update(table).where(table.c.id == sample["case"])
                                     .values(version=table.c.version + 1, note="割り込み"))

    event.listen(db.session, "before_flush", someone_else_saves, once=True)
    try:
        refused = _save(client, url, fields, note="競合する保存")
    finally:
        if event.contains(db.session, "before_flush", someone_else_saves):
            event.remove(db.session, "before_flush", someone_else_saves)
    assert refused.status_code == 200 and STALE in refused.get_data(as_text=True)


def _rowversions(client, listing):
    return [field for name, field in form_fields_of_list(client.get(listing))]


def form_fields_of_list(response):
    body = response.get_data(as_text=True)
    marker = 'name="rowversion" value="'
    values, start = [], body.find(marker)
    while start != -1:
        end = body.index('"', start + len(marker))
        values.append(("rowversion", body[start + len(marker):end]))
        start = body.find(marker, end)
    return values


@pytest.fixture
def two_records(app, sample):
    with app.app_context():
        original = db.session.get(SupportRecord, sample["support_record"])
        other = SupportRecord(case_id=original.case_id, recorded_on=original.recorded_on,
                              agency_id=original.agency_id, kind=original.kind, content="二件目")
        db.session.add(other)
        db.session.commit()
        return [original.id, other.id]


def _bulk_delete(client, ids, rowversions):
    return client.post("/admin/support_record/action/", data={
        "action": "delete", "rowid": [str(i) for i in ids], "rowversion": rowversions,
        "csrf_token": csrf_token(client, "/admin/support_record/")})


def _remaining(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(SupportRecord))


def test_a_bulk_action_on_a_row_saved_since_the_list_was_drawn_is_refused(app, login_as,
                                                                          two_records):
    coordinator = login_as("coordinator")
    seen = _rowversions(coordinator, "/admin/support_record/")
    assert len(seen) == 2
    url = f"/admin/support_record/edit/?id={two_records[0]}"
    clerk = login_as("clerk")
    assert _save(clerk, url, _open(clerk, url), content="直前の追記").status_code == 302
    response = _bulk_delete(coordinator, two_records, seen)
    assert response.status_code == 302
    message = coordinator.get(response.headers["Location"]).get_data(as_text=True)
    assert "何も変更していません" in message and "事務担当テスト（事務担当）" in message
    assert _remaining(app) == 2
    assert _bulk_delete(coordinator, two_records, []).status_code == 302  # no versions: refused
    assert _remaining(app) == 2
    fresh = _rowversions(coordinator, "/admin/support_record/")
    _bulk_delete(coordinator, two_records, fresh)
    assert _remaining(app) == 0


def _row_delete_forms(client, url) -> dict[str, dict]:
    """Each row's delete button on the list, as the browser would post it: id → fields."""
    page = client.get(url).get_data(as_text=True)
    forms = {}
    for form in re.findall(r'<form class="icon" method="POST" action="[^"]*/delete/[^"]*">'
                           r'(.*?)</form>', page, re.S):
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
        forms[fields["id"]] = fields
    return forms


def test_a_row_deleted_from_a_list_drawn_before_a_save_is_refused(app, login_as, two_records):
    """The row's own delete button carries the version the list showed, as bulk actions do."""
    coordinator = login_as("coordinator")
    buttons = _row_delete_forms(coordinator, "/admin/support_record/")
    target = buttons[str(two_records[0])]
    assert target["version"] == "1" and target["csrf_token"]
    url = f"/admin/support_record/edit/?id={two_records[0]}"
    clerk = login_as("clerk")
    assert _save(clerk, url, _open(clerk, url), content="直前の追記").status_code == 302

    response = coordinator.post("/admin/support_record/delete/", data=target)
    assert response.status_code == 302
    message = coordinator.get(response.headers["Location"]).get_data(as_text=True)
    assert "何も変更していません" in message and "事務担当テスト（事務担当）" in message
    assert _remaining(app) == 2
    # Without a version (a hand-made post, an old page): nothing is deleted either.
    response = coordinator.post("/admin/support_record/delete/", data={
        k: v for k, v in target.items() if k != "version"})
    message = coordinator.get(response.headers["Location"]).get_data(as_text=True)
    assert "何も削除していません" in message and _remaining(app) == 2
    # From the list as it is now: deleted.
    fresh = _row_delete_forms(coordinator, "/admin/support_record/")[str(two_records[0])]
    assert fresh["version"] == "2"
    assert coordinator.post("/admin/support_record/delete/", data=fresh).status_code == 302
    assert _remaining(app) == 1


def test_the_ledger_rows_carry_their_versions(login_as, sample):
    """The ledger has its own list template; its rows carry versions like every list."""
    page = login_as("coordinator").get("/admin/case/").get_data(as_text=True)
    assert f'name="rowversion" value="{sample["case"]}:1"' in page
    assert 'name="version" value="1"' in page or "/delete/" not in page


def test_inline_rows_carry_no_version_of_their_own_in_the_form(login_as, sample):
    """The woman's form has one version; a companion's row is covered by it."""
    fields = _open(login_as("coordinator"), f"/admin/woman/edit/?id={sample['woman']}")
    assert [name for name, _ in fields if name.endswith("version_token")] == ["version_token"]
    assert Companion.__mapper__.version_id_col is not None
