"""Everything about one case, for the case page: each part read through the reader's scope,
only the parts the matrix lets the reader see, each read recorded in the audit trail.

The case itself comes in already fetched in scope (SecureView.get_one_or_404 records that
read); this module adds the woman and her companions, the consents, the role history, the
管理記録, the meetings, the 支援経過 and what the reader may do next. Masking is applied where
values are shown (the template's ``shown``/``masked``), as on every screen.
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kyogikai.models import (
    Agency,
    CaseReview,
    Companion,
    Consent,
    ConsentAgency,
    Meeting,
    MeetingCase,
    RoleAssignment,
    RoleFunction,
    SupportRecord,
    db,
)
from kyogikai.models.cases import is_review_overdue, review_due_on
from kyogikai.models.council import review_interval_months
from kyogikai.models.roles import Timeline, designation_remark, timeline
from kyogikai.policy import audit, scoping
from kyogikai.policy.matrix import CREATE, DETAILS, EDIT, LIST, allowed


@dataclass
class ConsentLine:
    """One agency of a consent: covered today, or since when it is withdrawn."""

    agency: Agency
    withdrawn_on: date | None
    covered_today: bool


@dataclass
class ConsentView:
    consent: Consent
    state: str  # "valid", "withdrawn", "expired", "not_yet"
    lines: list[ConsentLine]


@dataclass
class LeadStep:
    """A step of the 主担当機関's history: the case's own value, then each 管理記録 that changed it."""

    day: date
    agency: Agency | None
    review: CaseReview | None  # None: the case's own (受理時) value


@dataclass
class MeetingLine:
    meeting: Meeting
    link: MeetingCase | None  # None: the case was reviewed there without being put on it


@dataclass
class CaseStory:
    case: object
    woman: object
    companions: list = field(default_factory=list)
    consents: list[ConsentView] | None = None  # None: the reader may not see consents
    roles: Timeline | None = None
    lead_steps: list[LeadStep] = field(default_factory=list)
    designation: RoleAssignment | None = None
    reviews: list[CaseReview] | None = None
    meetings: list[MeetingLine] | None = None
    support_records: list[SupportRecord] | None = None
    due_on: date | None = None
    overdue: bool = False
    may: dict[str, bool] = field(default_factory=dict)
    role_functions: tuple = tuple(RoleFunction)

    def designation_text(self, reason: str) -> str:
        return designation_remark(self.designation, reason) if self.designation else ""


def _may(role, action: str, resource: str) -> bool:
    return allowed(role, action, resource)


def _consent_state(consent: Consent, today: date) -> str:
    if consent.withdrawn_on is not None and consent.withdrawn_on <= today:
        return "withdrawn"
    if consent.valid_until is not None and consent.valid_until < today:
        return "expired"
    if consent.obtained_on > today:
        return "not_yet"
    return "valid"


def load(case, user, today: date | None = None) -> CaseStory:
    """The case page of ``case`` (already fetched within ``user``'s scope) for ``user``."""
    today = today or date.today()
    role = user.role
    detail = f"endpoint=case_page.index;case_id={case.id}"
    story = CaseStory(case=case, woman=None)

    story.woman = scoping.get_visible("woman", case.woman_id, user)
    if story.woman is not None:
        audit.record_read("woman", story.woman.id, detail=detail)
        story.companions = list(db.session.scalars(
            scoping.scoped_select("companion", user).where(Companion.woman_id == case.woman_id)
            .order_by(Companion.id)))

    if _may(role, LIST, "consent"):
        consents = list(db.session.scalars(
            scoping.scoped_select("consent", user).where(Consent.woman_id == case.woman_id)
            .options(selectinload(Consent.agency_links).selectinload(ConsentAgency.agency),
                     selectinload(Consent.obtained_by))
            .order_by(Consent.obtained_on.desc(), Consent.id.desc())))
        story.consents = [
            ConsentView(consent=c, state=_consent_state(c, today), lines=sorted(
                (ConsentLine(agency=link.agency, withdrawn_on=link.withdrawn_on,
                             covered_today=c.covers(link.agency_id, today))
                 for link in c.agency_links), key=lambda line: line.agency.name))
            for c in consents]
        audit.record_list("consent", len(consents), detail=detail)

    reviews = []
    if _may(role, LIST, "case_review"):
        reviews = list(db.session.scalars(
            scoping.scoped_select("case_review", user).where(CaseReview.case_id == case.id)
            .options(selectinload(CaseReview.meeting), selectinload(CaseReview.lead_agency))
            .order_by(CaseReview.reviewed_on, CaseReview.id)))
        story.reviews = reviews
        audit.record_list("case_review", len(reviews), detail=detail)
    story.lead_steps = _lead_steps(case, reviews)

    if _may(role, LIST, "role_assignment"):
        rows = list(db.session.scalars(
            scoping.scoped_select("role_assignment", user)
            .where(RoleAssignment.case_id == case.id)
            .options(selectinload(RoleAssignment.agency), selectinload(RoleAssignment.meeting),
                     selectinload(RoleAssignment.ended_meeting),
                     selectinload(RoleAssignment.recorded_by))
            .order_by(RoleAssignment.valid_from, RoleAssignment.id)))
        story.roles = timeline(rows, today)
        held = story.roles.current.get(RoleFunction.main_support, [])
        story.designation = held[0] if held and held[0].designated else None
        audit.record_list("role_assignment", len(rows), detail=detail)

    if _may(role, LIST, "meeting"):
        story.meetings = _meetings(case, reviews, user)
        audit.record_list("meeting", len(story.meetings), detail=detail)

    if _may(role, LIST, "support_record"):
        story.support_records = list(db.session.scalars(
            scoping.scoped_select("support_record", user)
            .where(SupportRecord.case_id == case.id)
            .options(selectinload(SupportRecord.agency))
            .order_by(SupportRecord.recorded_on, SupportRecord.id)))
        audit.record_list("support_record", len(story.support_records), detail=detail)

    interval = review_interval_months()
    story.due_on = review_due_on(case, interval) if case.is_open else None
    story.overdue = is_review_overdue(case, interval, today)
    story.may = {
        "edit_case": _may(role, EDIT, "case"),
        "edit_woman": _may(role, EDIT, "woman"),
        "edit_consent": _may(role, EDIT, "consent"),
        "add_consent": _may(role, CREATE, "consent"),
        "add_review": _may(role, CREATE, "case_review"),
        "add_support_record": _may(role, CREATE, "support_record"),
        "roles": _may(role, LIST, "role_editor"),
        "change_roles": _may(role, CREATE, "role_editor"),
        "case_conference": _may(role, CREATE, "case_conference"),
        "add_to_meeting": _may(role, CREATE, "meeting_case"),
        "access_log": _may(role, LIST, "case_access_log"),
        "review_details": _may(role, DETAILS, "case_review"),
    }
    return story


def _lead_steps(case, reviews) -> list[LeadStep]:
    """The case's own 主担当機関 at 受理, then each 管理記録 that names a different one."""
    steps = [LeadStep(day=case.received_on, agency=case.lead_agency, review=None)]
    for review in reviews:
        if review.lead_agency_id != (steps[-1].agency.id if steps[-1].agency else None):
            steps.append(LeadStep(day=review.reviewed_on, agency=review.lead_agency,
                                  review=review))
    return list(reversed(steps))


def _meetings(case, reviews, user) -> list[MeetingLine]:
    """Meetings that discussed the case (検討ケース) or recorded a 管理記録 of it, newest first,
    as far as the reader may see meetings (an agency: the ones it attended)."""
    links = {link.meeting_id: link for link in db.session.scalars(
        scoping.scoped_select("meeting_case", user).where(MeetingCase.case_id == case.id)
        .options(selectinload(MeetingCase.override_agencies),
                 selectinload(MeetingCase.consent_override_by)))}
    ids = set(links) | {review.meeting_id for review in reviews if review.meeting_id}
    if not ids:
        return []
    meetings = db.session.scalars(
        scoping.scoped_select("meeting", user).where(Meeting.id.in_(ids))
        .options(selectinload(Meeting.agencies))
        .order_by(Meeting.held_on.desc(), Meeting.id.desc()))
    return [MeetingLine(meeting=m, link=links.get(m.id)) for m in meetings]


def open_meetings_for(case, user) -> list[Meeting]:
    """Meetings that discussed the case, for a role change's 'deciding meeting' choice."""
    line_ids = [line.meeting.id for line in _meetings(case, list(db.session.scalars(
        scoping.scoped_select("case_review", user).where(CaseReview.case_id == case.id))), user)]
    if not line_ids:
        return []
    return list(db.session.scalars(select(Meeting).where(Meeting.id.in_(line_ids))
                                   .order_by(Meeting.held_on.desc(), Meeting.id.desc())))
