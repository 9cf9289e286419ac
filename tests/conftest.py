"""Fixtures per concern, as in flaskr: app (isolated database), client, auth, a client per role.

Cheap to grow: the schema, the baseline rows and the app are built once per run (create_app costs
~80 ms: werkzeug compiles ~150 URL rules, Flask-Admin scaffolds every view), and each test gets
that app over a database state of its own:

- SQLite (the default): a fresh copy of the template file (schema + baseline) at the app's
  database path; the engine's connections are closed between tests.
- PostgreSQL (TEST_DATABASE_URL=postgresql+psycopg://…, each run in a schema of its own that is
  dropped at the end): one outer transaction per test, rolled back at the end; see
  OneTransaction for how the app's own commits become savepoints.
- ``@pytest.mark.real_commits`` (every test in tests/e2e has it): for tests whose data must be
  really committed, visible to other connections, threads or processes (a live server, several
  workers, a backup during writes, a race). On PostgreSQL the test gets an app of its own on a
  normal engine, and afterwards the tables are truncated and the baseline inserted again; on
  SQLite the file copy already commits for real.

Ids are as after ``TRUNCATE … RESTART IDENTITY`` plus the baseline (sequences are reset before
every test). The shared app's config is restored after each test and its instance folder is the
test's own, so a test may set ``app.config[...]``; one that needs an app built with other config
calls create_app itself. State that an extension keeps in memory across requests (none yet: the
policy flags live on ``g``) would leak between tests and must be reset in ``app`` below.
"""

import functools
import os
import re
import shutil
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

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
    """The schema first, then public: where pg_trgm is (the name search's trigram index)."""
    _pg_trgm_in_public()
    joiner = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{joiner}options=-csearch_path%3D{schema},public"


@functools.cache
def _pg_trgm_in_public() -> None:
    """Once per run, as a deployment has it: in public, never in a test's own schema (dropped
    with it while other runs use it). Where it cannot be created the search runs unindexed."""
    engine = sa.create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except sa.exc.DBAPIError:
        pass
    finally:
        engine.dispose()


def _create_app(url: str, instance, **config):
    return create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(instance),
        # No role needs a second factor unless a test says so (tests/test_second_factor.py).
        "TOTP_REQUIRED_ROLES": "",
        **FAST_ARGON2,
        **config,
    })


class InterleavedWrites(AssertionError):
    """Two connections of the app had uncommitted writes at once: see OneTransaction."""


