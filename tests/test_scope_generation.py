"""An agency's visible cases kept across requests (issue 13) are never older than the rule.

Each process keeps them while the database's scope generation token is the one it read before
them; triggers give the token a new value in the same transaction as any change the rule reads
(models.generation.SCOPE_TRIGGERS). Each test below changes who may see a case by one path after
her cases were read (so they are kept), and her next request, in this app or another on the
same database, must see the change at once.
"""

import json
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_login import login_user

from kyogikai.models import (
    Case,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    MeetingCase,
    RoleAssignment,
    RoleFunction,
    ScopeGeneration,
    db,
)
from kyogikai.models.consent import consent_agencies
from kyogikai.models.generation import SCOPE_TRIGGERS, Trigger
from kyogikai.models.meetings import meeting_agencies
from kyogikai.policy import scoping
from tests.conftest import AuthActions, another_app, statements_sent, user_by_login
from tests.test_scoping import other  # noqa: F401  (fixture)

TODAY = date.today()
STAFF = "test-agency_staff"


def _her_cases(app) -> set[int]:
    """Her cases as one request of hers sees them (a request of its own: g is new)."""
    with app.test_request_context():
        login_user(user_by_login(STAFF))
        cases = set(db.session.scalars(scoping.scoped_select("case").with_only_columns(Case.id)))
        db.session.remove()
    return cases


def _token(app):
    with app.app_context():
        return db.session.scalar(sa.select(ScopeGeneration.token))


def _agency() -> int:
    return user_by_login(STAFF).agency_id


def _grant(sample, outsider):
    """A role for her agency on the other case, and the other woman's consent naming it."""
    case = db.session.get(Case, outsider["case"])
    staff = user_by_login(STAFF)
    db.session.add_all([
        RoleAssignment(case_id=case.id, agency_id=staff.agency_id, valid_from=TODAY,
                       function=RoleFunction.case_management),
        Consent(woman_id=case.woman_id, purpose=ConsentPurpose.case_conference,
                obtained_on=TODAY, method=ConsentMethod.oral, agencies=[staff.agency])])


def _attend_and_consent(sample, outsider):
    """Her agency attends the other case's meeting (a bulk insert), and a consent names it."""
    db.session.execute(sa.insert(meeting_agencies).values(meeting_id=outsider["meeting"],
                                                          agency_id=_agency()))
    consent = db.session.get(Consent, outsider["consent"])
    db.session.execute(sa.insert(consent_agencies).values(consent_id=consent.id,
                                                          agency_id=_agency()))


def _case_moves_to_her_meeting(sample, outsider):
    """The other case is put on the agenda of the meeting her agency attends (an UPDATE of
    the meeting's case), and its woman's consent names her agency."""
    db.session.execute(sa.update(MeetingCase).where(MeetingCase.id == outsider["meeting_case"])
                       .values(meeting_id=sample["meeting"]))
    db.session.execute(sa.insert(consent_agencies).values(consent_id=outsider["consent"],
                                                          agency_id=_agency()))


def _withdraw_for_her_agency(sample, outsider):
    db.session.execute(sa.update(consent_agencies)
                       .where(consent_agencies.c.consent_id == sample["consent"],
                              consent_agencies.c.agency_id == _agency())
                       .values(withdrawn_on=TODAY))


def _withdraw_by_hand(sample, outsider):
    db.session.execute(sa.text("UPDATE consents SET withdrawn_on = :day WHERE id = :id"),
                       {"day": TODAY, "id": sample["consent"]})


def _consent_deleted(sample, outsider):
    db.session.execute(sa.text("DELETE FROM consent_agencies WHERE consent_id = :id"),
                       {"id": sample["consent"]})
    db.session.execute(sa.text("DELETE FROM consents WHERE id = :id"), {"id": sample["consent"]})


def _case_given_to_another_woman(sample, outsider):
    """Corrected to the other woman, whose consent does not name her agency."""
    db.session.get(Case, sample["case"]).woman_id = outsider["woman"]


def _role_and_attendance_end(sample, outsider):
    db.session.execute(sa.update(RoleAssignment)
                       .where(RoleAssignment.id == sample["role_assignment"])
                       .values(valid_to=TODAY - timedelta(days=1)))
    db.session.execute(sa.delete(meeting_agencies).where(meeting_agencies.c.agency_id
                                                         == _agency()))


