"""Writing AuditEvents (DOMAIN rule 7): who, when, what, which record, outcome — no personal values.

Two ways an event is written:
- with the change it describes (``with_change=True``): added to the ORM session, so the change
  and its event commit or roll back together (deletes, 住所秘匿 steps, consent overrides);
- everything else (reads, lists, exports, denials, logins): collected during the request and
  inserted after it on a connection of its own, so recording a read neither flushes nor expires
  the rows a page or a streamed export is still rendering, and a 403/404 is still recorded.
"""

from flask import g, has_request_context, request
from flask_login import current_user

from kyogikai.models import AuditAction, AuditEvent, AuditOutcome, db
from kyogikai.models.base import utcnow
from kyogikai.policy.resources import RESOURCES

__all__ = ["commit_pending", "record", "record_list", "record_not_found", "record_read"]


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
    with_change: bool = False,
) -> None:
    """Record one event; see the module docstring for when it reaches the database."""
    values = {
        "occurred_at": utcnow(),
        "user_id": user_id if user_id is not None else _current_user_id(),
        "login_attempted": login_attempted[:64],
        "action": action,
        "outcome": outcome,
        "object_type": object_type,
        "object_id": object_id,
        "detail": detail[:1000],
        "remote_addr": _remote_addr(),
    }
    if with_change:
        db.session.add(AuditEvent(**values))
    elif has_request_context():
        g.setdefault("pending_audit_events", []).append(values)
    else:
        _insert([values])


def record_read(resource: str, record_id, detail: str = "") -> None:
    """A person read one record of ``resource`` (personal resources only: rule 7 is about
    personal data; reading an agency's entry is not an event)."""
    if RESOURCES.get(resource) is not None and RESOURCES[resource].personal:
        record(AuditAction.view_record, object_type=resource, object_id=record_id,
               detail=detail or _endpoint())


def record_list(resource: str, rows: int, total: int | None = None, *, export_format: str = "",
                detail: str = "") -> None:
    """A person saw (or exported) a list of ``rows`` records of ``resource``, out of ``total``."""
    parts = [f"rows={rows}"] + ([f"total={total}"] if total is not None else [])
    if export_format:
        parts.append(f"format={export_format}")
    if detail:
        parts.append(detail)
    record(AuditAction.export if export_format else AuditAction.view_list,
           object_type=resource, detail=";".join(parts))


def record_lookup(resource: str, ids, endpoint: str) -> None:
    """A look-up (a picker's type-to-search, a check while typing) showed these records of
    ``resource`` by name: one event per record, so a case's 閲覧記録 lists the look-ups that
    revealed it or its woman; a look-up that found nothing is one event with no record."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        record(AuditAction.view_list, object_type=resource, detail=f"rows=0;endpoint={endpoint}")
    for record_id in ids:
        record(AuditAction.view_list, object_type=resource, object_id=record_id,
               detail=f"endpoint={endpoint}")


def record_not_found(resource: str, record_id) -> None:
    """A missing or out-of-scope record was asked for: the same 404 either way, recorded."""
    record(AuditAction.denied, outcome=AuditOutcome.denied, object_type=resource,
           object_id=record_id, detail=f"{_endpoint()};not_found_or_out_of_scope")


def _endpoint() -> str:
    return f"endpoint={request.endpoint}" if has_request_context() else ""


def _insert(rows: list[dict]) -> None:
    with db.engine.begin() as connection:
        connection.execute(AuditEvent.__table__.insert(), rows)


def commit_pending(response):
    """after_request: persist the events this request collected."""
    rows = g.pop("pending_audit_events", None)
    if rows:
        _insert(rows)
    return response
