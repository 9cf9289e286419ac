"""The schema comes only from Alembic: migrations must build exactly what the models declare."""

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from kyogikai.app import create_app
from kyogikai.models import Concern, db
from tests.conftest import FAST_ARGON2, PG_URL, _pg_url_with_schema


@pytest.fixture
def migrated_app(tmp_path):
    schema = None
    if PG_URL:
        schema = f"m_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = _pg_url_with_schema(schema)
    else:
        url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                      "INSTANCE_PATH": str(tmp_path / "instance"), **FAST_ARGON2})
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()
    if schema:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def test_models_and_migrations_agree(migrated_app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_migrations_seed_the_concern_categories(migrated_app):
    names = db.session.scalars(sa.select(Concern.name).order_by(Concern.sort_order)).all()
    assert names[0] == "配偶者等からの暴力（DV）"
    assert "その他" in names


def test_downgrade_to_base_and_up_again(migrated_app):
    downgrade(revision="base")
    assert "cases" not in sa.inspect(db.engine).get_table_names()
    upgrade()
    assert "cases" in sa.inspect(db.engine).get_table_names()


def test_audit_events_are_append_only_in_the_database(migrated_app):
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit_events (occurred_at, login_attempted, action, object_type, "
            "outcome, detail, remote_addr) VALUES (CURRENT_TIMESTAMP, '', 'login', '', "
            "'success', '', '')"))
    for statement in ("UPDATE audit_events SET detail = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 1


def test_every_audit_action_fits_the_migrated_check(migrated_app):
    """A new AuditAction needs its migration: the CHECK on audit_events.action must accept it."""
    from kyogikai.models import AuditAction

    with db.engine.begin() as conn:
        for action in AuditAction:
            conn.execute(sa.text(
                "INSERT INTO audit_events (occurred_at, login_attempted, action, object_type, "
                "outcome, detail, remote_addr) VALUES (CURRENT_TIMESTAMP, '', :action, '', "
                "'success', '', '')"), {"action": action.value})
