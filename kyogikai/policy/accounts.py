"""Accounts through their whole life, with separation of duties.

システム管理者 creates, re-roles, deactivates, reactivates, unlocks and resets accounts. An account
that can read case content (every role the matrix lets list a personal resource: 調整担当者,
事務担当, 管理職, 関係機関担当者) is *pending* after any step that could hand it to someone new —
created, re-roled, moved to another agency, reactivated, password or second factor reset — until
a 調整担当者 other than the account itself and the person who asked approves it. A pending
account cannot sign in, so no single person can grant case access. The very first coordinator
comes from the command line at installation (``create-user``), when no approved one exists.

Every step ends the account's sessions where it changes who may use it, and is audited.
"""

from flask_babel import gettext as _
from sqlalchemy import inspect, select

from kyogikai.models import ApprovalReason, AuditAction, AuditOutcome, Role, User, db
from kyogikai.models.base import utcnow
from kyogikai.policy import audit, second_factor, sessions, throttling
from kyogikai.policy.authentication import hash_password, verify_password
from kyogikai.policy.matrix import EDIT, LIST, PERSONAL_RESOURCES, allowed
from kyogikai.policy.passwords import password_problems


class AccountError(Exception):
    """A refused step; the message is Japanese, for the screen."""


def reads_case_content(role: Role | None) -> bool:
    """Derived from the matrix: may this role list any resource holding case content?"""
    return any(allowed(role, LIST, resource) for resource in PERSONAL_RESOURCES)


def _record(action: AuditAction, user: User, detail: str,
            outcome: AuditOutcome = AuditOutcome.success) -> None:
    audit.record(action, outcome=outcome, object_type="user", object_id=user.id,
                 login_attempted=user.login, detail=detail, with_change=True)


def request_approval(user: User, reason: ApprovalReason, requested_by: User | None) -> None:
    """Put an account that can read case content on hold until a coordinator approves it."""
    if not reads_case_content(user.role):
        return
    user.approval_pending = reason
    user.approval_requested_by_id = requested_by.id if requested_by is not None else None
    user.approval_requested_at = utcnow()
    if user.id is None:
        db.session.flush()
    _record(AuditAction.account_approval, user, f"requested={reason.value}")


def set_password_by_admin(user: User, password: str) -> None:
    """A reset: the person must choose her own password at the next sign-in."""
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.password_changed_at = utcnow()


def after_admin_save(user: User, is_created: bool, actor: User, password_reset: bool) -> None:
    """What an administrator's save of an account means for its sessions and its approval."""
    if is_created:
        request_approval(user, ApprovalReason.created, actor)
        return
    state = inspect(user)

    def changed(name):
        return state.attrs[name].history.has_changes()

    role_changed = changed("role")
    agency_changed = changed("agency_id") or changed("agency")
    history = state.attrs.active.history
    reactivated = bool(history.deleted) and not history.deleted[0] and bool(user.active)
    deactivated = bool(history.deleted) and history.deleted[0] and not user.active
    if role_changed or agency_changed or deactivated or password_reset:
        sessions.end_all(user.id)
    details = [name for name, flag in (("role", role_changed), ("agency", agency_changed),
                                       ("deactivated", deactivated),
                                       ("reactivated", reactivated),
                                       ("password_reset", password_reset)) if flag]
    if details:
        _record(AuditAction.account_change, user, "changed=" + ",".join(details))
    if not reads_case_content(user.role):
        _clear_request(user)
    elif role_changed:
        request_approval(user, ApprovalReason.role_changed, actor)
    elif agency_changed:
        request_approval(user, ApprovalReason.agency_changed, actor)
    elif reactivated:
        request_approval(user, ApprovalReason.reactivated, actor)
    elif password_reset:
        request_approval(user, ApprovalReason.password_reset, actor)


def deactivate(user: User) -> None:
    if not user.active:
        return
    user.active = False
    sessions.end_all(user.id)
    _record(AuditAction.account_change, user, "changed=deactivated")


def reactivate(user: User, actor: User) -> None:
    if user.active:
        return
    user.active = True
    _record(AuditAction.account_change, user, "changed=reactivated")
    request_approval(user, ApprovalReason.reactivated, actor)


def unlock(user: User) -> int:
    """Clear the sign-in throttles on this login from every address; return how many."""
    rows = throttling.rows_for_login(user.login)
    throttling.clear(rows)
    _record(AuditAction.account_change, user, f"changed=unlocked;cleared={len(rows)}")
    return len(rows)


def reset_second_factor(user: User, actor: User) -> None:
    """The phone is lost and so are the recovery codes: the person enrols again."""
    if not user.has_second_factor and not user.totp_secret_sealed:
        return
    second_factor.remove(user, detail="reset_by_admin")
    sessions.end_all(user.id)
    request_approval(user, ApprovalReason.second_factor_reset, actor)


def pending_accounts() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.approval_pending.is_not(None), User.active.is_(True))
        .order_by(User.approval_requested_at)).all())


def _check_approver(user: User, approver: User) -> None:
    if user.approval_pending is None:
        raise AccountError(_("このアカウントは承認待ちではありません。"))
    if not allowed(approver.role, EDIT, "account_approval"):
        raise AccountError(_("アカウントを承認できるのは調整担当者だけです。"))
    if approver.id == user.id:
        raise AccountError(_("自分のアカウントは承認できません。別の調整担当者が承認してください。"))
    if approver.id == user.approval_requested_by_id:
        raise AccountError(_("変更を依頼した本人は承認できません。別の調整担当者が承認してください。"))


def _clear_request(user: User) -> None:
    user.approval_pending = None
    user.approval_requested_by_id = None
    user.approval_requested_at = None


def approve(user: User, approver: User) -> None:
    _check_approver(user, approver)
    reason = user.approval_pending
    _clear_request(user)
    user.approved_by_id = approver.id
    user.approved_at = utcnow()
    _record(AuditAction.account_approval, user, f"approved={reason.value}")


def reject(user: User, approver: User) -> None:
    """Refused: the account is deactivated; the administrator may correct and ask again."""
    _check_approver(user, approver)
    reason = user.approval_pending
    _clear_request(user)
    user.active = False
    sessions.end_all(user.id)
    _record(AuditAction.account_approval, user, f"rejected={reason.value}",
            outcome=AuditOutcome.denied)


def change_own_password(user: User, current: str, new: str, confirm: str) -> list[str]:
    """Refusal messages, or [] when changed. Every other session of the account ends."""
    if not verify_password(user.password_hash, current):
        audit.record(AuditAction.password_change, outcome=AuditOutcome.failure,
                     object_type="user", object_id=user.id, detail="wrong_current")
        return [_("現在のパスワードが正しくありません。")]
    if new != confirm:
        return [_("新しいパスワードと確認用の入力が一致しません。")]
    if verify_password(user.password_hash, new):
        return [_("現在と同じパスワードは使えません。")]
    problems = password_problems(new, user.login, (user.display_name,))
    if problems:
        return problems
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    sessions.end_all(user.id)
    _record(AuditAction.password_change, user, "self")
    return []


def may_bootstrap_coordinator() -> bool:
    """The command line may create an approved coordinator only while none can sign in."""
    return db.session.scalar(select(User.id).where(
        User.role == Role.coordinator, User.active.is_(True),
        User.approval_pending.is_(None)).limit(1)) is None
