"""Configuration from the environment (12-factor): nothing secret is committed."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

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
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Created with owner-only permissions: the key signs every session cookie.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
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
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=int(os.environ.get("SESSION_MINUTES", "30"))
        ),
        "WTF_CSRF_TIME_LIMIT": 3600,
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCKOUT_MINUTES": int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")),
        "FLASK_ADMIN_SWATCH": "default",
        # Attachments (PDF, PNG, JPEG, xlsx, docx) on cases, meetings and consents, per file.
        "ATTACHMENT_MAX_MB": int(os.environ.get("ATTACHMENT_MAX_MB", "20")),
        # Notices stay in the panel. A function "package.module:function" called after each
        # notice is committed (policy.notices), for an intranet with a mail relay; off when empty.
        "NOTICE_MAIL_HOOK": os.environ.get("NOTICE_MAIL_HOOK", ""),
        # Screen wording: 2021 (the 要綱's, default) or 2024 (困難女性支援法's); the 様式 exports
        # keep the 要綱's headings either way.
        "TERMINOLOGY": os.environ.get("TERMINOLOGY", "2021"),
    }
