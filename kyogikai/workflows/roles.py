"""The role editor's steps: change the holders of a function, correct a row, designate a
主たる支援機関 under 要綱 4(3)③. The history rules are models.roles'; who may do what is the
matrix's (role_editor, main_support_designation); every new or closed row is audited."""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from kyogikai.models import Agency, AuditAction, Meeting, RoleAssignment, RoleFunction, db
from kyogikai.models import roles as history
from kyogikai.policy import audit, masking
from kyogikai.policy import roles as _designation_guard  # noqa: F401 (registers the guard)
from kyogikai.policy.matrix import CREATE, allowed
from kyogikai.workflows import Problems, WorkflowError
from kyogikai.workflows.freshness import case_token


def may_change(user) -> bool:
    return allowed(user.role, CREATE, "role_editor")


def may_designate(user) -> bool:
    return allowed(user.role, CREATE, "main_support_designation")


def audit_change(change: history.Change) -> None:
    """One event per row started and per row closed (field names only, never values)."""
    db.session.flush()
    for row in change.started:
        audit.record(AuditAction.create, object_type="role_assignment", object_id=row.id,
                     detail=f"case_id={row.case_id};function={row.function.value}"
                     + (";designated" if row.designated else "")
                     + (f";corrects={row.corrects_id}" if row.corrects_id else ""),
                     with_change=True)
    for row in change.ended:
        audit.record(AuditAction.update, object_type="role_assignment", object_id=row.id,
                     detail="fields=valid_to,ended_meeting", with_change=True)


def _check_text(problems: Problems, text: str, field: str, label: str, user) -> None:
    try:
        masking.check_free_text(text, user, label=label)
    except masking.HiddenAddressInText as error:
        problems.add(str(error), field)


def _agencies(ids) -> list[Agency]:
    ids = [int(i) for i in ids if i is not None]
    found = {a.id: a for a in db.session.scalars(select(Agency).where(Agency.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _meeting(meeting_id, allowed_meetings, problems: Problems, field="meeting",
             required=True) -> Meeting | None:
    meeting = next((m for m in allowed_meetings if m.id == meeting_id), None)
    if meeting is None and (required or meeting_id is not None):
        problems.add(_("決定した会議を、このケースを取り上げた会議から選んでください。"), field)
    return meeting


def change(case, user, *, function: RoleFunction, agency_ids, meeting_id: int | None,
           day: date | None, note: str, seen: str, meetings) -> history.Change:
    """The deciding meeting (one of ``meetings``, those that discussed the case) settled who
    holds ``function`` from ``day`` (default: the meeting date)."""
    if not may_change(user):
        raise WorkflowError([_("役割分担を記録できるのは調整担当者だけです。")])
    problems = Problems()
    if seen != case_token(case.id):
        problems.add(_("この画面を開いた後に、このケースが他の利用者によって更新されました。"
                       "画面を開き直して確かめてから、もう一度操作してください。"))
    meeting = _meeting(meeting_id, meetings, problems)
    agencies = _agencies(agency_ids)
    if len(agencies) != len([a for a in agency_ids if a is not None]):
        problems.add(_("選択肢から選んでください。"), "agencies")
    _check_text(problems, note, "note", _("備考"), user)
    problems.raise_if_any()
    try:
        result = history.set_holders(case, function, [a.id for a in agencies],
                                     day=day or meeting.held_on, meeting=meeting,
                                     user_id=user.id, note=(note or "").strip())
    except history.RoleError as error:
        raise WorkflowError([str(error)]) from error
    if not result:
        raise WorkflowError([_("変更はありません（選んだ機関が既に担っています）。")])
    audit_change(result)
    return result


def correct(case, user, *, row_id: int | None, reason: str, cancel: bool,
            agency_id: int | None, valid_from: date | None, valid_to: date | None,
            seen: str) -> RoleAssignment:
    """A mistaken row of this case corrected (or cancelled) by a new row that says so."""
    if not may_change(user):
        raise WorkflowError([_("役割分担を記録できるのは調整担当者だけです。")])
    row = db.session.scalar(select(RoleAssignment).where(
        RoleAssignment.id == row_id, RoleAssignment.case_id == case.id)) if row_id else None
    problems = Problems()
    if row is None:
        problems.add(_("訂正する行が見つかりません。"))
    if seen != case_token(case.id):
        problems.add(_("この画面を開いた後に、このケースが他の利用者によって更新されました。"
                       "画面を開き直して確かめてから、もう一度操作してください。"))
    if row is not None and row.designated and not may_designate(user):
        problems.add(_("要綱4(3)③の指定を訂正できるのは調整担当者だけです。"))
    if not (reason or "").strip():
        problems.add(_("訂正には、その理由を入力してください。"), "reason")
    _check_text(problems, reason, "reason", _("訂正の理由"), user)
    if agency_id is not None and not _agencies([agency_id]):
        problems.add(_("選択肢から選んでください。"), "agency")
    problems.raise_if_any()
    try:
        fixed = history.correct(row, reason=reason, user_id=user.id, agency_id=agency_id,
                                valid_from=valid_from, valid_to=valid_to, cancel=cancel)
    except history.RoleError as error:
        raise WorkflowError([str(error)]) from error
    audit_change(history.Change(started=[fixed]))
    return fixed


def designate(case, user, *, agency_id: int | None, meeting_id: int | None, day: date | None,
              reason: str, seen: str, meetings) -> history.Change:
    """要綱 4(3)③, by a 調整担当者 only: the date, the meeting and the reason are recorded."""
    if not may_designate(user):
        raise WorkflowError([_("主たる支援機関の指定（要綱4(3)③）は調整担当者だけが行えます。")])
    problems = Problems()
    if seen != case_token(case.id):
        problems.add(_("この画面を開いた後に、このケースが他の利用者によって更新されました。"
                       "画面を開き直して確かめてから、もう一度操作してください。"))
    meeting = _meeting(meeting_id, meetings, problems, field="designation_meeting")
    agencies = _agencies([agency_id]) if agency_id else []
    if not agencies:
        problems.add(_("指定する機関を選んでください。"), "designation_agency")
    if not (reason or "").strip():
        problems.add(_("要綱4(3)③の指定には、その理由を入力してください。"), "designation_reason")
    _check_text(problems, reason, "designation_reason", _("指定の理由"), user)
    problems.raise_if_any()
    try:
        result = history.designate_main_support(
            case, agencies[0].id, day=day or meeting.held_on, meeting=meeting, reason=reason,
            user_id=user.id)
    except history.RoleError as error:
        raise WorkflowError([str(error)]) from error
    audit_change(result)
    return result


def end_previous(row: RoleAssignment, user) -> history.Change:
    """A row entered on the generic 役割分担 form: the previous holder of a single-holder function
    is ended as of its start, by the same meeting, so the history stays one holder at a time."""
    if row.designated and not may_designate(user):
        raise WorkflowError([_("主たる支援機関の指定（要綱4(3)③）は調整担当者だけが行えます。")])
    change_ = history.Change(started=[row])
    if row.function.single_holder and row.case_id is not None:
        for held in history.holders_on(history.rows_of(row.case_id), row.valid_from).get(
                row.function, []):
            if held is not row and held.id is not None:
                try:
                    history.end_row(held, row.valid_from, row.meeting_id)
                except history.RoleError as error:
                    raise WorkflowError([str(error)]) from error
                change_.ended.append(held)
    return change_
