"""個別ケース検討会議 in one step (調整担当者, 要綱 4(2)ウ).

One save writes the Meeting with its attending agencies and members, and per case the
MeetingCase (behind the consent gate, with an override in place when needed), the 管理記録
(危険度・緊急度, 状況等, 支援方針, 主担当機関), the role changes decided, the status and the next
date; then the 決定事項 and 議事録. Everything goes into the caller's transaction: if any part is
refused, the caller rolls back and nothing of it remains.
"""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from kyogikai.models import (
    Agency,
    AuditAction,
    Case,
    CaseReview,
    CaseStatus,
    Level,
    Meeting,
    MeetingCase,
    MeetingKind,
    Member,
    RoleFunction,
    db,
)
from kyogikai.models import roles as history
from kyogikai.models.cases import ENDED_STATUSES
from kyogikai.policy import audit, consent, masking, scoping
from kyogikai.policy.matrix import CREATE, allowed
from kyogikai.workflows import Problems, WorkflowError
from kyogikai.workflows.freshness import case_tokens
from kyogikai.workflows.roles import audit_change

KIND = MeetingKind.case_conference


@dataclass
class CaseInput:
    """What was decided about one case at the meeting."""

    case_id: int | None
    seen: str = ""
    risk_level: Level | None = None
    urgency: Level | None = None
    situation: str = ""
    support_policy: str = ""
    status: CaseStatus | None = None
    end_reason: str = ""
    lead_agency_id: int | None = None
    roles: dict = field(default_factory=dict)  # RoleFunction → [agency id, …]
    next_meeting_on: date | None = None
    override_reason: str = ""


@dataclass
class ConferenceInput:
    held_on: date | None = None
    place: str = ""
    agency_ids: list[int] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    agenda: str = ""
    cases: list[CaseInput] = field(default_factory=list)
    decisions: str = ""
    minutes: str = ""


def may_record(user) -> bool:
    return allowed(user.role, CREATE, "case_conference")


def visible_cases(case_ids, user) -> dict[int, Case]:
    ids = [i for i in case_ids if i is not None]
    if not ids:
        return {}
    return {case.id: case for case in db.session.scalars(
        scoping.scoped_select("case", user).where(Case.id.in_(ids)))}


