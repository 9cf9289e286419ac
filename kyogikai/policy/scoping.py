"""Row scoping (DOMAIN rule 2, 要綱 5, 法15条5項): which records a user may see at all.

関係機関担当者 see a case only while their agency holds a current role on it or attends a meeting
about it, AND a consent valid today covers their agency. Everyone else the matrix lets in sees
all rows. Every list, count, record, picker, export and custom view asks ``scope()``. The rule of
each resource is declared in ``policy.resources``; a resource without one, or an undeclared
model, is empty for a scoped user (deny by default).
"""

from datetime import date
from functools import lru_cache

from flask_login import current_user
from sqlalchemy import Select, and_, exists, false, or_, select, true, union
from sqlalchemy.orm import aliased

from kyogikai.models import Case, Consent, MeetingCase, Role, RoleAssignment, db
from kyogikai.models.cases import held_on_clause
from kyogikai.models.consent import consent_agencies
from kyogikai.models.meetings import meeting_agencies
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
    """A SELECT of the case ids this agency user may see on ``day``.

    Starts from the agency's own rows (role assignments, meeting attendance: both indexed by
    agency), so the cost follows the agency's caseload, not the size of the ledger.
    """
    return _visible_case_ids(user.agency_id, day or date.today())


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


def visible_woman_ids(user, day: date | None = None):
    return select(Case.woman_id).where(Case.id.in_(visible_case_ids(user, day)))


def _rule_clause(resource, user, day):
    """The WHERE clause of a declared scope rule for an agency user (see policy.resources)."""
    rule, model = resource.scope, resource.model
    if isinstance(rule, EveryRow):
        return true()
    if user.agency_id is None:
        return false()
    if isinstance(rule, ViaCase):
        return getattr(model, rule.column).in_(visible_case_ids(user, day))
    if isinstance(rule, ViaWoman):
        return getattr(model, rule.column).in_(visible_woman_ids(user, day))
    if isinstance(rule, ConsentNamingAgency):
        return and_(getattr(model, rule.column).in_(visible_woman_ids(user, day)),
                    consent_names_agency(user.agency_id, day, model))
    if isinstance(rule, Through):
        other = RESOURCES[rule.resource]
        visible = select(other.model.id).where(_rule_clause(other, user, day))
        return getattr(model, rule.column).in_(visible)
    if isinstance(rule, AttendedMeeting):
        return exists().where(meeting_agencies.c.meeting_id == model.id,
                              meeting_agencies.c.agency_id == user.agency_id)
    if isinstance(rule, LikeItsRecord):
        return or_(*(getattr(model, column).in_(
            select(RESOURCES[owner].model.id).where(scope_clause(owner, user, day)))
            for column, owner in rule.owners.items()))
    return false()


def scope_clause(resource: str, user=None, day: date | None = None):
    """The WHERE clause for ``resource`` as ``user`` may see it (TRUE when unrestricted).

    Deny by default: no user, an undeclared resource or one without a scope rule → no rows.
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
    return _rule_clause(declared, user, day or date.today())


def scope(query, resource: str, user=None, day: date | None = None):
    """Filter a query (ORM Query or 2.0 Select) of ``resource`` rows to what the user may see."""
    clause = scope_clause(resource, user, day)
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
