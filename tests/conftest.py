"""Fixtures per concern, as in flaskr: app (isolated database), client, auth, a client per role.

The suite runs on SQLite by default; TEST_DATABASE_URL=postgresql+psycopg://… runs it on
PostgreSQL, each run in a schema of its own that is dropped at the end.
"""

import os
import re
import shutil
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from app import create_app
from models import Agency, AgencyCategory, Concern, Role, User, db
from policy.authentication import hash_password

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
PASSWORD = "correct horse battery staple"
ROLES = [role.value for role in Role]
# Cheap Argon2id for tests only: the algorithm is the same, the cost is not.
FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024}

CONCERNS = ["配偶者等からの暴力（DV）", "生活困窮", "住居の問題", "その他"]


def _pg_url_with_schema(schema: str) -> str:
    joiner = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """Build the schema once per run; each test gets a fresh copy (SQLite) or truncation (PG)."""
    if PG_URL:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin_engine = sa.create_engine(PG_URL)
        with admin_engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = _pg_url_with_schema(schema)
        engine = sa.create_engine(url)
        db.metadata.create_all(engine)
        engine.dispose()
        yield {"kind": "postgresql", "url": url, "schema": schema}
        with admin_engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()
    else:
        template = tmp_path_factory.mktemp("db") / "template.sqlite3"
        engine = sa.create_engine(f"sqlite:///{template}")
        db.metadata.create_all(engine)
        engine.dispose()
        yield {"kind": "sqlite", "template": template}


@pytest.fixture
def app(database, tmp_path):
    if database["kind"] == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(database["template"], path)
        url = f"sqlite:///{path}"
    else:
        url = database["url"]
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        **FAST_ARGON2,
    })
    with app.app_context():
        if database["kind"] == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
        _baseline()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _baseline() -> None:
    """What every test may assume: two agencies, the 主訴 list, one user per role."""
    home = Agency(name="テスト市 女性支援課", category=AgencyCategory.local_government,
                  member_from=date(2021, 4, 1))
    police = Agency(name="テスト警察署", category=AgencyCategory.police,
                    member_from=date(2021, 4, 1))
    db.session.add_all([home, police])
    db.session.add_all(Concern(name=name, sort_order=i) for i, name in enumerate(CONCERNS))
    password_hash = hash_password(PASSWORD)
    for role in Role:
        db.session.add(User(login=f"test-{role.value}", display_name=f"{role.label}テスト",
                            role=role, password_hash=password_hash, active=True,
                            agency=police if role is Role.agency_staff else home))
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    """The token a person's browser would send: read from the form page itself."""
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {page.status_code})"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, login: str, password: str = PASSWORD):
        token = csrf_token(self._client, "/login")
        return self._client.post("/login", data={"login": login, "password": password,
                                                 "csrf_token": token})

    def login_as(self, role: str):
        response = self.login(f"test-{role}")
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def logout(self):
        token = csrf_token(self._client, "/admin/")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def login_as(app):
    """A fresh client logged in as the given role: ``login_as("coordinator")``."""

    def _login(role: str):
        new_client = app.test_client()
        AuthActions(new_client).login_as(role)
        return new_client

    return _login


def post_form(client, form_url: str, data: dict, target: str | None = None):
    """Submit a form as a browser would: fetch the page for its CSRF token, then post."""
    token = csrf_token(client, form_url)
    return client.post(target or form_url, data={**data, "csrf_token": token})


def user_by_login(login: str) -> User:
    return db.session.scalar(sa.select(User).where(User.login == login))
