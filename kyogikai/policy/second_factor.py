"""Optional TOTP second factor (RFC 6238, pyotp), required for the roles TOTP_REQUIRED_ROLES names.

Enrolment stores a new secret on the account (sealed: policy.sealing), shows it as a QR code (SVG drawn by segno, no
image library) and turns it on only when the person types a valid code from her app; she then
gets ten one-time recovery codes (stored as Argon2 hashes) for the day the phone is lost. A code
is accepted once: the time step used is remembered, so a code seen over a shoulder cannot be
replayed. Every step is audited.
"""

import hmac
import secrets
import time

import pyotp
import segno
from flask import current_app

from kyogikai.models import AuditAction, AuditOutcome, RecoveryCode, User
from kyogikai.models.base import utcnow
from kyogikai.policy import audit, sealing
from kyogikai.policy.authentication import hash_password, verify_password

ISSUER = "女性支援地域協議会"
RECOVERY_CODES = 10
STEP_SECONDS = 30


def required_for(user: User) -> bool:
    return user.role in current_app.config["TOTP_REQUIRED_ROLES"]


def secret(user: User) -> str | None:
    """The account's base32 secret, unsealed for this moment (never stored in the clear)."""
    return sealing.unseal(user.totp_secret_sealed, current_app.config)


def start_enrolment(user: User) -> str:
    """A new secret for an account without an active second factor (kept until confirmed)."""
    if user.totp_enabled_at is None:
        user.totp_secret_sealed = sealing.seal(pyotp.random_base32(), current_app.config)
    return secret(user)


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(secret(user)).provisioning_uri(name=user.login, issuer_name=ISSUER)


def qr_svg(user: User) -> str:
    """The otpauth:// URI as an inline SVG QR code (no script, no image request)."""
    return segno.make(provisioning_uri(user), error="m").svg_inline(scale=4, border=2)


def _matching_step(secret: str, code: str, now: float) -> int | None:
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    for step in (current, current - 1, current + 1):  # one step of clock drift either way
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify(user: User, code: str, now: float | None = None) -> bool:
    """A fresh code of the account's secret (never one already used)."""
    plain = secret(user)
    if not plain:
        return False
    step = _matching_step(plain, code, now or time.time())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def confirm_enrolment(user: User, code: str, now: float | None = None) -> list[str] | None:
    """Turn the factor on when ``code`` matches the new secret; return the recovery codes."""
    if user.totp_enabled_at is not None or not verify(user, code, now):
        audit.record(AuditAction.second_factor, outcome=AuditOutcome.failure, user_id=user.id,
                     object_type="user", object_id=user.id, detail="enrol_failed")
        return None
    user.totp_enabled_at = utcnow()
    codes = new_recovery_codes(user)
    audit.record(AuditAction.second_factor, user_id=user.id, object_type="user",
                 object_id=user.id, detail="enrolled", with_change=True)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh one-time codes (shown once); the previous ones stop working."""
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    user.recovery_codes = [RecoveryCode(code_hash=hash_password(code)) for code in codes]
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    typed = (code or "").strip().lower().replace(" ", "")
    if len(typed) != 13:
        return False
    for recovery in user.recovery_codes:
        if recovery.used_at is None and verify_password(recovery.code_hash, typed):
            recovery.used_at = utcnow()
            audit.record(AuditAction.second_factor, user_id=user.id, object_type="user",
                         object_id=user.id, detail="recovery_code_used", with_change=True)
            return True
    return False


def record(user: User, detail: str) -> None:
    audit.record(AuditAction.second_factor, user_id=user.id, object_type="user",
                 object_id=user.id, detail=detail, with_change=True)


def remaining_recovery_codes(user: User) -> int:
    return sum(1 for code in user.recovery_codes if code.used_at is None)


def remove(user: User, detail: str = "disabled") -> None:
    """Turn the factor off (by its owner, or reset by an administrator)."""
    user.totp_secret_sealed = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = []
    audit.record(AuditAction.second_factor, object_type="user", object_id=user.id,
                 detail=detail, with_change=True)
