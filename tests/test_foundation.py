"""The foundation: configuration, SQLite settings, the secret key, the CLI, a closed network."""

import re
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from kyogikai.app import create_app
from kyogikai.models import User, db
from tests.conftest import ROLES, user_by_login


def test_sqlite_runs_with_foreign_keys_wal_and_a_busy_timeout(app, database):
    if database["kind"] != "sqlite":
        pytest.skip("SQLite settings")
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    config = {"INSTANCE_PATH": str(instance),
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    first = create_app(config).config["SECRET_KEY"]
    second = create_app(config).config["SECRET_KEY"]
    key_file = instance / "secret_key"
    assert first == second and len(first) >= 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_database_url_picks_the_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.invalid/kyogikai")
    monkeypatch.setenv("SECRET_KEY", "x")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    monkeypatch.delenv("DATABASE_URL")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'kyogikai.sqlite3'}"


def test_create_user_reads_the_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--login", "yamada", "--role", "coordinator",
                                 "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "作成しました" in result.output
    with app.app_context():
        user = user_by_login("yamada")
        assert user.password_hash.startswith("$argon2id$")
        assert "a long enough password" not in user.password_hash


@pytest.mark.parametrize("args,stdin,message", [
    (["--login", "x", "--role", "clerk"], "a long enough password\n", "--password-stdin"),
    (["--login", "x", "--role", "clerk", "--password-stdin"], "short\n", "12文字以上"),
    (["--login", "x", "--role", "agency_staff", "--password-stdin"],
     "a long enough password\n", "--agency"),
    (["--login", "x", "--role", "agency_staff", "--agency", "無い機関", "--password-stdin"],
     "a long enough password\n", "見つかりません"),
    (["--login", "test-clerk", "--role", "clerk", "--password-stdin"],
     "a long enough password\n", "既に使われています"),
])
def test_create_user_refuses_bad_input_in_japanese(app, args, stdin, message):
    result = app.test_cli_runner().invoke(args=["create-user", *args], input=stdin)
    assert result.exit_code != 0 and message in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == len(ROLES)


OUTSIDE = re.compile(r'(?:src|href|action)\s*=\s*["\'](?:https?:)?//(?!127\.0\.0\.1|localhost)',
                     re.IGNORECASE)


def test_no_page_or_template_loads_anything_from_another_host(login_as, sample):
    client = login_as("coordinator")
    for url in ("/login", "/admin/", "/admin/case/", "/admin/case/new/", "/admin/woman/new/",
                f"/admin/meeting/details/?id={sample['meeting']}"):
        assert not OUTSIDE.search(client.get(url).get_data(as_text=True)), url
    for template in Path(__file__).parent.parent.joinpath("kyogikai", "templates").rglob("*.html"):
        assert not OUTSIDE.search(template.read_text()), template


def test_pages_carry_security_headers_and_are_not_cached(login_as, sample):
    client = login_as("coordinator")
    response = client.get(f"/admin/case/details/?id={sample['case']}")
    headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    static = client.get("/static/css/app.css")
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()
