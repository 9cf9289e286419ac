"""Which records still point at a row: a delete of something others depend on is refused in
Japanese, naming what depends on it, instead of surfacing a foreign-key error."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from kyogikai.models.base import db

# Association tables have no model of their own: what they mean to a person.
ASSOCIATION_LABELS = {
    "consent_agencies": _l("本人同意の対象機関"),
    "meeting_agencies": _l("会議の出席機関"),
    "meeting_members": _l("会議の出席者"),
    "woman_concerns": _l("支援対象女性の主訴"),
}


def _label_of_table(table_name: str):
    if table_name in ASSOCIATION_LABELS:
        return ASSOCIATION_LABELS[table_name]
    for mapper in db.Model.registry.mappers:
        if mapper.local_table is not None and mapper.local_table.name == table_name:
            return getattr(mapper.class_, "__label__", table_name)
    return table_name


def dependents(obj) -> list[tuple[str, int]]:
    """(label, count) of rows whose foreign keys reference obj and would block its deletion.

    Rows the database deletes with obj (ON DELETE CASCADE: companions, grams) do not block.
    """
    table = obj.__table__
    found = []
    for other in db.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is not table or (fk.ondelete or "").upper() == "CASCADE":
                continue
            value = getattr(obj, fk.column.key)
            count = db.session.scalar(
                select(func.count()).select_from(other).where(fk.parent == value)
            )
            if count:
                found.append((str(_label_of_table(other.name)), count))
    return found
