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

from kyogikai.app import create_app
from kyogikai.models import Agency, AgencyCategory, Concern, Role, User, db
from kyogikai.policy.authentication import hash_password

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
def fresh_database_url(tmp_path):
    """An empty database of the engine under test, for code that migrates it itself."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    schema = f"f_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield _pg_url_with_schema(schema)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


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


@pytest.fixture
def sample(app):
    """One record of every entity, linked as in real use; returns their ids by name."""
    from kyogikai.models import (
        AnnualReport,
        BusinessPlan,
        Case,
        CaseReview,
        CaseStatus,
        Companion,
        Consent,
        ConsentMethod,
        ConsentPurpose,
        Council,
        Level,
        Meeting,
        MeetingCase,
        MeetingKind,
        Member,
        PlanCostLine,
        Relationship,
        ReportCostLine,
        RoleAssignment,
        RoleFunction,
        SupportKind,
        SupportRecord,
        Woman,
    )

    with app.app_context():
        home, police = db.session.scalars(sa.select(Agency).order_by(Agency.id)).all()
        council = Council(name="テスト市地域協議会", municipality="テスト市",
                          coordinating_agency=home, review_interval_months=3)
        member = Member(name="調整 太郎", furigana="チョウセイ タロウ", agency=home,
                        is_coordinator=True, qual_social_worker=True,
                        pledge_date=date(2025, 4, 1))
        woman = Woman(name="青木 明美", furigana="アオキ アケミ", birth_date=date(1990, 5, 1),
                      prefecture="架空県", municipality="テスト市", street="本町1-2-3",
                      phone="000-0000-0000")
        woman.companions.append(Companion(name="青木 陽太", furigana="アオキ ヨウタ",
                                          relationship_to_woman=Relationship.child,
                                          birth_date=date(2018, 6, 1)))
        case = Case(woman=woman, received_on=date(2025, 4, 10), status=CaseStatus.supporting,
                    risk_level=Level.high, urgency=Level.medium, lead_agency=home)
        consent = Consent(woman=woman, purpose=ConsentPurpose.case_conference,
                          obtained_on=date(2025, 4, 10), method=ConsentMethod.written,
                          valid_until=None, agencies=[home, police])
        meeting = Meeting(kind=MeetingKind.case_conference, held_on=date(2025, 5, 20),
                          place="テスト市役所 会議室", agencies=[home, police], members=[member],
                          agenda="支援方針の確認", minutes="（議事録）", decisions="役割分担を決定")
        link = MeetingCase(meeting=meeting, case=case)
        review = CaseReview(case=case, meeting=meeting, reviewed_on=date(2025, 5, 20),
                            lead_agency=home, situation="安定", risk_level=Level.medium,
                            urgency=Level.low, support_policy="見守りを継続")
        role = RoleAssignment(case=case, agency=police, function=RoleFunction.direct_support,
                              meeting=meeting, valid_from=date(2025, 5, 20))
        record = SupportRecord(case=case, recorded_on=date(2025, 5, 1), agency=home,
                               kind=SupportKind.interview, content="面接を実施")
        plan = BusinessPlan(fiscal_year=2025, period_from=date(2025, 4, 1),
                            period_to=date(2026, 3, 31), expected_women=40,
                            cost_lines=[PlanCostLine(item="会議費", amount_yen=120000)])
        report = AnnualReport(fiscal_year=2024, ingenuity_effects_issues="工夫と課題",
                              cost_lines=[ReportCostLine(item="人件費", amount_yen=300000)])
        db.session.add_all([council, member, woman, case, consent, meeting, link, review, role,
                            record, plan, report])
        db.session.commit()
        return {
            "council": council.id, "member": member.id, "woman": woman.id, "case": case.id,
            "consent": consent.id, "meeting": meeting.id, "meeting_case": link.id,
            "case_review": review.id, "role_assignment": role.id, "support_record": record.id,
            "business_plan": plan.id, "annual_report": report.id, "agency": home.id,
            "concern": 1, "case_number": case.number,
        }