def agencies_by_id(ids) -> list[Agency]:
    ids = list(dict.fromkeys(i for i in ids if i is not None))
    found = {a.id: a for a in db.session.scalars(select(Agency).where(Agency.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def gate(held_on: date | None, agency_ids, case_ids, user) -> dict[int, list[Agency]]:
    """The live answer while the form is filled in: per visible case, the attending agencies
    no consent covers on the meeting date."""
    cases = visible_cases(case_ids, user)
    agencies = agencies_by_id(agency_ids)
    audit.record_list("consent", len(cases), detail="endpoint=case_conference.gate")
    return consent.preview(list(cases.values()), agencies, held_on, KIND)


def _text(problems: Problems, user, name: str, label, text: str) -> None:
    try:
        masking.check_free_text(text, user, label=str(label))
    except masking.HiddenAddressInText as error:
        problems.add(str(error), name)


def record(data: ConferenceInput, user) -> Meeting:
    """Write the whole meeting; raise WorkflowError (messages and per-field problems) when any
    part is refused. The caller commits, or rolls back on error."""
    if not may_record(user):
        raise WorkflowError([_("個別ケース検討会議を記録できるのは調整担当者だけです。")])
    problems = Problems()
    if data.held_on is None:
        problems.add(_("開催日を入力してください。"), "held_on")
    agencies = agencies_by_id(data.agency_ids)
    if not agencies:
        problems.add(_("出席機関を選んでください。"), "agencies")
    members = list(db.session.scalars(select(Member).where(Member.id.in_(data.member_ids)))) \
        if data.member_ids else []
    for name, label in (("place", _("場所")), ("agenda", _("議題")),
                        ("decisions", _("決定事項")), ("minutes", _("議事録"))):
        _text(problems, user, name, label, getattr(data, name))
    if not data.cases:
        problems.add(_("検討するケースを選んでください。"), "cases")
    cases = visible_cases([c.case_id for c in data.cases], user)
    tokens = case_tokens(cases)
    seen_ids = set()
    for index, item in enumerate(data.cases):
        prefix = f"cases-{index}-"
        case = cases.get(item.case_id)
        if case is None:
            problems.add(_("ケースが見つかりません。"), prefix + "case_id")
            continue
        if item.case_id in seen_ids:
            problems.add(_("%(number)s が二度選ばれています。", number=case.number),
                         prefix + "case_id")
        seen_ids.add(item.case_id)
        if not case.is_open:
            problems.add(_("%(number)s は終結・移管しています。", number=case.number),
                         prefix + "case_id")
        if item.seen and item.seen != tokens.get(case.id):
            problems.add(_("%(number)s は、この画面に加えた後に他の利用者によって更新されました。"
                           "そのケースを外して加え直し、内容を確かめてください。",
                           number=case.number), prefix + "case_id")
        if item.status in ENDED_STATUSES and not item.end_reason.strip():
            problems.add(_("終結・移管には、その理由を入力してください。"), prefix + "end_reason")
        for name, label in (("situation", _("状況等")), ("support_policy", _("支援方針")),
                            ("end_reason", _("終結・移管の理由")),
                            ("override_reason", _("同意確認の緊急例外の理由"))):
            _text(problems, user, prefix + name, label, getattr(item, name))
    problems.raise_if_any()

    nexts = [item.next_meeting_on for item in data.cases if item.next_meeting_on]
    meeting = Meeting(kind=KIND, held_on=data.held_on, place=data.place.strip(),
                      agenda=data.agenda.strip(), decisions=data.decisions.strip(),
                      minutes=data.minutes.strip(), agencies=agencies, members=members,
                      next_meeting_on=min(nexts) if nexts else None)
    db.session.add(meeting)
    db.session.flush()
    audit.record(AuditAction.create, object_type="meeting", object_id=meeting.id,
                 detail=f"endpoint=case_conference;cases={len(data.cases)}", with_change=True)
    for index, item in enumerate(data.cases):
        _record_case(meeting, cases[item.case_id], item, f"cases-{index}-", user, problems)
    problems.raise_if_any()
    db.session.flush()
    return meeting


def _record_case(meeting, case, item: CaseInput, prefix: str, user, problems: Problems):
    link = MeetingCase(meeting=meeting, case=case, next_meeting_on=item.next_meeting_on)
    db.session.add(link)
    try:
        consent.check_link(link, user, reason=item.override_reason)
    except consent.ConsentGateError as error:
        problems.add(str(error), prefix + "override_reason")
        return
    review = CaseReview(case=case, meeting=meeting, reviewed_on=meeting.held_on,
                        lead_agency_id=item.lead_agency_id, risk_level=item.risk_level,
                        urgency=item.urgency, situation=item.situation.strip(),
                        support_policy=item.support_policy.strip())
    db.session.add(review)
    db.session.flush()
    audit.record(AuditAction.create, object_type="meeting_case", object_id=link.id,
                 detail=f"case_id={case.id}", with_change=True)
    audit.record(AuditAction.create, object_type="case_review", object_id=review.id,
                 detail=f"case_id={case.id};meeting_id={meeting.id}", with_change=True)
    rows = history.rows_of(case.id)
    change = history.Change()
    for function in RoleFunction:
        if function not in item.roles:
            continue
        try:
            change.extend(history.set_holders(case, function, item.roles[function],
                                              day=meeting.held_on, meeting=meeting,
                                              user_id=user.id, rows=rows))
        except history.RoleError as error:
            problems.add(str(error), prefix + function.value)
    if change:
        audit_change(change)
    if item.status is not None and item.status is not case.status:
        case.status = item.status
        if item.status in ENDED_STATUSES:
            case.ended_on, case.end_reason = meeting.held_on, item.end_reason.strip()
        found = case.problems()
        if found:
            for message in found:
                problems.add(message, prefix + "status")
            return
        audit.record(AuditAction.update, object_type="case", object_id=case.id,
                     detail="fields=status" + (",ended_on,end_reason"
                                               if item.status in ENDED_STATUSES else ""),
                     with_change=True)
