"""Values every page reads besides the user, loaded with the user in one statement.

The navbar shows the unread notices of the person signed in; the ledger and the home page need
the council's review interval; masking needs the hidden addresses' generation token (read before
the addresses it labels, see policy.masking), and the agency scope the token of who sees which
case (read before the cases it labels, see policy.scoping). The user loader (policy.sessions)
fetches them in the statement that loads the user, and keeps them in ``g`` for the rest of the
request: statements fewer on every page. A flush or an UPDATE/DELETE that touches a notice or the council drops them, so
a page never shows a value older than the request's own changes.
"""

from flask import g, has_app_context
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from kyogikai.models import Council, Notice, ScopeGeneration, db
from kyogikai.models.council import DEFAULT_REVIEW_INTERVAL_MONTHS
from kyogikai.models.generation import SCOPE_TRIGGERS
from kyogikai.models.women import generation_token

KEYS = ("unread_notices", "review_interval", "address_generation", "scope_generation")


def unread_column(user_id_column):
    """SQL: the number of unread notices of that user."""
    return (select(func.count(Notice.id))
            .where(Notice.user_id == user_id_column, Notice.read_at.is_(None))
            .scalar_subquery())


def interval_column():
    """SQL: the council's review interval (NULL until a council is set up)."""
    return (select(Council.review_interval_months).order_by(Council.id).limit(1)
            .scalar_subquery())


def generation_column():
    """SQL: the hidden addresses' generation token (NULL: not to be trusted, see models.women)."""
    return generation_token(db.engine.dialect.name)


def scope_generation_column():
    """SQL: the generation token of who sees which case (NULL: not to be trusted)."""
    return SCOPE_TRIGGERS.token(ScopeGeneration, db.engine.dialect.name)


def remember(user_id: int, unread: int | None, interval: int | None,
             addresses: int | None, scope: int | None) -> None:
    g.unread_notices = (user_id, unread or 0)
    g.review_interval = interval or DEFAULT_REVIEW_INTERVAL_MONTHS
    g.address_generation = addresses
    g.scope_generation = scope


def unread_notices(user_id: int) -> int | None:
    """The count loaded with this user in this request, or None (then ask the database)."""
    if not has_app_context():
        return None
    cached = g.get("unread_notices")
    return cached[1] if cached is not None and cached[0] == user_id else None


def forget() -> None:
    if has_app_context():
        for key in KEYS:
            g.pop(key, None)


@event.listens_for(Session, "after_flush")
def _flushed(session, flush_context) -> None:
    if any(isinstance(obj, Notice | Council) for obj in (*session.new, *session.dirty,
                                                         *session.deleted)):
        forget()


@event.listens_for(Session, "do_orm_execute")
def _bulk_change(state) -> None:
    if (state.is_update or state.is_delete) and any(
            mapper.class_ in (Notice, Council) for mapper in state.all_mappers):
        forget()
