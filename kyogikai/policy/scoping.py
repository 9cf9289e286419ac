"""Row scoping (DOMAIN rule 2, 要綱 5, 法15条5項): which records a user may see at all.

関係機関担当者 see a case only while their agency holds a current role on it or attends a meeting
about it, AND a consent valid today covers their agency. Everyone else the matrix lets in sees
all rows. Every list, count, record, picker, export and custom view asks ``scope()``; a resource
with no rule here is empty for a scoped user (deny by default).
"""

from datetime import date

from flask_login import current_user
from sqlalchemy import and_, exists, false, or_, select, true, union

from kyogikai.models import (
    Agency,
    Case,
    CaseReview,
    Companion,
    Consent,
    Meeting,
    MeetingCase,
    Role,
    RoleAssignment,
    SupportRecord,
    Woman,
    db,
)
from kyogikai.models.consent import consent_agencies
from kyogikai.models.meetings import meeting_agencies


def is_scoped(user) -> bool:
    return user.role is Role.agency_staff


def consent_covers(woman_id_column, agency_id: int, day: date):
    """A consent of that woman, valid on ``day``, names the agency."""
    return exists().where(
        Consent.woman_id == woman_id_column,
        Consent.obtained_on <= day,
        or_(Consent.valid_until.is_(None), Consent.valid_until >= day),
        or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > day),
        consent_agencies.c.consent_id == Consent.id,
        consent_agencies.c.agency_id == agency_id,
    )


def visible_case_ids(user, day: date | None = None):
    """A SELECT of the case ids this agency user may see on ``day``.

    Starts from the agency's own rows (role assignments, meeting attendance: both indexed by
    agency), so the cost follows the agency's caseload, not the size of the ledger.
    """
    day = day or date.today()
    agency_id = user.agency_id
    if agency_id is None:
        return select(Case.id).where(false())
    holds_role = select(RoleAssignment.case_id).where(
        RoleAssignment.agency_id == agency_id,
        RoleAssignment.valid_from <= day,
        or_(RoleAssignment.valid_to.is_(None), RoleAssignment.valid_to >= day),
    )
    attends = select(MeetingCase.case_id).join(
        meeting_agencies, meeting_agencies.c.meeting_id == MeetingCase.meeting_id
    ).where(meeting_agencies.c.agency_id == agency_id)
    return select(Case.id).where(Case.id.in_(union(holds_role, attends)),
                                 consent_covers(Case.woman_id, agency_id, day))


def visible_woman_ids(user, day: date | None = None):
    return select(Case.woman_id).where(Case.id.in_(visible_case_ids(user, day)))


def _meeting_rule(user, day):
    if user.agency_id is None:
        return false()
    return exists().where(meeting_agencies.c.meeting_id == Meeting.id,
                          meeting_agencies.c.agency_id == user.agency_id)


# resource → the WHERE clause of what a scoped user sees. Missing resource → nothing.
RULES = {
    "case": lambda user, day: Case.id.in_(visible_case_ids(user, day)),
    "woman": lambda user, day: Woman.id.in_(visible_woman_ids(user, day)),
    "companion": lambda user, day: Companion.woman_id.in_(visible_woman_ids(user, day)),
    "consent": lambda user, day: and_(Consent.woman_id.in_(visible_woman_ids(user, day)),
                                      consent_covers(Consent.woman_id, user.agency_id, day)),
    "case_review": lambda user, day: CaseReview.case_id.in_(visible_case_ids(user, day)),
    "support_record": lambda user, day: SupportRecord.case_id.in_(visible_case_ids(user, day)),
    "role_assignment": lambda user, day: RoleAssignment.case_id.in_(visible_case_ids(user, day)),
    "meeting_case": lambda user, day: MeetingCase.case_id.in_(visible_case_ids(user, day)),
    "meeting": _meeting_rule,
    "agency": lambda user, day: true(),
}

MODEL_RESOURCES = {Case: "case", Woman: "woman", Companion: "companion", Consent: "consent",
                   CaseReview: "case_review", SupportRecord: "support_record",
                   RoleAssignment: "role_assignment", MeetingCase: "meeting_case",
                   Meeting: "meeting", Agency: "agency"}


def scope_clause(resource: str, user=None, day: date | None = None):
    """The WHERE clause for ``resource`` as ``user`` may see it (TRUE when unrestricted)."""
    user = user if user is not None else current_user
    if not getattr(user, "is_authenticated", False):
        return false()
    if not is_scoped(user):
        return true()
    rule = RULES.get(resource)
    return rule(user, day or date.today()) if rule else false()


def scope(query, resource: str, user=None, day: date | None = None):
    """Filter a query of ``resource`` rows down to what the user may see."""
    return query.filter(scope_clause(resource, user, day))


def scope_model(query, model, user=None):
    """Scope a query by its model (pickers, dropdowns). Models that hold no case content
    (agencies aside: members, concerns, councils, users) are governed by the matrix alone."""
    resource = MODEL_RESOURCES.get(model)
    if resource is None:
        return query
    return scope(query, resource, user)


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
