"""``/healthz`` for the reverse proxy and monitoring: no login, and it says nothing but yes or no.

200 only when the database answers and its schema is at the head revision of the migrations this
code carries; 503 otherwise (not reachable, not migrated, migrated by newer code). The body is
the same few bytes either way, so the check reveals no version, revision or error text.
"""

import logging
from functools import cache
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify

from kyogikai.models import db

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@cache
def head_revisions() -> frozenset[str]:
    """The head revision(s) of the migrations shipped with this code."""
    return frozenset(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def database_revisions(connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def schema_at_head() -> bool:
    try:
        with db.engine.connect() as connection:
            return database_revisions(connection) == head_revisions()
    except Exception:  # any failure to answer is "unhealthy", whatever its kind
        log.warning("healthz: the database did not answer", exc_info=True)
        return False


@bp.get("/healthz")
def healthz():
    if schema_at_head():
        return jsonify(status="ok"), 200
    return jsonify(status="unavailable"), 503
