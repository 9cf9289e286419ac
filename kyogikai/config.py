"""Configuration from the environment (12-factor): nothing secret is committed."""

import logging
import os
import secrets
import stat
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

# Data lives outside the installed package: INSTANCE_PATH, or ./instance of the working directory.
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH") or Path.cwd() / "instance")


def _secret_key(instance_dir: Path) -> str:
    """Use SECRET_KEY from the environment, else one generated once into instance/."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Written whole under a temporary name, then linked into place: several gunicorn workers
    # starting at once must all end up with the same key, never with a half-written one.
    # Created with owner-only permissions: the key signs every session cookie.
    partial = instance_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    try:
        os.link(partial, key_file)  # fails if another process won the race
    except FileExistsError:
        key = key_file.read_text().strip()
    finally:
        partial.unlink()
    return key


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance_dir: Path) -> dict:
    """Build the Flask config for this process from environment variables."""
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'kyogikai.sqlite3'}"
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return {
        "SECRET_KEY": _secret_key(instance_dir),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BABEL_DEFAULT_LOCALE": "ja",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Tokyo",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_DURATION": timedelta(0),
        # Idle and absolute session lifetimes (policy.sessions), checked on the server.
        "SESSION_MINUTES": int(os.environ.get("SESSION_MINUTES", "30")),
        "SESSION_MAX_HOURS": float(os.environ.get("SESSION_MAX_HOURS", "12")),
        # The cookie outlives both, so that a timed-out browser still shows why on the login page.
        "PERMANENT_SESSION_LIFETIME": timedelta(
            hours=float(os.environ.get("SESSION_MAX_HOURS", "12")) + 1
        ),
        "WTF_CSRF_TIME_LIMIT": 3600,
        # One limit for the whole request and for form fields alike (Flask's default for fields
        # alone is 500 kB); a larger post is a Japanese 413 page and changes nothing.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_REQUEST_MB", "2")) * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": int(os.environ.get("MAX_REQUEST_MB", "2")) * 1024 * 1024,
        # Sign-in throttling (policy.throttling): free failures per (login, address) and per
        # address, then a delay doubling from LOGIN_DELAY_SECONDS up to the maximum.
        "LOGIN_FREE_FAILURES": int(os.environ.get("LOGIN_FREE_FAILURES", "5")),
        "LOGIN_ADDRESS_FREE_FAILURES": int(os.environ.get("LOGIN_ADDRESS_FREE_FAILURES", "30")),
        "LOGIN_DELAY_SECONDS": int(os.environ.get("LOGIN_DELAY_SECONDS", "15")),
        "LOGIN_DELAY_MAX_SECONDS": int(os.environ.get("LOGIN_DELAY_MAX_SECONDS", "900")),
        "LOGIN_FAILURE_WINDOW_MINUTES": int(os.environ.get("LOGIN_FAILURE_WINDOW_MINUTES", "60")),
        # Roles that must sign in with a TOTP second factor; 調整担当者 by default.
        "TOTP_REQUIRED_ROLES": os.environ.get("TOTP_REQUIRED_ROLES", "coordinator"),
        # The key TOTP secrets are sealed with at rest (policy.sealing); empty: SECRET_KEY's.
        "TOTP_KEY": os.environ.get("TOTP_KEY", ""),
        # While that key changes: the old one, which still opens what it sealed (reseal-totp).
        "TOTP_KEY_PREVIOUS": os.environ.get("TOTP_KEY_PREVIOUS", ""),
        "FLASK_ADMIN_SWATCH": "default",
        # A Fernet key (one line) that encrypts backups; unset: backups are not encrypted.
        "BACKUP_KEY_FILE": os.environ.get("BACKUP_KEY_FILE", ""),
        # Reverse proxies in front of gunicorn whose X-Forwarded-* headers are believed (nginx: 1).
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # Attachments (PDF, PNG, JPEG, xlsx, docx) on cases, meetings and consents, per file.
        "ATTACHMENT_MAX_MB": int(os.environ.get("ATTACHMENT_MAX_MB", "20")),
        # Notices stay in the panel. A function "package.module:function" called after each
        # notice is committed (policy.notices), for an intranet with a mail relay; off when empty.
        "NOTICE_MAIL_HOOK": os.environ.get("NOTICE_MAIL_HOOK", ""),
        # Screen wording: 2021 (the 要綱's, default) or 2024 (困難女性支援法's); the 様式 exports
        # keep the 要綱's headings either way.
        "TERMINOLOGY": os.environ.get("TERMINOLOGY", "2021"),
    }


def parse_roles(value) -> frozenset:
    """TOTP_REQUIRED_ROLES="coordinator,clerk" (or an iterable of roles) → a set of Role; an
    unknown name stops the start rather than silently requiring nothing."""
    from kyogikai.models.enums import Role

    names = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    names = [name.strip() for name in names if name.strip()]
    unknown = [name for name in names if name not in Role._value2member_map_]
    if unknown:
        raise ValueError(f"TOTP_REQUIRED_ROLES に不明な役割があります: {', '.join(unknown)}"
                         f"（使えるもの: {', '.join(r.value for r in Role)}）")
    return frozenset(Role(name) for name in names)


# What lives in the instance folder and must be readable by the service account alone.
PRIVATE_FILES = ("secret_key", "demo-logins.txt")
log = logging.getLogger(__name__)


class InsecureFilesError(RuntimeError):
    """A file or folder holding secrets is open to others and cannot be tightened."""


def _tighten(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077 == 0:
        return
    try:
        path.chmod(mode)
    except OSError as error:
        raise InsecureFilesError(
            f"{path} は他の利用者から読める権限（{current:o}）で、変更もできません。"
            f"所有者だけが読めるよう {mode:o} にしてから起動してください。") from error
    log.warning("%s の権限が %o だったため %o に変更しました。", path, current, mode)


def secure_instance_files(instance_dir: Path, database_uri: str) -> None:
    """Start-up check: the instance folder is 0700; the SQLite database (with its WAL and shared
    memory files), the secret key and the demo logins are 0600. Looser modes are tightened (and
    logged); a mode that cannot be tightened stops the start with a Japanese message.

    A missing SQLite file is created empty with 0600 first: SQLite would create it with the
    process umask (usually world-readable), and its -wal/-shm files copy the database's mode.
    """
    instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(instance_dir, 0o700)
    files = [instance_dir / name for name in PRIVATE_FILES]
    url = make_url(database_uri)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        if not database.exists() and database.parent.is_dir():
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        files += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    for path in files:
        if path.exists():
            _tighten(path, 0o600)
