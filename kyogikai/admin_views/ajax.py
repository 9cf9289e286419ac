"""Type-to-search pickers for women and cases: indexed, never a scan of the whole table.

Flask-Admin's default loader runs ``CAST(col AS VARCHAR) ILIKE '%t%'`` over every row and fetches
the chosen row with ``session.get``; these go through ``get_query`` on both paths instead.
"""

import re

from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from sqlalchemy.orm import joinedload

from kyogikai.japanese.kana import fold
from kyogikai.models import Case, Woman, db
from kyogikai.models.women import name_matches
from kyogikai.policy import audit, scoping
from kyogikai.policy.resources import resource_of

PAGE = 10


class IndexedLoader(QueryAjaxModelLoader):
    def __init__(self, name, model, **options):
        super().__init__(name, db, model, fields=("id",), **options)

    def get_query(self):
        """Scoped like the screens: a picker never offers or accepts a row the user can't see."""
        return scoping.scope_model(db.session.query(self.model), self.model)

    def get_one(self, pk):
        """A posted id as the screens read one (scoping.parse_id): -2^64 or 「²」 is no record,
        not a driver's overflow."""
        pk = scoping.parse_id(pk)
        if pk is None:
            return None
        with db.session.no_autoflush:
            return self.get_query().filter(self.model.id == pk).one_or_none()

    def search_clause(self, term: str):
        raise NotImplementedError

    def get_list(self, term, offset=0, limit=PAGE):
        """One page of matches, recorded: a picker shows names, so its look-ups are reads."""
        term = (term or "").strip()
        if not term or len(term) > 100:
            return []
        query = self.get_query().filter(self.search_clause(term))
        rows = (query.order_by(self.model.id.desc()).offset(offset or 0)
                .limit(max(1, min(limit or PAGE, PAGE))).all())
        audit.record_lookup(resource_of(self.model).name, [row.id for row in rows],
                            endpoint="ajax_lookup")
        return rows


class WomanLoader(IndexedLoader):
    def __init__(self, name="woman"):
        super().__init__(name, Woman)

    def search_clause(self, term):
        return name_matches(Woman.id, term)


CASE_NUMBER = re.compile(r"[A-Z]\d")


def looks_like_case_number(term: str) -> bool:
    """R7-0001, r7-, H31…: an era letter then a digit. Names are never typed that way."""
    return bool(CASE_NUMBER.match(fold(term).upper()))


def case_number_prefix(term: str):
    """Case numbers are ASCII (R7-0001): a range on the unique index, no LIKE scan."""
    key = fold(term).upper()
    return Case.number.between(key, key + "\uffff")


class CaseLoader(IndexedLoader):
    def __init__(self, name="case"):
        super().__init__(name, Case)

    def get_query(self):
        return super().get_query().options(joinedload(Case.woman))

    def search_clause(self, term):
        if looks_like_case_number(term):
            return case_number_prefix(term)
        return name_matches(Case.woman_id, term)

    def format(self, model):
        if model is None:
            return None
        return model.id, f"{model.number} {model.woman.name}"
