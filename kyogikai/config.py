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
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=int(os.environ.get("SESSION_MINUTES", "30"))
        ),
        "WTF_CSRF_TIME_LIMIT": 3600,
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCKOUT_MINUTES": int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")),
        "FLASK_ADMIN_SWATCH": "default",
        # A Fernet key (one line) that encrypts backups; unset: backups are not encrypted.
        "BACKUP_KEY_FILE": os.environ.get("BACKUP_KEY_FILE", ""),
        # Reverse proxies in front of gunicorn whose X-Forwarded-* headers are believed (nginx: 1).
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
    }
