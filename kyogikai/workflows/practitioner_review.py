"""実務者会議 (要綱 4(2)イ i): every open case followed up on one screen.

One row per open case shows its last 管理記録 and current 主担当機関; the clerk records, for
this meeting, what changed — 状況等, 主担当機関, 危険度, 緊急度, whether a 個別ケース検討会議 is
needed. One save writes one CaseReview per case changed, all in the caller's transaction. Loading
is a fixed number of queries whatever the number of cases (bench/ measures it at 200).
"""

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from kyogikai.models import (
    Agency,
    AuditAction,
    Case,
    CaseReview,
    Level,
    Meeting,
    MeetingKind,
    db,
)
from kyogikai.models.cases import ENDED_STATUSES
from kyogikai.policy import audit, masking, scoping
from kyogikai.policy.matrix import CREATE, allowed
from kyogikai.workflows import Problems, WorkflowError
from kyogikai.workflows.freshness import case_tokens


def may_record(user) -> bool:
    return allowed(user.role, CREATE, "practitioner_review")


@dataclass
class Row:
    case: Case
    last_review: CaseReview | None
    recorded: CaseReview | None  # already recorded at this meeting (shown, not typed again)
    token: str


@dataclass
class RowInput:
    case_id: int
    seen: str = ""
    situation: str = ""
    lead_agency_id: int | None = None
    risk_level: Level | None = None
    urgency: Level | None = None
    needs_conference: bool = False


def meetings(user, limit: int = 20) -> list[Meeting]:
    """Recent 実務者会議 the user may see, newest first."""
    return list(db.session.scalars(
        scoping.scoped_select("meeting", user).where(Meeting.kind == MeetingKind.practitioner)
        .order_by(Meeting.held_on.desc(), Meeting.id.desc()).limit(limit)))


def create_meeting(held_on: date | None, place: str, agency_ids, user) -> Meeting:
    if not may_record(user):
        raise WorkflowError([_("この操作を行う権限がありません。")])
    problems = Problems()
    if held_on is None:
        problems.add(_("開催日を入力してください。"), "held_on")
    try:
        masking.check_free_text(place, user, label=_("場所"))
    except masking.HiddenAddressInText as error:
        problems.add(str(error), "place")
    problems.raise_if_any()
    agencies = list(db.session.scalars(select(Agency).where(Agency.id.in_(agency_ids)))) \
        if agency_ids else []
    meeting = Meeting(kind=MeetingKind.practitioner, held_on=held_on, place=(place or "").strip(),
                      agencies=agencies)
    db.session.add(meeting)
    db.session.flush()
    audit.record(AuditAction.create, object_type="meeting", object_id=meeting.id,
                 detail="endpoint=practitioner_review", with_change=True)
    return meeting


def open_cases(user):
    """The open cases the user may see, by 年度 and number."""
    return (scoping.scoped_select("case", user).where(Case.status.not_in(ENDED_STATUSES))
            .order_by(Case.fiscal_year, Case.serial))


def rows(meeting: Meeting, user) -> list[Row]:
    """Every open case with its last 管理記録 and what this meeting already recorded."""
    cases = list(db.session.scalars(open_cases(user).options(
        joinedload(Case.woman), joinedload(Case.current_lead_agency))))
    ids = [case.id for case in cases]
    latest = {}
    if ids:
        rank = func.row_number().over(partition_by=CaseReview.case_id,
                                      order_by=(CaseReview.reviewed_on.desc(),
                                                CaseReview.id.desc())).label("rank")
        ranked = (select(CaseReview.id, rank).where(CaseReview.case_id.in_(ids)).subquery())
        latest = {review.case_id: review for review in db.session.scalars(
            select(CaseReview).join(ranked, ranked.c.id == CaseReview.id)
            .where(ranked.c.rank == 1).options(joinedload(CaseReview.lead_agency),
                                               joinedload(CaseReview.meeting)))}
    recorded = {review.case_id: review for review in db.session.scalars(
        select(CaseReview).where(CaseReview.meeting_id == meeting.id,
                                 CaseReview.case_id.in_(ids)))} if ids else {}
    tokens = case_tokens(ids)
    audit.record_list("case", len(cases), detail=f"endpoint=practitioner_review;"
                      f"meeting_id={meeting.id}")
    return [Row(case=case, last_review=latest.get(case.id), recorded=recorded.get(case.id),
                token=tokens.get(case.id, "")) for case in cases]


def changed(case: Case, item: RowInput) -> bool:
    """Whether the row says anything new: a 状況等, a different 主担当機関 or judgment, or the
    need for a 個別ケース検討会議."""
    return bool(item.situation.strip() or item.needs_conference
                or item.lead_agency_id != case.current_lead_agency_id
                or item.risk_level != case.current_risk_level
                or item.urgency != case.current_urgency)


def record(meeting: Meeting, items: list[RowInput], user) -> list[CaseReview]:
    """One CaseReview per changed case, dated the meeting. Raises WorkflowError naming every
    refused row (field names ``r-<case id>-<field>``); the caller rolls back then."""
    if not may_record(user):
        raise WorkflowError([_("この操作を行う権限がありません。")])
    if meeting.kind is not MeetingKind.practitioner:
        raise WorkflowError([_("実務者会議を選んでください。")])
    problems = Problems()
    ids = [item.case_id for item in items]
    cases = {case.id: case for case in db.session.scalars(
        open_cases(user).where(Case.id.in_(ids)))} if ids else {}
    done = set(db.session.scalars(select(CaseReview.case_id).where(
        CaseReview.meeting_id == meeting.id, CaseReview.case_id.in_(ids)))) if ids else set()
    todo = []
    for item in items:
        case = cases.get(item.case_id)
        if case is None or case.id in done or not changed(case, item):
            continue
        todo.append((case, item))
    tokens = case_tokens([case.id for case, _item in todo])
    for case, item in todo:
        if item.seen != tokens.get(case.id):
            problems.add(_("%(number)s は、この画面を開いた後に他の利用者によって更新されました。"
                           "画面を開き直して確かめてから、もう一度入力してください。",
                           number=case.number), f"r-{case.id}-situation")
        try:
            masking.check_free_text(item.situation, user, label=_("%(number)s の状況等",
                                                                  number=case.number))
        except masking.HiddenAddressInText as error:
            problems.add(str(error), f"r-{case.id}-situation")
    if problems.fields:
        problems.add(_("保存できなかったケースがあります（%(count)s件）。何も保存していません。",
                       count=len(problems.fields)))
    problems.raise_if_any()
    if not todo:
        raise WorkflowError([_("変更されたケースがありません。")])
    reviews = []
    for case, item in todo:
        review = CaseReview(case=case, meeting=meeting, reviewed_on=meeting.held_on,
                            lead_agency_id=item.lead_agency_id, risk_level=item.risk_level,
                            urgency=item.urgency, situation=item.situation.strip(),
                            needs_conference=item.needs_conference)
        db.session.add(review)
        reviews.append(review)
    db.session.flush()
    for review in reviews:
        audit.record(AuditAction.create, object_type="case_review", object_id=review.id,
                     detail=f"case_id={review.case_id};meeting_id={meeting.id}",
                     with_change=True)
    return reviews
