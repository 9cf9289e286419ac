"""Login throttling: growing delays per (login, address) and per address, never an account lock.

Failures are counted in the ``login_throttles`` table with one atomic upsert per key, so every
gunicorn worker (and every server sharing the database) sees the same counts; no Redis on a
closed intranet. A key whose failures pass its free allowance waits LOGIN_DELAY_SECONDS, doubling
with each further failure up to LOGIN_DELAY_MAX_SECONDS. A quiet LOGIN_FAILURE_WINDOW_MINUTES
forgets a key's count. Because each key names the address, a flood from one address slows that
address only: the owner signs in from her own PC as usual.
"""

import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kyogikai.models import AuditAction, LoginThrottle, ThrottleScope, db
from kyogikai.models.base import utcnow
from kyogikai.policy import audit

TABLE = LoginThrottle.__table__


def normalise_login(login: str) -> str:
    return (login or "").strip().casefold()[:64]


def _keys(login: str, remote_addr: str) -> list[tuple[ThrottleScope, str, str]]:
    addr = (remote_addr or "")[:45]
    return [(ThrottleScope.pair, normalise_login(login), addr), (ThrottleScope.address, "", addr)]


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=utcnow().tzinfo)
    return value


def wait_seconds(login: str, remote_addr: str, now: datetime | None = None) -> int:
    """Seconds this login from this address must still wait (0: it may try now)."""
    now = now or utcnow()
    keys = [(scope.value, key_login, addr) for scope, key_login, addr in _keys(login, remote_addr)]
    blocked = db.session.scalars(
        select(LoginThrottle.blocked_until).where(
            tuple_(TABLE.c.scope, TABLE.c.login, TABLE.c.remote_addr).in_(keys),
            LoginThrottle.blocked_until.is_not(None))).all()
    remaining = [(_aware(until) - now).total_seconds() for until in blocked]
    return max([math.ceil(seconds) for seconds in remaining if seconds > 0], default=0)


def delay_for(failures: int, free: int) -> int:
    """Seconds of delay after the ``failures``-th failure of a key allowed ``free`` failures."""
    if failures <= free:
        return 0
    config = current_app.config
    delay = config["LOGIN_DELAY_SECONDS"] * 2 ** min(failures - free - 1, 30)
    return min(delay, config["LOGIN_DELAY_MAX_SECONDS"])


def _insert():
    return (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(TABLE)


def record_failure(login: str, remote_addr: str, now: datetime | None = None) -> int:
    """Count one failure on both keys (atomic upserts); return the resulting wait in seconds."""
    now = now or utcnow()
    config = current_app.config
    forget_before = now - timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"])
    free = {ThrottleScope.pair: config["LOGIN_FREE_FAILURES"],
            ThrottleScope.address: config["LOGIN_ADDRESS_FREE_FAILURES"]}
    waits = []
    for scope, key_login, addr in _keys(login, remote_addr):
        stale = TABLE.c.last_failed_at < forget_before
        statement = _insert().values(
            scope=scope.value, login=key_login, remote_addr=addr, failures=1,
            first_failed_at=now, last_failed_at=now, blocked_until=None)
        statement = statement.on_conflict_do_update(
            index_elements=["scope", "login", "remote_addr"],
            set_={"failures": case((stale, 1), else_=TABLE.c.failures + 1),
                  "first_failed_at": case((stale, now), else_=TABLE.c.first_failed_at),
                  "last_failed_at": now},
        ).returning(TABLE.c.id, TABLE.c.failures)
        row_id, failures = db.session.execute(statement).one()
        delay = delay_for(failures, free[scope])
        if delay:
            db.session.execute(update(TABLE).where(TABLE.c.id == row_id)
                               .values(blocked_until=now + timedelta(seconds=delay)))
            waits.append(delay)
    return max(waits, default=0)


def forget(login: str, remote_addr: str) -> None:
    """A successful sign-in clears its (login, address) key; the address's own count stays."""
    scope, key_login, addr = _keys(login, remote_addr)[0]
    db.session.execute(delete(TABLE).where(TABLE.c.scope == scope.value,
                                           TABLE.c.login == key_login,
                                           TABLE.c.remote_addr == addr))


def clear(rows: list[LoginThrottle]) -> None:
    """An administrator clears throttles (the list screen, or 'unlock' on an account)."""
    for row in rows:
        audit.record(AuditAction.throttle_cleared, object_type="login_throttle", object_id=row.id,
                     login_attempted=row.login,
                     detail=f"scope={row.scope.value};failures={row.failures}", with_change=True)
        db.session.delete(row)


def rows_for_login(login: str) -> list[LoginThrottle]:
    return list(db.session.scalars(select(LoginThrottle).where(
        LoginThrottle.scope == ThrottleScope.pair,
        LoginThrottle.login == normalise_login(login))).all())
