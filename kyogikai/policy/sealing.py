"""TOTP secrets sealed at rest: what the database (and every backup of it) holds is a Fernet
token, never the base32 secret a phone app could be set up from.

The key comes from configuration: ``TOTP_KEY`` when set, else ``SECRET_KEY``, stretched by
HKDF-SHA256 with a label of its own (so it is never the session-signing key itself). Changing
the secret key without setting ``TOTP_KEY`` to the old one leaves the sealed secrets unreadable:
those accounts then sign in with a recovery code, or an administrator resets the factor. The
derivation (``INFO``) must never change: the Alembic revision that sealed existing secrets uses
these functions too.
"""

from base64 import urlsafe_b64encode

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"kyogikai: TOTP secret at rest, v1"


def _fernet(config) -> Fernet:
    material = (config.get("TOTP_KEY") or config["SECRET_KEY"]).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(material)
    return Fernet(urlsafe_b64encode(key))


def seal(secret: str, config) -> str:
    return _fernet(config).encrypt(secret.encode()).decode()


def unseal(sealed: str | None, config) -> str | None:
    """The secret, or None when there is none or it was sealed with another key."""
    if not sealed:
        return None
    try:
        return _fernet(config).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
