"""/healthz: 200 only for a reachable database at the head revision; no login, nothing revealed."""

import json

import pytest
import sqlalchemy as sa
from flask_migrate import stamp, upgrade

from kyogikai.app import create_app
from kyogikai.models import db
from kyogikai.ops.health import head_revisions
from tests.conftest import FAST_ARGON2


@pytest.fixture
def migrated(fresh_database_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": fresh_database_url,
                      "INSTANCE_PATH": str(tmp_path / "instance"), **FAST_ARGON2})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def _health(app):
    response = app.test_client().get("/healthz")
    return response.status_code, json.loads(response.get_data(as_text=True)), response


def test_ok_at_head_without_login(migrated):
    status, body, response = _health(migrated)
    assert (status, body) == (200, {"status": "ok"})
    assert response.mimetype == "application/json"
    assert "Set-Cookie" not in response.headers


def test_503_when_the_schema_is_behind(migrated):
    with migrated.app_context():
        stamp(revision="d3378236f694")  # the initial schema: any older revision will do
    status, body, _ = _health(migrated)
    assert (status, body) == (503, {"status": "unavailable"})


def test_503_when_the_schema_is_newer_than_the_code(migrated):
    with migrated.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
    assert _health(migrated)[:2] == (503, {"status": "unavailable"})


def test_503_on_a_database_never_migrated(app):
    # The test database is built by create_all: tables, but no revision.
    assert _health(app)[:2] == (503, {"status": "unavailable"})


def test_503_when_the_database_does_not_answer(tmp_path):
    url = f"sqlite:///{tmp_path}/missing-dir/none.sqlite3"  # cannot be opened
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    status, body, response = _health(app)
    assert (status, body) == (503, {"status": "unavailable"})
    # Nothing but the word: no error text, path, revision or version.
    assert response.get_data(as_text=True).strip() == '{"status":"unavailable"}'


def test_the_body_names_no_revision(migrated):
    text = migrated.test_client().get("/healthz").get_data(as_text=True)
    assert not any(revision in text for revision in head_revisions())