class OneTransaction:
    """One PostgreSQL connection and one transaction for everything the app does in a test.

    Every connection the app's engine hands out is this one DBAPI connection (a StaticPool whose
    creator returns it), so the request's session and the audit log's own ``db.engine.begin()``
    (written after the request) work on the same data, and nothing is ever committed: the test's
    outer transaction is rolled back at its end. What the app calls a transaction is a savepoint:

    - a statement opens the savepoint when none is open (``cursor()``);
    - a commit releases it and a rollback rolls back to it, when the connection ending its
      transaction wrote in it or a statement failed. A connection that only read commits or rolls
      back nothing, as on a real database: the audit log's commit after a read does not end the
      request's transaction, and the session's rollback at teardown does not undo the audit row;
    - two independent transactions cannot be one savepoint: when a connection ends its transaction
      while another connection has uncommitted writes in it, the test fails (InterleavedWrites)
      instead of silently committing or losing those writes.

    The DBAPI ``commit()``/``rollback()`` do nothing; SQLAlchemy's connection events do the
    savepoint steps, because only they say which connection ends its transaction. Left different
    from a real database: ``now()`` is the test's start; a connection reads another's uncommitted
    writes; deferred constraints are checked at once (stricter: the outer commit never comes).
    Tests that need real commits use ``@pytest.mark.real_commits``.
    """

    SAVEPOINT = "test_app_transaction"

    def __init__(self, raw, reset_sql: str):
        self._raw = raw
        self._reset_sql = reset_sql
        self._open = False
        self._writers: list = []  # SQLAlchemy Connections with uncommitted writes in the savepoint

    # The DBAPI connection SQLAlchemy sees.
    def __getattr__(self, name):
        return getattr(self._raw, name)

    def cursor(self, *args, **kwargs):
        if not self._open:
            self._raw.execute(f"SAVEPOINT {self.SAVEPOINT}")
            self._open = True
        return self._raw.cursor(*args, **kwargs)

    def commit(self):
        """A transaction's end is done in end(), told by SQLAlchemy which connection it is."""

    def rollback(self):
        """See commit(); the pool's reset of a connection that ran nothing lands here too."""

    def close(self):
        """The connection outlives every engine of the run; close_for_real() ends it."""

    # The test's side.
    def watch(self, engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "commit", lambda conn: self.end(conn, commit=True))
        event.listen(engine, "rollback", lambda conn: self.end(conn, commit=False))

    def begin_test(self) -> None:
        self.end_test()
        self._raw.execute(self._reset_sql)
        self._raw.execute("SET CONSTRAINTS ALL IMMEDIATE")

    def end_test(self) -> None:
        self._raw.rollback()
        self._open = False
        self._writers.clear()

    def close_for_real(self) -> None:
        self._raw.close()

    def _before_execute(self, conn, cursor, statement, parameters, context, executemany):
        first_word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if first_word not in {"SELECT", "SHOW", "SAVEPOINT", "RELEASE", "ROLLBACK"} and not any(
                writer is conn for writer in self._writers):
            self._writers.append(conn)

    def end(self, conn, *, commit: bool) -> None:
        wrote = any(writer is conn for writer in self._writers)
        failed = self._raw.info.transaction_status == TransactionStatus.INERROR
        if not self._open or not (wrote or failed):
            return
        interleaved = any(writer is not conn for writer in self._writers)
        if commit and not (failed or interleaved):
            self._raw.execute(f"RELEASE SAVEPOINT {self.SAVEPOINT}")
        else:
            self._raw.execute(f"ROLLBACK TO SAVEPOINT {self.SAVEPOINT}")
            self._raw.execute(f"RELEASE SAVEPOINT {self.SAVEPOINT}")
        self._open = False
        self._writers.clear()
        if interleaved:  # raised once; the writes of both are gone
            raise InterleavedWrites(
                "a connection ends its transaction while another one has uncommitted writes; "
                "one savepoint cannot keep them apart: use @pytest.mark.real_commits, or commit "
                "or roll back the first one before the second begins")


def _sequence_reset_sql(connection) -> str:
    """setval() each sequence back to where the baseline left it (setval ignores rollbacks)."""
    rows = connection.execute(sa.text(
        "SELECT schemaname, sequencename, last_value FROM pg_sequences "
        "WHERE schemaname = current_schema()")).all()
    calls = [f"setval('\"{schema}\".\"{name}\"', {value or 1}, {value is not None})"
             for schema, name, value in rows]
    return "SELECT " + ", ".join(calls)


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """Schema and baseline, committed once per run: a template file (SQLite) or a schema (PG)."""
    instance = tmp_path_factory.mktemp("instance")
    if PG_URL:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin_engine = sa.create_engine(PG_URL)
        with admin_engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = _pg_url_with_schema(schema)
        app = _create_app(url, instance)
        with app.app_context():
            db.create_all()
            _baseline()
            with db.engine.connect() as conn:
                reset_sql = _sequence_reset_sql(conn)
            db.engine.dispose()
        yield {"kind": "postgresql", "url": url, "schema": schema, "reset_sql": reset_sql}
        with admin_engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()
    else:
        template = tmp_path_factory.mktemp("db") / "template.sqlite3"
        app = _create_app(f"sqlite:///{template}", instance)
        with app.app_context():
            db.create_all()
            _baseline()
            db.engine.dispose()
        yield {"kind": "sqlite", "template": template,
               "path": tmp_path_factory.mktemp("db") / "test.sqlite3"}


