"""Sessions that can be revoked: a generation per account, an absolute and an idle lifetime.

The session cookie names the account *and* its ``session_generation`` (``User.get_id``). Raising
the generation in the database (logout, deactivation, a password or role change) makes every
cookie issued before — copied, stolen or still open in another browser — load no user, at once
and across server restarts. On top, a session ends SESSION_MAX_HOURS after sign-in whatever
happens (absolute) and after SESSION_MINUTES without a request (idle); both times live inside
the signed cookie, so neither can be extended by the browser.
"""

import time

from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from kyogikai.models import AuditAction, AuditOutcome, User, db
from kyogikai.models.base import utcnow
from kyogikai.policy import audit, request_values

IDLE, ABSOLUTE, REVOKED = "idle", "absolute", "revoked"


def load_user(session_id: str) -> User | None:
    """Flask-Login's user_loader: the account, only if active, approved and the generation in
    the cookie is still the account's."""
    user_id, _, generation = (session_id or "").partition(":")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    # The agency and the unread notices are shown in the navbar of every page, the review
    # interval on the ledger and the home page, masking asks whether the hidden addresses
    # changed and the agency scope whether who sees which case did: one statement loads them
    # with the user.
    row = db.session.execute(
        select(User, request_values.unread_column(User.id), request_values.interval_column(),
               request_values.generation_column(), request_values.scope_generation_column())
        .options(joinedload(User.agency)).where(User.id == int(user_id))).first()
    if row is None:
        return None
    user, unread, interval, addresses, scope = row
    if not user.is_active or (user.session_generation or 0) != int(generation):
        return None
    request_values.remember(user.id, unread, interval, addresses, scope)
    return user


def end_all(user_id: int) -> None:
    """End every session of an account. A plain UPDATE (not the ORM): signing out is not an edit
    of the account, so it neither bumps the record's version nor names a saver."""
    table = User.__table__
    db.session.execute(update(table).where(table.c.id == user_id)
                       .values(session_generation=table.c.session_generation + 1))


def begin(user: User) -> None:
    """A fresh session after every factor passed: no fixation, both clocks started."""
    session.clear()
    login_user(user)
    session.permanent = True
    now = time.time()
    session["started_at"] = session["seen_at"] = now
    table = User.__table__
    db.session.execute(update(table).where(table.c.id == user.id).values(last_login_at=utcnow()))
    audit.record(AuditAction.login, user_id=user.id)


def renew(user: User) -> None:
    """Keep this browser signed in after ``end_all`` ended the account's other sessions (her own
    password change, enrolling a second factor): the cookie takes the new generation; both
    clocks run on."""
    user = getattr(user, "_get_current_object", lambda: user)()  # not the current_user proxy
    db.session.flush()
    db.session.refresh(user, ["session_generation"])
    started, seen = session.get("started_at"), session.get("seen_at")
    login_user(user)
    session["started_at"], session["seen_at"] = started, seen


def logout(user) -> None:
    """A deliberate logout ends every session of the account, not only this browser's."""
    if user is not None and user.is_authenticated:
        audit.record(AuditAction.logout, user_id=user.id)
        end_all(user.id)
    drop()


def drop() -> None:
    """Forget this browser's session (the account's other sessions are untouched)."""
    logout_user()
    session.clear()


def expired(now: float | None = None) -> str | None:
    """IDLE or ABSOLUTE when the signed-in session in this cookie has run out, else None."""
    if "_user_id" not in session:
        return None
    now = now or time.time()
    config = current_app.config
    started, seen = session.get("started_at"), session.get("seen_at")
    if not isinstance(started, (int, float)) or now - started > config["SESSION_MAX_HOURS"] * 3600:
        return ABSOLUTE
    if not isinstance(seen, (int, float)) or now - seen > config["SESSION_MINUTES"] * 60:
        return IDLE
    return None


def touch(now: float | None = None) -> None:
    session["seen_at"] = now or time.time()


def record_end(reason: str) -> None:
    """Audit a session that ended without a logout (timed out or revoked), naming the account."""
    user_id, _, _ = str(session.get("_user_id", "")).partition(":")
    audit.record(AuditAction.session_ended, outcome=AuditOutcome.denied,
                 user_id=int(user_id) if user_id.isdigit() else None, detail=f"reason={reason}")
