"""Optimistic locking: no save silently replaces another person's work.

Every record a person edits carries a version (models.base.VersionedMixin). A form carries the
version it was drawn from; a save whose version is no longer the record's is refused, naming
who saved in between and when, and the person keeps what she typed. A save also goes through
``UPDATE … WHERE version = <loaded>``, so two saves racing past the check cannot both land.
Inline companions and cost lines are part of their parent's form: every save of the form that
changes anything raises the parent's version, even when only an inline row changed; a form saved
unchanged leaves the version (and the audit trail) as it was. Bulk actions send the version of
each selected row and are checked the same way, all rows or none.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from kyogikai.models import User, db
from kyogikai.models.base import VersionedMixin


class StaleEdit(Exception):
    """The record changed after the person's form or list was drawn."""

    def __init__(self, model, record_id):
        super().__init__(f"{model.__name__} {record_id} changed")
        self.model = model
        self.record_id = record_id


@dataclass
class LastSave:
    user: User | None
    at: datetime | None


def is_versioned(model) -> bool:
    cls = model if isinstance(model, type) else type(model)
    return issubclass(cls, VersionedMixin)


def parse_version(text) -> int | None:
    text = str(text or "").strip()
    return int(text) if text.isdigit() else None


def check(obj, version_seen) -> None:
    """Refuse a save based on another version of ``obj`` than the one stored now."""
    if is_versioned(obj) and parse_version(version_seen) != obj.version:
        raise StaleEdit(type(obj), obj.id)


def claim(obj) -> None:
    """This save raises the version (and so issues an UPDATE … WHERE version = loaded) even when
    only inline rows or many-to-many links of ``obj`` changed."""
    if is_versioned(obj) and obj.id is not None:
        committed = inspect(obj).committed_state.get("version", obj.version)
        obj.version = committed + 1


def last_save(model, record_id) -> LastSave:
    """Who saved the record last and when, read afresh from the database."""
    row = db.session.execute(select(model.updated_by_id, model.updated_at)
                             .where(model.id == record_id)).one_or_none()
    if row is None:
        return LastSave(None, None)
    user = db.session.get(User, row.updated_by_id) if row.updated_by_id else None
    return LastSave(user, row.updated_at)


def versions_posted(pairs) -> dict[str, int | None]:
    """``["12:3", …]`` (id:version, as the list page sends them) → {"12": 3, …}."""
    found = {}
    for pair in pairs:
        record_id, _, version = str(pair).partition(":")
        found[record_id] = parse_version(version)
    return found


def check_all(records, versions_seen: dict) -> None:
    """A bulk action: every selected row must still be at the version the list showed."""
    for record in records:
        check(record, versions_seen.get(str(record.id)))


@event.listens_for(Session, "before_flush")
def _stamp_saver(session, flush_context, instances) -> None:
    """Whoever is signed in is recorded as the last saver of each versioned record she changes."""
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return
    user_id = current_user.id
    for obj in session.new:
        if is_versioned(obj):
            obj.updated_by_id = user_id
    for obj in session.dirty:
        if is_versioned(obj) and session.is_modified(obj, include_collections=False):
            obj.updated_by_id = user_id