@pytest.fixture(scope="session")
def shared_app(database, tmp_path_factory):
    """The app every test shares, and on PostgreSQL the one transaction it runs in."""
    instance = tmp_path_factory.mktemp("instance")
    if database["kind"] == "sqlite":
        yield _create_app(f"sqlite:///{database['path']}", instance), None
        return
    url = sa.make_url(database["url"])
    dialect = sa.create_engine(url).dialect
    cargs, cparams = dialect.create_connect_args(url)
    one = OneTransaction(dialect.connect(*cargs, **cparams), database["reset_sql"])
    # psycopg's TypeInfo.fetch (native HSTORE set-up) wants a real psycopg Connection; no column
    # is an HSTORE.
    app = _create_app(database["url"], instance, SQLALCHEMY_ENGINE_OPTIONS={
        "poolclass": StaticPool, "creator": lambda: one, "use_native_hstore": False})
    with app.app_context():
        one.watch(db.engine)
    yield app, one
    one.close_for_real()


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
def app(request, database, shared_app, tmp_path):
    """The test's app: see the module docstring for how its database is isolated."""
    if database["kind"] == "postgresql" and request.node.get_closest_marker("real_commits"):
        yield from _app_with_real_commits(database, tmp_path)
        return
    shared, one = shared_app
    if one is None:
        path = database["path"]
        for leftover in (path, path.with_name(path.name + "-wal"),
                         path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copy(database["template"], path)
    else:
        one.begin_test()
    config = dict(shared.config)
    shared.instance_path = shared.config["INSTANCE_PATH"] = str(tmp_path / "instance")
    try:
        yield shared
    finally:
        shared.config.clear()
        shared.config.update(config)
        with shared.app_context():
            db.session.remove()
            if one is None:
                leaked = db.engine.pool.checkedout()
                db.engine.dispose()  # the next test's copy replaces the file
                assert leaked == 0, "a database connection was not returned to the pool"
            else:
                one.end_test()


def _app_with_real_commits(database, tmp_path):
    app = _create_app(database["url"], tmp_path / "instance")
    with app.app_context(), db.engine.begin() as conn:
        conn.exec_driver_sql(database["reset_sql"])
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            _baseline()
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
VERSION_RE = re.compile(r'name="version_token"[^>]*value="([^"]*)"')


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
    """Submit a form as a browser would: fetch the page for its CSRF token (and, on an edit
    form, the version of the record it shows), then post."""
    page = client.get(form_url).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {form_url}"
    hidden = {"csrf_token": match.group(1)}
    version = VERSION_RE.search(page)
    if version:
        hidden["version_token"] = version.group(1)
    return client.post(target or form_url, data={**hidden, **data})


def _sent_with_parameters(app, client, url: str) -> list[tuple]:
    """(statement, parameters) of each SQL statement one GET of ``url`` sends (it must answer
    200)."""
    sent = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return sent


def statements_sent(app, client, url: str) -> list[str]:
    """The SQL statements one GET of ``url`` sends (it must answer 200)."""
    return [statement for statement, _ in _sent_with_parameters(app, client, url)]


def sqlite_plan(app, client, url: str, marker: str, page_ids: bool = False) -> str:
    """SQLite's EXPLAIN QUERY PLAN of the statement containing ``marker`` that one GET of
    ``url`` sends, with its parameters: a rule about an index is checked by the plan, not a
    timing. ``page_ids``: only the plan of the subquery that chooses a list page's ids
    (``SecureModelView._page_rows``), empty when there is none. Skips on PostgreSQL, whose
    plans depend on statistics."""
    if app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0] != "sqlite":
        pytest.skip("SQLite's plan; PostgreSQL plans by its statistics")
    statement, parameters = next((s, p) for s, p in _sent_with_parameters(app, client, url)
                                 if marker in s)
    with app.app_context(), db.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    if page_ids:  # the first subquery of the statement itself, and everything under it
        top = next((row[0] for row in rows if row[1] == 0
                    and row[-1].startswith("LIST SUBQUERY")), None)
        under = {top}
        for row in rows:
            if row[1] in under:
                under.add(row[0])
        rows = [row for row in rows if row[1] in under]
    return " / ".join(row[-1] for row in rows)


def another_app(app, tmp_path):
    """A second app instance on the same database, as a second gunicorn worker."""
    return _create_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "other")


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


def pytest_addoption(parser):
    parser.addoption("--fuzz-long", action="store_true",
                     help="tests/test_fuzz.py: every hostile value on every parameter and many "
                          "more hypothesis examples (a deeper run than CI's)")


def pytest_terminal_summary(terminalreporter):
    from tests.fuzzing import TOTALS

    if TOTALS:
        requests = sum(row[1] for row in TOTALS)
        seconds = sum(row[2] for row in TOTALS)
        per_role = ", ".join(f"{role} {count}" for role, count, _s, _t in TOTALS)
        terminalreporter.write_line(
            f"fuzz: {requests} hostile requests in {seconds:.0f} s ({per_role})")
