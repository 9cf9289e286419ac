"""The schema comes only from Alembic: migrations must build exactly what the models declare."""

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from kyogikai.app import create_app
from kyogikai.models import Concern, db
from kyogikai.models.base import include_object_on
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
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "include_object": include_object_on(conn.dialect.name)})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def _triggers(engine) -> dict[str, str]:
    """Each trigger of the database, by name: its definition (and on PostgreSQL its function's
    body), without the schema the test database lives in."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return dict(conn.execute(sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
        rows = conn.execute(sa.text(
            "SELECT t.tgname, pg_get_triggerdef(t.oid), p.prosrc FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"))
        schema = conn.scalar(sa.text("SELECT current_schema()"))
        return {name: f"{definition.replace(schema + '.', '')} {body}"
                for name, definition, body in rows}


def test_the_migrated_triggers_are_the_models(migrated_app, app):
    """Autogenerate sees no trigger: a revision that forgets to create, drop or change one
    (a generation token written once per transaction, an append-only table) fails here. Older
    revisions create theirs from the models' statements, so the newest is also undone and done
    again: a database already at the revision before it must be brought to the same triggers."""
    with app.app_context():
        declared = _triggers(db.engine)
    assert _triggers(db.engine) == declared
    downgrade(revision="-1")
    upgrade()
    assert _triggers(db.engine) == declared


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


CASE_WORKFLOWS = "4b4a7ecb0b8e"


def test_role_history_is_append_only_in_the_migrated_database(migrated_app):
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO agencies (id, name, category, contact_person, phone, address, note, "
            "version, created_at, updated_at) VALUES (1, 'a', 'other', '', '', '', '', 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO women (id, name, furigana, alias, phone, note, search_text, postal_code, "
            "prefecture, municipality, street, katagaki, address_hidden, version, created_at, "
            "updated_at) VALUES (1, 'w', 'ウ', '', '', '', '', '', '', '', '', '', false, 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO cases (id, number, fiscal_year, serial, woman_id, received_on, status, "
            "end_reason, note, version, created_at, updated_at) VALUES (1, 'R7-0001', 2025, 1, "
            "1, '2025-04-01', 'received', '', '', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO role_assignments (id, case_id, agency_id, function, valid_from, note, "
            "designated, designation_reason, cancels, correction_reason, version, created_at, "
            "updated_at) VALUES (1, 1, 1, 'main_support', '2025-04-01', '', false, '', false, "
            "'', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    with db.engine.begin() as conn:  # closing an open row once is the one change allowed
        conn.execute(sa.text("UPDATE role_assignments SET valid_to = '2025-05-01'"))
    for statement in ("UPDATE role_assignments SET valid_to = NULL",
                      "UPDATE role_assignments SET agency_id = 1, note = 'x'",
                      "DELETE FROM role_assignments"):
        with pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_the_case_workflows_revision_moves_existing_data(migrated_app):
    """Before it: a 主たる支援機関 column with a 4(3)③ checkbox, and the ledger's values on the
    case. After it: a row of role history, and the ledger following the latest review."""
    downgrade(revision=f"{CASE_WORKFLOWS}-1")
    with db.engine.begin() as conn:
        for statement in (
            "INSERT INTO agencies (id, name, category, contact_person, phone, address, note, "
            "version, created_at, updated_at) VALUES (1, 'a', 'other', '', '', '', '', 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), (2, 'b', 'other', '', '', '', '', 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            "INSERT INTO women (id, name, furigana, alias, phone, note, search_text, "
            "postal_code, prefecture, municipality, street, katagaki, address_hidden, version, "
            "created_at, updated_at) VALUES (1, 'w', 'ウ', '', '', '', '', '', '', '', '', '', "
            "false, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            "INSERT INTO cases (id, number, fiscal_year, serial, woman_id, received_on, status, "
            "end_reason, note, risk_level, urgency, lead_agency_id, main_support_agency_id, "
            "main_support_designated, version, created_at, updated_at) VALUES "
            "(1, 'R7-0001', 2025, 1, 1, '2025-04-01', 'supporting', '', '', 'high', 'high', 1, "
            "2, true, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
            "(2, 'R7-0002', 2025, 2, 1, '2025-04-02', 'received', '', '', 'low', NULL, 2, "
            "NULL, false, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            "INSERT INTO case_reviews (case_id, reviewed_on, lead_agency_id, situation, "
            "risk_level, urgency, support_policy, version, created_at, updated_at) VALUES "
            "(1, '2025-05-01', 2, '', 'low', 'medium', '', 1, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP), (1, '2025-04-20', 1, '', 'high', 'high', '', 1, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"):
            conn.execute(sa.text(statement))
    upgrade()
    with db.engine.connect() as conn:
        ledger = conn.execute(sa.text(
            "SELECT id, current_risk_level, current_urgency, current_lead_agency_id FROM cases "
            "ORDER BY id")).all()
        roles = conn.execute(sa.text(
            "SELECT case_id, agency_id, function, designated, valid_from FROM role_assignments"
        )).all()
    assert [tuple(row) for row in ledger] == [(1, "low", "medium", 2), (2, "low", None, 2)]
    [(case_id, agency_id, function, designated, valid_from)] = roles
    assert (case_id, agency_id, function, bool(designated), str(valid_from)) == (
        1, 2, "main_support", True, "2025-04-01")


SEALED_SECRETS = "67b07a842488"


def test_the_sealing_revision_seals_existing_totp_secrets(migrated_app):
    """Before it: the base32 secret in the clear. After it: a token under the configured key,
    and the same account still verifies its codes; the downgrade gives the clear secret back."""
    import pyotp

    from kyogikai.models import User
    from kyogikai.policy import second_factor

    downgrade(revision=f"{SEALED_SECRETS}-1")
    secret = pyotp.random_base32()
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (id, login, display_name, password_hash, role, active, "
            "must_change_password, session_generation, totp_secret, totp_enabled_at, version, "
            "created_at, updated_at) VALUES (1, 'u', 'u', 'x', 'clerk', true, false, 0, "
            ":secret, CURRENT_TIMESTAMP, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            {"secret": secret})
    upgrade()
    with db.engine.connect() as conn:
        row = dict(conn.execute(sa.text("SELECT * FROM users")).mappings().one())
    assert "totp_secret" not in row and secret not in str(row)
    user = db.session.get(User, 1)
    assert user.has_second_factor and second_factor.secret(user) == secret
    assert second_factor.verify(user, pyotp.TOTP(secret).now())
    db.session.rollback()
    downgrade(revision=f"{SEALED_SECRETS}-1")
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT totp_secret FROM users")).scalar_one() == secret
    upgrade()


NAME_GRAMS = "5e0c1a7d2b94"


def test_the_name_search_revision_keeps_grams_within_each_name(migrated_app):
    """Before it: bigrams of the names run together (山田佐|藤花子 gave 佐藤). After it: the
    grams of each name only, so a two-character term needs no confirmation."""
    downgrade(revision=f"{NAME_GRAMS}-1")
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO women (id, name, furigana, alias, phone, note, search_text, "
            "postal_code, prefecture, municipality, street, katagaki, address_hidden, version, "
            "created_at, updated_at) VALUES (1, '山田 佐', 'ヤマダ', '藤 花子', '', '', "
            "'山田佐|藤花子|ヤマダ', '', '', '', '', '', false, 1, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO name_search_grams (woman_id, gram) VALUES "
                             "(1, '佐藤'), (1, 'ダ山'), (1, '山田'), (1, '山')"))
    upgrade()
    with db.engine.connect() as conn:
        held = set(conn.execute(sa.text("SELECT gram FROM name_search_grams")).scalars())
    assert held == {"山", "田", "佐", "山田", "田佐", "藤", "花", "子", "藤花", "花子",
                    "ヤ", "マ", "ダ", "ヤマ", "マダ"}
