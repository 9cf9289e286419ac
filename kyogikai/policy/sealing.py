"""TOTP secrets sealed at rest: what the database (and every backup of it) holds is a Fernet
token, never the base32 secret a phone app could be set up from.

The key comes from configuration: ``TOTP_KEY`` when set, else ``SECRET_KEY``, stretched by
HKDF-SHA256 with a label of its own (so it is never the session-signing key itself). The
derivation (``INFO``) must never change: the Alembic revision that sealed existing secrets uses
these functions too.

A key is changed without locking anyone out (``flask --app kyogikai reseal-totp``): the old one
goes into ``TOTP_KEY_PREVIOUS``, which still opens what it sealed; the command seals every secret
again under the new key (cryptography's MultiFernet.rotate); then ``TOTP_KEY_PREVIOUS`` is
removed. A secret no configured key opens stays unreadable: that account signs in with a
recovery code, or an administrator resets the factor.
"""

from base64 import urlsafe_b64encode

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"kyogikai: TOTP secret at rest, v1"


def _fernet(material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(
        material.encode())
    return Fernet(urlsafe_b64encode(key))


def _keys(config) -> MultiFernet:
    """The current key first (it seals), then the previous one while a change is under way."""
    current = config.get("TOTP_KEY") or config["SECRET_KEY"]
    previous = config.get("TOTP_KEY_PREVIOUS") or ""
    return MultiFernet([_fernet(current), *([_fernet(previous)] if previous else [])])


def seal(secret: str, config) -> str:
    return _keys(config).encrypt(secret.encode()).decode()


def unseal(sealed: str | None, config) -> str | None:
    """The secret, or None when there is none or no configured key sealed it."""
    if not sealed:
        return None
    try:
        return _keys(config).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def reseal(sealed: str, config) -> str | None:
    """``sealed`` sealed again under the current key, or None when no configured key opens it."""
    try:
        return _keys(config).rotate(sealed.encode()).decode()
    except InvalidToken:
        return None
