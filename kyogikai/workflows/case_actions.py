"""Small steps started from the case page: close or transfer the case, withdraw a consent for
one agency. Each checks the matrix, the domain rules and the hidden-address rule, and audits."""

from datetime import date

from flask_babel import gettext as _

from kyogikai.models import AuditAction, CaseStatus, db
from kyogikai.models.cases import ENDED_STATUSES
from kyogikai.policy import audit, masking
from kyogikai.policy.matrix import EDIT, allowed
from kyogikai.workflows import Problems, WorkflowError
from kyogikai.workflows.freshness import case_token


def end_case(case, user, *, status: CaseStatus, ended_on: date | None, reason: str,
             seen: str) -> None:
    """終結 or 移管: the status, the date and the reason, in the caller's transaction."""
    if not allowed(user.role, EDIT, "case"):
        raise WorkflowError([_("この操作を行う権限がありません。")])
    problems = Problems()
    if status not in ENDED_STATUSES:
        problems.add(_("終結か移管を選んでください。"), "status")
    if seen != case_token(case.id):
        problems.add(_("この画面を開いた後に、このケースが他の利用者によって更新されました。"
                       "ページを開き直して確かめてから、もう一度操作してください。"))
    try:
        masking.check_free_text(reason, user, label=_("終結・移管の理由"))
    except masking.HiddenAddressInText as error:
        problems.add(str(error), "end_reason")
    problems.raise_if_any()
    case.status, case.ended_on, case.end_reason = status, ended_on, (reason or "").strip()
    found = case.problems()
    if found:
        raise WorkflowError(found)
    audit.record(AuditAction.update, object_type="case", object_id=case.id,
                 detail="fields=status,ended_on,end_reason", with_change=True)


def withdraw_consent(consent, agency_id: int, day: date | None, user) -> None:
    """The woman withdrew her consent for one agency (the others stay covered)."""
    if not allowed(user.role, EDIT, "consent"):
        raise WorkflowError([_("この操作を行う権限がありません。")])
    if day is None:
        raise WorkflowError([], {"withdrawn_on": [_("撤回日を入力してください。")]})
    try:
        consent.withdraw_for(agency_id, day)
    except ValueError as error:
        raise WorkflowError([str(error)]) from error
    db.session.flush()
    audit.record(AuditAction.update, object_type="consent", object_id=consent.id,
                 detail=f"withdrawn_for_agency={agency_id}",
                 with_change=True)