CHANGES = {  # name: (the change, the cases she sees after it)
    "role_and_consent_added": (_grant, {"sample", "other"}),
    "attendance_and_agency_added": (_attend_and_consent, {"sample", "other"}),
    "case_moved_to_her_meeting": (_case_moves_to_her_meeting, {"sample", "other"}),
    "withdrawn_for_her_agency": (_withdraw_for_her_agency, set()),
    "withdrawn_by_hand": (_withdraw_by_hand, set()),
    "consent_deleted": (_consent_deleted, set()),
    "case_given_to_another_woman": (_case_given_to_another_woman, set()),
    "role_and_attendance_end": (_role_and_attendance_end, set()),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_is_seen_by_her_next_request(app, sample, other, change):  # noqa: F811
    ids = {"sample": sample["case"], "other": other["case"]}
    assert _her_cases(app) == {sample["case"]}  # now kept under the current token
    before = _token(app)
    with app.app_context():
        CHANGES[change][0](sample, other)
        db.session.commit()
    assert _token(app) != before
    assert _her_cases(app) == {ids[name] for name in CHANGES[change][1]}


def _rule_runs(app, client, url) -> int:
    return sum("FROM role_assignments" in sql for sql in statements_sent(app, client, url))


def test_the_rule_runs_once_until_what_it_reads_changes(app, login_as, sample, other):  # noqa: F811
    """Her pages read her cases once; a save of a case's other columns (every edit of a case)
    keeps them; a change the rule reads makes the next page read them once again."""
    client = login_as("agency_staff")
    url = "/admin/case/"
    client.get(url)
    assert _rule_runs(app, client, url) == 0
    with app.app_context():
        case = db.session.get(Case, sample["case"])
        case.note, case.last_review_on = "メモ", TODAY
        db.session.commit()
    assert _rule_runs(app, client, url) == 0
    with app.app_context():
        _grant(sample, other)
        db.session.commit()
    assert _rule_runs(app, client, url) == 1
    assert _rule_runs(app, client, url) == 0


def test_without_its_triggers_the_token_is_not_trusted(app, sample):
    """A batch migration under SQLite rebuilds a table without its triggers: then no token is
    read, and every request reads her cases again."""
    assert _her_cases(app) == {sample["case"]}
    dialect = None
    with app.app_context(), db.engine.begin() as conn:
        dialect = db.engine.dialect.name
        conn.execute(sa.text(next(s for s in SCOPE_TRIGGERS.drop[dialect]
                                  if "consents_update" in s)))
        conn.execute(sa.text("UPDATE consents SET withdrawn_on = :day WHERE id = :id"),
                     {"day": TODAY, "id": sample["consent"]})
    assert _token(app) is not None  # the row is there; the check of the triggers says no
    assert _her_cases(app) == set()


@pytest.mark.real_commits
def test_a_change_through_one_app_is_seen_at_once_by_another(app, sample, other,  # noqa: F811
                                                             tmp_path):
    """Two app instances on one database, as two gunicorn workers: the token lives in the
    database, the cases in each process."""
    second = another_app(app, tmp_path)
    client = app.test_client()
    AuthActions(client).login_as("agency_staff")
    assert other["number"] not in client.get("/admin/case/").get_data(as_text=True)
    with second.app_context():
        _grant(sample, other)
        db.session.commit()
        db.engine.dispose()
    assert other["number"] in client.get("/admin/case/").get_data(as_text=True)


@pytest.mark.real_commits
def test_a_change_committed_while_her_cases_are_read_is_read_again(
        app, sample, other, monkeypatch):  # noqa: F811
    """The token is read before her cases: a change committed after they were read leaves them
    under the older token, so the next request reads them again (read the other way round, old
    cases would be kept under the new token)."""
    read = scoping._read_visible_cases

    def read_then_another_commits(agency_id, day):
        cases = read(agency_id, day)
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE consents SET withdrawn_on = :day WHERE id = :id"),
                         {"day": TODAY, "id": sample["consent"]})
        return cases

    monkeypatch.setattr(scoping, "_read_visible_cases", read_then_another_commits)
    assert _her_cases(app) == {sample["case"]}
    monkeypatch.setattr(scoping, "_read_visible_cases", read)
    assert _her_cases(app) == set()


