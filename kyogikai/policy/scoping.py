"""Row scoping (DOMAIN rule 2, 要綱 5, 法15条5項): which records a user may see at all.

関係機関担当者 see a case only while their agency holds a current role on it or attends a meeting
about it, AND a consent valid today covers their agency. Everyone else the matrix lets in sees
all rows. Every list, count, record, picker, export and custom view asks ``scope()``. The rule of
each resource is declared in ``policy.resources``; a resource without one, or an undeclared
model, is empty for a scoped user (deny by default).
"""

from datetime import date
from functools import lru_cache
from typing import NamedTuple

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import (
    ARRAY,
    Integer,
    Select,
    and_,
    any_,
    cast,
    event,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import TextClause, True_
from sqlalchemy.types import NullType

from kyogikai.models import Case, Consent, MeetingCase, Role, RoleAssignment, db
from kyogikai.models.cases import held_on_clause
from kyogikai.models.consent import consent_agencies
from kyogikai.models.meetings import meeting_agencies
from kyogikai.policy import request_values, token_cache
from kyogikai.policy.resources import (
    RESOURCES,
    AddressedTo,
    AttendedMeeting,
    ConsentNamingAgency,
    EveryRow,
    LikeItsRecord,
    Through,
    ViaCase,
    ViaWoman,
    resource_of,
)


def is_scoped(user) -> bool:
    return user.role is Role.agency_staff


def _valid_on(consent, day: date):
    """SQL: ``consent`` (the model or an alias) obtained by ``day``, not expired nor withdrawn."""
    return and_(consent.obtained_on <= day,
                or_(consent.valid_until.is_(None), consent.valid_until >= day),
                or_(consent.withdrawn_on.is_(None), consent.withdrawn_on > day))


def _names(consent, agency_id: int, day: date):
    """SQL: ``consent`` names the agency, not withdrawn for it alone by ``day``. Correlated to
    that consent row only, whatever else the enclosing query lists."""
    named = consent_agencies.alias()
    return (exists().where(named.c.consent_id == consent.id, named.c.agency_id == agency_id,
                           or_(named.c.withdrawn_on.is_(None), named.c.withdrawn_on > day))
            .correlate(consent))


def consent_covers(woman_id_column, agency_id: int, day: date):
    """A consent of that woman, valid on ``day``, names the agency and was not withdrawn for it
    (as a whole or for that agency alone) by then.

    ``woman_id IN (the women of the agency's covering consents)``: uncorrelated (an alias,
    ``correlate(None)``), so the database reads the agency's consents once per query instead
    of once per row, and the subquery can never be tied to a consent the enclosing query lists.
    """
    consent = aliased(Consent)
    covering = (select(consent.woman_id).where(_valid_on(consent, day),
                                               _names(consent, agency_id, day))
                .correlate(None))
    return woman_id_column.in_(covering)


def consent_names_agency(agency_id: int, day: date, consent=Consent):
    """SQL: this consent row itself is valid on ``day`` and names the agency (the 本人同意
    list of an agency user: her consents, never another agency's of the same woman)."""
    return and_(_valid_on(consent, day), _names(consent, agency_id, day))


def visible_case_ids(user, day: date | None = None):
    """A SELECT of the case ids this agency user may see on ``day`` (the rule itself).

    Starts from the agency's own rows (role assignments, meeting attendance: both indexed by
    agency), so the cost follows the agency's caseload, not the size of the ledger.
    """
    return _visible_case_ids(user.agency_id, day or date.today())


def visible_case(case_id_column, user, day: date | None = None, listing: bool = False):
    """SQL: the case id in ``case_id_column`` is one the agency user may see on ``day``.

    In a request the rule's answer is kept (see ``visible_cases``); elsewhere (commands,
    exports run in a shell) it is the rule itself. ``listing``: the statement lists or counts
    her whole scope (see ``_among``).
    """
    day = day or date.today()
    kept = visible_cases(user, day)
    if kept is None:
        return case_id_column.in_(visible_case_ids(user, day))
    return _among(case_id_column, kept.wire, listing)


def visible_woman(woman_id_column, user, day: date | None = None, listing: bool = False):
    """SQL: the woman in ``woman_id_column`` has a case the agency user may see on ``day``."""
    day = day or date.today()
    kept = visible_cases(user, day)
    if kept is None:
        return woman_id_column.in_(select(Case.woman_id).where(
            Case.id.in_(visible_case_ids(user, day))))
    return _among(woman_id_column, kept.woman_wire, listing)


class VisibleCases(NamedTuple):
    ids: tuple[int, ...]
    first_year: int | None  # the oldest 年度 among them (the ledger's 年度 filter offers from it)
    wire: str  # the ids as the database reads them in one value (``_among``), written once
    woman_wire: str  # their women's ids, the same way


def visible_cases(user, day: date | None = None) -> VisibleCases | None:
    """The cases this agency user may see on ``day``, kept (None outside a request).

    A ledger page asks the rule three times (count, rows, 年度 options) and the case page once
    per history table; each time the database evaluated it over the agency's whole caseload
    (14 ms on SQLite at 100,000 cases). The answer is kept:
    * for the request in ``g``, under the user, her agency and the day; any write in the request
      drops it (``_forget_on_flush``, ``_forget_on_write``), so a page never shows the scope as
      it was before its own change;
    * for the process, under her agency and the day, while the database's scope generation
      token (models.generation.SCOPE_TRIGGERS: changed by triggers in the same transaction as
      any role, meeting, consent or case change the rule reads) is the one read before the
      cases. No token (a trigger missing) keeps nothing across requests.
    """
    if not has_request_context():
        return None
    day = day or date.today()
    key = (user.id, user.agency_id, day)
    kept = g.setdefault("visible_cases", {})
    if key not in kept:
        kept[key] = _kept_across_requests(("visible_cases", user.agency_id, day),
                                          lambda: _read_visible_cases(user.agency_id, day))
    return kept[key]


def whole_count(resource: str, user=None) -> int | None:
    """The number of ``resource`` rows the user may see, when it is known without counting them
    again: the ledger's first page, unfiltered, counted every case (PostgreSQL 8–12 ms at
    100,000, a scan) on every request. Known for cases only: an agency user's are her kept
    cases; anyone else's are every case, kept per process while the scope's token is the one
    read before counting. None: count as usual (a filter, a search, no token, another
    resource)."""
    user = user if user is not None else current_user
    if resource != "case" or not has_request_context():
        return None
    if is_scoped(user):
        kept = visible_cases(user) if user.agency_id is not None else None
        return None if kept is None else len(kept.ids)
    if not isinstance(scope_clause(resource, user), True_):
        return None
    # Cases are added and removed only with a new token (SCOPE_TRIGGERS).
    return _kept_across_requests(("case_count",), lambda: tuple(db.session.execute(
        select(func.count(), request_values.scope_generation_column()).select_from(Case)).one()))


def _kept_across_requests(what: tuple, read):
    """``read()``'s value, or the one kept under the scope's token (policy.token_cache)."""
    return token_cache.value(what, "scope_generation", request_values.scope_generation_column,
                             read)


def _read_visible_cases(agency_id: int | None, day: date) -> tuple[VisibleCases, object]:
    """Her cases, and the token as the same statement read it (none without a row)."""
    rows = db.session.execute(visible_cases_read(agency_id, day).add_columns(
        request_values.scope_generation_column())).all()
    return (VisibleCases(tuple(row[0] for row in rows),
                         min((row[1] for row in rows), default=None),
                         _wire(row[0] for row in rows), _wire({row[2] for row in rows})),
            rows[0][3] if rows else token_cache.MISSING)


def visible_cases_read(agency_id: int | None, day: date):
    """The statement that reads what is kept: every column it reads must be one whose change
    gives the scope a new token (tests/test_scope_generation.py compares them)."""
    return select(Case.id, Case.fiscal_year, Case.woman_id).where(
        Case.id.in_(_visible_case_ids(agency_id, day)))


def _wire(ids) -> str:
    return ("{%s}" if _postgresql() else "[%s]") % ",".join(map(str, sorted(ids)))


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _among(column, wire: str, listing: bool):
    """SQL: ``column`` is one of the kept ids, sent as one text value (an agency's caseload
    would overflow SQLite's bound parameters one id each; a list would be converted id by id
    for every statement). SQLite reads a JSON array.

    PostgreSQL gets an array, untyped, so the driver sends it as "unknown" and the server reads
    it as the array itself, a constant the planner sees (typed as text it was converted row by
    row: 200 ms). How it is tested depends on the statement (5,104 ids at 100k cases):
    * ``listing`` (a list page's rows and count): ``= ANY(array)``. The planner knows the
      array's length, so a page of 50 walks the sort column's index (0.5 ms) where
      ``IN (SELECT unnest(…))`` joined and sorted all of them (26 ms).
    * any other statement (a record, its history, a picker): ``IN (SELECT unnest(…))``, which
      plans in 0.1 ms where ``= ANY`` estimates each element of the array (1–2 ms a statement,
      ten statements on her case page).
    """
    if _postgresql():
        ids = cast(literal(wire, NullType()), ARRAY(Integer))
        return column == any_(ids) if listing else column.in_(select(func.unnest(ids)))
    return column.in_(select(func.json_each(wire).table_valued("value").c.value))


def forget_visible_cases() -> None:
    """After the request's own change: read the token and the cases again. The token is then
    its own transaction's: a new one per row on SQLite, none on PostgreSQL (written once per
    transaction, SCOPE_TRIGGERS.token), so nothing read after the change is kept under a token
    a later change of the same transaction would leave as it is."""
    if has_request_context():
        g.pop("visible_cases", None)
        g.pop("scope_generation", None)


@event.listens_for(Session, "after_flush")
def _forget_on_flush(session, flush_context) -> None:
    """Any change may change who sees what (a role, a meeting, a consent, a case). Read pages
    write nothing through the session: their audit rows are inserted after the response."""
    forget_visible_cases()


@event.listens_for(Session, "do_orm_execute")
def _forget_on_write(state) -> None:
    """A bulk or hand-written statement (text may write anything)."""
    if isinstance(state.statement, TextClause) or (
            state.is_insert or state.is_update or state.is_delete):
        forget_visible_cases()


def first_case_year(user=None) -> int | None:
    """The oldest 年度 among the cases ``user`` may see (an agency user is not told of older
    years): for her, from the request's kept cases when there are; for a reader of every case,
    kept per process under the scope's token (a case's 年度 changes only with a new one)."""
    user = user if user is not None else current_user
    if is_scoped(user) and user.agency_id is not None:
        kept = visible_cases(user)
        if kept is not None:
            return kept.first_year

    def read():
        return tuple(db.session.execute(scope(select(
            func.min(Case.fiscal_year), request_values.scope_generation_column()),
            "case", user)).one())

    if has_request_context() and isinstance(scope_clause("case", user), True_):
        return _kept_across_requests(("case_first_year",), read)
    return read()[0]


@lru_cache(maxsize=256)
def _visible_case_ids(agency_id: int | None, day: date):
    """Built once per agency and day: SQL constructs are immutable, and building this one
    (an aliased consent, two unions) cost more than running it. Everything it depends on is
    in the key."""
    if agency_id is None:
        return select(Case.id).where(false())
    holds_role = select(RoleAssignment.case_id).where(
        RoleAssignment.agency_id == agency_id, held_on_clause(day))
    attends = select(MeetingCase.case_id).join(
        meeting_agencies, meeting_agencies.c.meeting_id == MeetingCase.meeting_id
    ).where(meeting_agencies.c.agency_id == agency_id)
    return select(Case.id).where(Case.id.in_(union(holds_role, attends)),
                                 consent_covers(Case.woman_id, agency_id, day))


def _rule_clause(resource, user, day, listing=False):
    """The WHERE clause of a declared scope rule for an agency user (see policy.resources)."""
    rule, model = resource.scope, resource.model
    if isinstance(rule, EveryRow):
        return true()
    if user.agency_id is None:
        return false()
    if isinstance(rule, ViaCase):
        return visible_case(getattr(model, rule.column), user, day, listing)
    if isinstance(rule, ViaWoman):
        return visible_woman(getattr(model, rule.column), user, day, listing)
    if isinstance(rule, ConsentNamingAgency):
        return and_(visible_woman(getattr(model, rule.column), user, day, listing),
                    consent_names_agency(user.agency_id, day, model))
    if isinstance(rule, Through):
        other = RESOURCES[rule.resource]
        visible = select(other.model.id).where(_rule_clause(other, user, day, listing))
        return getattr(model, rule.column).in_(visible)
    if isinstance(rule, AttendedMeeting):
        return exists().where(meeting_agencies.c.meeting_id == model.id,
                              meeting_agencies.c.agency_id == user.agency_id)
    if isinstance(rule, LikeItsRecord):
        return or_(*(getattr(model, column).in_(
            select(RESOURCES[owner].model.id).where(scope_clause(owner, user, day, listing)))
            for column, owner in rule.owners.items()))
    return false()


def scope_clause(resource: str, user=None, day: date | None = None, listing: bool = False):
    """The WHERE clause for ``resource`` as ``user`` may see it (TRUE when unrestricted).

    Deny by default: no user, an undeclared resource or one without a scope rule → no rows.
    ``listing``: the statement lists or counts the whole scope (a list page); the same rows,
    planned for that (``_among``).
    """
    user = user if user is not None else current_user
    declared = RESOURCES.get(resource)
    if not getattr(user, "is_authenticated", False) or declared is None:
        return false()
    if isinstance(declared.scope, AddressedTo):  # an inbox: the same rule for every role
        return getattr(declared.model, declared.scope.column) == user.id
    if not is_scoped(user):
        return true()
    if declared.scope is None or declared.model is None:
        return false()
    return _rule_clause(declared, user, day or date.today(), listing)


def scope(query, resource: str, user=None, day: date | None = None, listing: bool = False):
    """Filter a query (ORM Query or 2.0 Select) of ``resource`` rows to what the user may see."""
    clause = scope_clause(resource, user, day, listing)
    return query.where(clause) if isinstance(query, Select) else query.filter(clause)


def scope_model(query, model, user=None):
    """Scope a query by its model (pickers, dropdowns). An undeclared model gives no rows."""
    declared = resource_of(model)
    if declared is None:
        return query.filter(false())
    return scope(query, declared.name, user)


def scoped_select(resource: str, user=None, day: date | None = None) -> Select:
    """``SELECT <model> WHERE <the user's scope>`` for a declared resource.

    For custom screens and exports: start every query of case content here, then add your own
    filters, order and options. Example::

        rows = db.session.scalars(scoped_select("case_review")
                                  .where(CaseReview.case_id == case.id)).all()
    """
    return scope(select(RESOURCES[resource].model), resource, user, day)


def get_visible(resource: str, record_id, user=None):
    """The record of ``resource`` with that id if the user may see it, else None (missing and
    out of scope are the same None). ``record_id`` must already be an int (see parse_id)."""
    model = RESOURCES[resource].model
    return db.session.scalar(scoped_select(resource, user).where(model.id == record_id))


MAX_ID = 2**31 - 1  # ids are INTEGER columns: anything larger is no id of ours


def parse_id(value) -> int | None:
    """An id from a URL or form: ASCII digits within the id columns' range, else None.

    ``str.isdigit`` accepts 「²」 and 「１」, which ``int`` then refuses or reads differently;
    a value past 2^63 makes the database driver fail, and one past 2^31 cannot be stored in the
    audit trail. All of them must be a plain 404, not a 500.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def visible(items, resource: str, key=lambda item: item, user=None):
    """Of records already loaded (a related list), those the user may see, in one query."""
    items = list(items)
    user = user if user is not None else current_user
    if not items or not is_scoped(user):
        return [key(item) for item in items]
    records = [key(item) for item in items]
    model = type(records[0])
    ids = {record.id for record in records}
    allowed_ids = set(db.session.scalars(
        select(model.id).where(model.id.in_(ids), scope_clause(resource, user))).all())
    return [record for record in records if record.id in allowed_ids]
