"""Password hashing (Argon2id) and the login decision with lockout.

A failed attempt never tells whether the login exists: unknown login, wrong password, locked or
inactive account all answer the same, and an unknown login still costs one hash verification.
"""

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from kyogikai.models import AuditAction, AuditOutcome, User, db
from kyogikai.models.base import utcnow
from kyogikai.policy import audit

# argon2-cffi's defaults are Argon2id with the RFC 9106 low-memory profile; tests may lower the
# cost through ARGON2_TIME_COST / ARGON2_MEMORY_COST (never below Argon2id itself).
MIN_PASSWORD_LENGTH = 12

_hashers: dict[tuple, tuple[PasswordHasher, str]] = {}


def _hasher_and_dummy() -> tuple[PasswordHasher, str]:
    key = (current_app.config.get("ARGON2_TIME_COST"), current_app.config.get("ARGON2_MEMORY_COST"))
    if key not in _hashers:
        kwargs = {name: value for name, value in zip(("time_cost", "memory_cost"), key, strict=True)
                  if value}
        hasher = PasswordHasher(**kwargs)
        _hashers[key] = (hasher, hasher.hash("dummy password to equalise timing"))
    return _hashers[key]


def _hasher() -> PasswordHasher:
    return _hasher_and_dummy()[0]


def _dummy_verify(password: str) -> None:
    """Spend one verification on a refused attempt, so timing does not reveal which logins exist."""
    verify_password(_hasher_and_dummy()[1], password)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(login: str, password: str) -> User | None:
    """Return the user when the login succeeds; record the attempt either way."""
    user = db.session.scalar(select(User).where(User.login == login))
    now = utcnow()
    if user is None:
        _dummy_verify(password)
        audit.record(AuditAction.login_failed, outcome=AuditOutcome.failure,
                     login_attempted=login, detail="unknown_login")
        return None
    locked_until = user.locked_until
    if locked_until is not None and locked_until.tzinfo is None:
        # SQLite hands back naive datetimes; they were stored as UTC.
        locked_until = locked_until.replace(tzinfo=now.tzinfo)
    if locked_until is not None and locked_until > now:
        _dummy_verify(password)
        audit.record(AuditAction.login_failed, outcome=AuditOutcome.denied, user_id=user.id,
                     login_attempted=login, detail="locked")
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
        audit.record(AuditAction.login_failed, outcome=AuditOutcome.failure, user_id=user.id,
                     login_attempted=login,
                     detail="inactive" if user.active is False else "bad_password")
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(AuditAction.login, user_id=user.id)
    return user
