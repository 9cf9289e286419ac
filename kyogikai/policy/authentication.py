"""Password hashing (Argon2id) and the password step of a sign-in, throttled (policy.throttling).

A failed attempt never tells whether the login exists: unknown login, wrong password and an
inactive account answer the same, and an unknown login still costs one hash verification.
"""

import math
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from kyogikai.models import AuditAction, AuditOutcome, User, db
from kyogikai.policy import audit, throttling
from kyogikai.policy.passwords import MIN_PASSWORD_LENGTH

__all__ = ["MIN_PASSWORD_LENGTH", "LoginAttempt", "authenticate", "hash_password",
           "verify_password"]

# argon2-cffi's defaults are Argon2id with the RFC 9106 low-memory profile; tests may lower the
# cost through ARGON2_TIME_COST / ARGON2_MEMORY_COST (never below Argon2id itself).
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


@dataclass
class LoginAttempt:
    """The outcome of the password step: the user when it passed, else the Japanese refusal."""

    user: User | None = None
    message: str = ""


def refused_message() -> str:
    return _("ログインIDまたはパスワードが正しくありません。")


def throttled_message(seconds: int) -> str:
    if seconds >= 60:
        return _("ログインの失敗が続いたため、この端末からは約%(n)d分間ログインできません。"
                 "時間をおいて再度お試しください。", n=math.ceil(seconds / 60))
    return _("ログインの失敗が続いたため、この端末からは%(n)d秒間ログインできません。"
             "時間をおいて再度お試しください。", n=seconds)


def authenticate(login: str, password: str, remote_addr: str) -> LoginAttempt:
    """The password step of a sign-in; every attempt is audited and failures throttled.

    A throttled key is refused before any password is checked. Unknown login, wrong password
    and inactive account answer alike. Only a person who typed the right password learns that
    the account waits for a coordinator's approval.
    """
    wait = throttling.wait_seconds(login, remote_addr)
    if wait:
        audit.record(AuditAction.login_failed, outcome=AuditOutcome.denied,
                     login_attempted=login, detail="throttled")
        return LoginAttempt(message=throttled_message(wait))
    user = db.session.scalar(select(User).where(User.login == login))
    if user is None:
        _dummy_verify(password)
        detail, user_id = "unknown_login", None
    elif not verify_password(user.password_hash, password):
        detail, user_id = "bad_password", user.id
    elif not user.active:
        detail, user_id = "inactive", user.id
    else:
        detail, user_id = None, user.id
    if detail is not None:
        audit.record(AuditAction.login_failed, outcome=AuditOutcome.failure, user_id=user_id,
                     login_attempted=login, detail=detail)
        wait = throttling.record_failure(login, remote_addr)
        return LoginAttempt(message=throttled_message(wait) if wait else refused_message())
    throttling.forget(login, remote_addr)
    if user.approval_pending is not None:
        audit.record(AuditAction.login_failed, outcome=AuditOutcome.denied, user_id=user.id,
                     login_attempted=login, detail="approval_pending")
        return LoginAttempt(message=_("このアカウントは調整担当者の承認待ちです。承認されるとログイン"
                                      "できます。"))
    if _hasher().check_needs_rehash(user.password_hash):
        # A plain UPDATE: a stronger hash of the same password is no edit of the account.
        db.session.execute(update(User.__table__).where(User.__table__.c.id == user.id)
                           .values(password_hash=hash_password(password)))
    return LoginAttempt(user=user)