def test_creating_the_triggers_again_gives_a_new_token(app, sample):
    """A migration that rebuilds one of these tables (SQLite batch) creates the triggers again
    with these statements; whatever it changed meanwhile must not keep the old token."""
    before = _token(app)
    with app.app_context(), db.engine.begin() as conn:
        dialect = db.engine.dialect.name
        for statement in (*SCOPE_TRIGGERS.drop[dialect], *SCOPE_TRIGGERS.ddl[dialect]):
            conn.execute(sa.text(statement))
    assert _token(app) not in (before, None)


def test_the_triggers_watch_every_column_the_rule_reads(app):
    """What is kept (the rule, policy.scoping._visible_case_ids, and the 年度 and women read
    with it) may only read columns whose change gives a new token: a rule that comes to read
    another column, or table, fails here until SCOPE_TRIGGERS watches it too."""
    with app.app_context():
        rule = scoping.visible_cases_read(1, TODAY)
        sql = str(rule.compile(db.engine))
    aliases = {alias: table for table, alias in re.findall(r"\b(\w+) AS (\w+)\b", sql)}
    read: dict[str, set[str]] = {}
    for name, column in re.findall(r"\b(\w+)\.(\w+)\b", sql):
        read.setdefault(aliases.get(name, name), set()).add(column)
    watched: dict[str, set[str] | None] = {}  # None: every column
    for trigger in SCOPE_TRIGGERS.triggers.values():
        if trigger.event.startswith("UPDATE"):
            columns = trigger.event.partition(" OF ")[2]
            watched[trigger.table] = {c.strip() for c in columns.split(",")} if columns else None
    for table, columns in read.items():
        assert table in watched, f"{table} は世代トークンのトリガーがない"
        unwatched = columns - (watched[table] or columns) - {"id"}
        assert not unwatched, f"{table}.{unwatched} の変更でトークンが変わらない"
    assert all(Trigger(t, e) in SCOPE_TRIGGERS.triggers.values()
               for t in watched for e in ("INSERT", "DELETE"))


def _ledger_count(client) -> int:
    """The count the ledger shows (「一覧 (N)」, no number when none)."""
    body = client.get("/admin/case/").get_data(as_text=True)
    match = re.search(r"一覧(?: \((\d+)\))?</a>", body)
    return int(match.group(1) or 0)


def _counts_sent(app, client) -> int:
    """Statements of one ledger page that count cases."""
    return sum(sql.startswith("SELECT count(*)") and "FROM cases" in sql
               for sql in statements_sent(app, client, "/admin/case/"))


def test_the_ledger_counts_every_case_until_one_is_added_or_removed(app, login_as, sample,
                                                                    other):  # noqa: F811
    """The unfiltered ledger's count is kept per process under the scope's token: a case saved
    keeps it, a case added (by the ORM) or removed (by hand-written SQL) is counted at once."""
    client = login_as("coordinator")
    assert _ledger_count(client) == 2
    assert _counts_sent(app, client) == 0
    with app.app_context():
        db.session.get(Case, sample["case"]).note = "メモ"
        db.session.commit()
    assert _counts_sent(app, client) == 0
    with app.app_context():
        woman_id = db.session.get(Case, other["case"]).woman_id
        added = Case(woman_id=woman_id, received_on=TODAY)
        db.session.add(added)
        db.session.commit()
        added_id = added.id
    assert _ledger_count(client) == 3
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM cases WHERE id = :id"), {"id": added_id})
    assert _ledger_count(client) == 2
    assert "一覧 (1)" in client.get("/admin/case/?search=" + sample["case_number"]).get_data(
        as_text=True)  # a search is counted as usual


def _year_statements(app, client) -> int:
    """Statements of one ledger page that read the oldest 年度 (the 年度 filter's options)."""
    return sum("min(cases.fiscal_year)" in sql
               for sql in statements_sent(app, client, "/admin/case/"))


