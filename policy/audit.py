"""Writing AuditEvents (DOMAIN rule 7): who, when, what, which record, outcome — no personal values."""

from flask import has_request_context, request
from flask_login import current_user

from models import AuditAction, AuditEvent, AuditOutcome, db

__all__ = ["AuditAction", "AuditOutcome", "commit_pending", "record"]


def _remote_addr() -> str:
    return (request.remote_addr or "")[:45] if has_request_context() else ""


def _current_user_id() -> int | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def record(
    action: AuditAction,
    *,
    outcome: AuditOutcome = AuditOutcome.success,
    object_type: str = "",
    object_id: int | None = None,
    detail: str = "",
    user_id: int | None = None,
    login_attempted: str = "",
    commit: bool = False,
) -> AuditEvent:
    """Add one event to the session.

    By default it is committed with the change it describes, or at the end of the request
    (``commit_pending``), so a read's audit does not expire the rows the page is rendering.
    """
    event = AuditEvent(
        user_id=user_id if user_id is not None else _current_user_id(),
        login_attempted=login_attempted[:64],
        action=action,
        outcome=outcome,
        object_type=object_type,
        object_id=object_id,
        detail=detail[:1000],
        remote_addr=_remote_addr(),
    )
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


def commit_pending(response):
    """after_request: persist the events a request recorded (reads, lists, denials)."""
    if any(isinstance(obj, AuditEvent) for obj in db.session.new):
        db.session.commit()
    return response
