"""フリガナ as staff type and paste them (tests/data/furigana.toml): stored as full-width katakana,
words apart by one full-width space; and a form saved unchanged changes nothing — not the stored
reading (however it was written before), not the version, not the audit trail."""

import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa

from kyogikai.models import AuditAction, AuditEvent, Companion, Member, Woman, db
from tests.browser_form import form_fields, with_changes

READINGS = tomllib.loads((Path(__file__).parent / "data" / "furigana.toml")
                         .read_text("utf-8"))["reading"]
ACCEPTED = [r for r in READINGS if "stored" in r]
REFUSED = [r["typed"] for r in READINGS if "stored" not in r]


def _edit_form(client, url: str) -> list[tuple[str, str]]:
    page = client.get(url)
    assert page.status_code == 200
    return form_fields(page.get_data(as_text=True))


def _post(client, url: str, data: dict):
    response = client.post(url, data=data)
    body = response.get_data(as_text=True)
    return response, body


def _updates(app, object_type: str, object_id: int) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == AuditAction.update, AuditEvent.object_type == object_type,
            AuditEvent.object_id == object_id)).all()


def _state(app, model, record_id):
    with app.app_context():
        record = db.session.get(model, record_id)
        return record.furigana, record.version


@pytest.mark.parametrize("reading", ACCEPTED, ids=[r["typed"] for r in ACCEPTED])
def test_typed_readings_are_stored_in_one_form(app, login_as, sample, reading):
    with app.app_context():
        db.session.get(Woman, sample["woman"]).furigana = "ベツノ　ヨミ"
        db.session.commit()
    client = login_as("coordinator")
    url = f"/admin/woman/edit/?id={sample['woman']}"
    response, body = _post(client, url, with_changes(_edit_form(client, url),
                                                     furigana=reading["typed"]))
    assert response.status_code == 302, body[body.find("alert"):][:400]
    assert _state(app, Woman, sample["woman"])[0] == reading["stored"]


@pytest.mark.parametrize("typed", REFUSED)
def test_other_text_is_refused_in_japanese(app, login_as, sample, typed):
    client = login_as("coordinator")
    url = f"/admin/woman/edit/?id={sample['woman']}"
    before = _state(app, Woman, sample["woman"])
    response, body = _post(client, url, with_changes(_edit_form(client, url), furigana=typed))
    assert response.status_code == 200 and "フリガナはカタカナ" in body
    assert _state(app, Woman, sample["woman"]) == before


@pytest.mark.parametrize("reading", [r for r in ACCEPTED if r["typed"] != r["stored"]][:6]
                         + [ACCEPTED[1]], ids=lambda r: r["typed"])
def test_a_form_saved_unchanged_changes_nothing(app, login_as, sample, reading):
    """The stored reading as older data holds it (a half-width space, hiragana, half-width
    kana): the edit form shows it, the person saves without touching it, nothing changes."""
    with app.app_context():
        woman = db.session.get(Woman, sample["woman"])
        woman.furigana = reading["typed"]
        woman.companions[0].furigana = reading["typed"]
        db.session.get(Member, sample["member"]).furigana = reading["typed"]
        db.session.commit()
        companion_id = woman.companions[0].id
    before = {"woman": _state(app, Woman, sample["woman"]),
              "companion": _state(app, Companion, companion_id),
              "member": _state(app, Member, sample["member"])}

    for role, resource in (("coordinator", "woman"), ("admin", "member")):
        client = login_as(role)
        url = f"/admin/{resource}/edit/?id={sample[resource]}"
        response, body = _post(client, url, with_changes(_edit_form(client, url)))
        assert response.status_code == 302, body[body.find("alert"):][:400]
        assert _updates(app, resource, sample[resource]) == []

    assert {"woman": _state(app, Woman, sample["woman"]),
            "companion": _state(app, Companion, companion_id),
            "member": _state(app, Member, sample["member"])} == before


def test_a_real_change_is_still_saved_versioned_and_audited(app, login_as, sample):
    client = login_as("coordinator")
    url = f"/admin/woman/edit/?id={sample['woman']}"
    _furigana, version = _state(app, Woman, sample["woman"])
    response, _body = _post(client, url, with_changes(_edit_form(client, url),
                                                      furigana="あおき　あけみこ"))
    assert response.status_code == 302
    assert _state(app, Woman, sample["woman"]) == ("アオキ　アケミコ", version + 1)
    [event] = _updates(app, "woman", sample["woman"])
    assert "furigana" in event.detail