def _years_offered(client) -> set[int]:
    page = client.get("/admin/case/").get_data(as_text=True)
    groups = json.loads(re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', page).group(1))
    return {int(code) for code, _label in groups["年度"][0]["options"]}


def test_the_ledgers_years_are_kept_until_a_cases_year_changes(app, login_as, sample,
                                                              other):  # noqa: F811
    """The 年度 filter offers the years from the oldest case's, kept per process under the
    scope's token: a case saved keeps it, a case's 年度 changed by hand-written SQL is offered
    at once."""
    client = login_as("coordinator")
    assert min(_years_offered(client)) == 2025
    assert _year_statements(app, client) == 0
    with app.app_context():
        db.session.get(Case, sample["case"]).note = "メモ"
        db.session.commit()
    assert _year_statements(app, client) == 0
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE cases SET fiscal_year = 2011 WHERE id = :id"),
                     {"id": other["case"]})
    assert min(_years_offered(client)) == 2011


def test_her_ledger_counts_her_kept_cases(app, login_as, sample, other):  # noqa: F811
    client = login_as("agency_staff")
    assert _ledger_count(client) == 1
    assert _counts_sent(app, client) == 0
    with app.app_context():
        _grant(sample, other)
        db.session.commit()
    assert _ledger_count(client) == 2


@pytest.mark.real_commits
def test_a_transaction_writes_the_token_once_on_postgresql(app, sample, other):  # noqa: F811
    """PostgreSQL writes the token once per transaction: each write makes a new version of the
    one row, and within a transaction each walks all those before it (a bulk load of 80,000
    role rows, one statement each, took 174 s). A write undone with its savepoint is written
    again by the transaction's next change."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite writes its one row in place")
        written = sa.text("SELECT n_tup_ins + n_tup_upd FROM pg_stat_xact_user_tables "
                          "WHERE relid = 'scope_generation'::regclass")
        token = sa.text("SELECT token FROM scope_generation")
        insert = sa.insert(RoleAssignment.__table__)
        row = {"case_id": other["case"], "agency_id": _agency(), "valid_from": TODAY,
               "function": RoleFunction.case_management.name}
        with db.engine.connect() as conn:
            before_token = conn.scalar(token)
            conn.rollback()
            with conn.begin():
                conn.exec_driver_sql("SAVEPOINT undone")
                conn.execute(insert, [row] * 2)
                conn.exec_driver_sql("ROLLBACK TO SAVEPOINT undone")
                conn.exec_driver_sql("RELEASE SAVEPOINT undone")
                assert conn.scalar(token) == before_token
                before = conn.scalar(written)
                conn.execute(insert.values([row] * 30))
                for _ in range(3):
                    conn.execute(insert, [row] * 10)  # one statement per row
                assert conn.scalar(written) - before == 1
                assert conn.scalar(token) != before_token


@pytest.mark.real_commits
def test_what_a_request_reads_after_its_own_change_is_not_kept(app, sample, other):  # noqa: F811
    """A transaction writes the token once (PostgreSQL): what a request reads between two of its
    own changes must not be kept under that token, which the second change leaves as it is."""
    with app.test_request_context():
        login_user(user_by_login(STAFF))
        assert _cases_now() == {sample["case"]}
        _grant(sample, other)
        db.session.flush()
        assert _cases_now() == {sample["case"], other["case"]}  # read between the changes
        _withdraw_by_hand(sample, other)
        db.session.commit()
        db.session.remove()
    assert _her_cases(app) == {other["case"]}


def _cases_now() -> set[int]:
    return set(db.session.scalars(scoping.scoped_select("case").with_only_columns(Case.id)))


@pytest.mark.real_commits
def test_what_a_request_reads_with_changes_it_then_undoes_is_not_kept(app, sample,
                                                                      other):  # noqa: F811
    """Its read flushes changes the request had queued (autoflush): the cases it reads are
    then the transaction's, under a token read before them. Undone, they must not be kept
    (found in review)."""
    with app.test_request_context():
        login_user(user_by_login(STAFF))
        _grant(sample, other)  # queued, not yet flushed
        assert _cases_now() == {sample["case"], other["case"]}
        db.session.rollback()
        db.session.remove()
    assert _her_cases(app) == {sample["case"]}
