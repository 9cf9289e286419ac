"""The agency staff's scope, read once per request (policy.scoping.visible_cases): the same
cases as the rule itself, and never older than the request's own change."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import g
from flask_login import login_user

from kyogikai.models import (
    Case,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    RoleAssignment,
    RoleFunction,
    db,
)
from kyogikai.policy import audit, scoping
from tests.conftest import user_by_login
from tests.test_scoping import other  # noqa: F401  (fixture)

TODAY = date.today()


def _cases() -> set[int]:
    return set(db.session.scalars(scoping.scoped_select("case").with_only_columns(Case.id)))


def _rule_runs(app):
    """Counts the statements that evaluate the rule itself (they read role_assignments)."""
    sent = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "FROM role_assignments" in statement:
            sent.append(statement)

    return sent, before


def test_kept_cases_are_the_rules_cases(app, sample, other):  # noqa: F811
    with app.app_context():
        staff = user_by_login("test-agency_staff")
        rule = set(db.session.scalars(sa.select(Case.id).where(
            Case.id.in_(scoping.visible_case_ids(staff)))))
    with app.test_request_context():
        login_user(user_by_login("test-agency_staff"))
        kept = _cases()
        assert g.visible_cases  # read once, kept for the request
        assert scoping.first_case_year() == 2025
    assert kept == rule == {sample["case"]}


def _grant(sample, outsider):
    """A role for her agency on the other case, and the other woman's consent naming it."""
    staff = user_by_login("test-agency_staff")
    case = db.session.get(Case, outsider["case"])
    db.session.add_all([
        RoleAssignment(case_id=case.id, agency_id=staff.agency_id, valid_from=TODAY,
                       function=RoleFunction.case_management),
        Consent(woman_id=case.woman_id, purpose=ConsentPurpose.case_conference,
                obtained_on=TODAY, method=ConsentMethod.oral, agencies=[staff.agency])])
    db.session.flush()


def _withdraw(sample, outsider):
    db.session.get(Consent, sample["consent"]).withdrawn_on = TODAY
    db.session.flush()


def _withdraw_in_bulk(sample, outsider):
    db.session.execute(sa.update(Consent).where(Consent.id == sample["consent"])
                       .values(withdrawn_on=TODAY))


def _withdraw_by_hand(sample, outsider):
    db.session.execute(sa.text("UPDATE consents SET withdrawn_on = :day WHERE id = :id"),
                       {"day": TODAY, "id": sample["consent"]})


def _end_role_in_bulk(sample, outsider):
    """Her agency's role and its meeting attendance both end: nothing shows the case."""
    db.session.execute(sa.update(RoleAssignment)
                       .where(RoleAssignment.id == sample["role_assignment"])
                       .values(valid_to=TODAY - timedelta(days=1)))
    db.session.execute(sa.text("DELETE FROM meeting_agencies WHERE agency_id = :agency"),
                       {"agency": user_by_login("test-agency_staff").agency_id})


@pytest.mark.parametrize(("change", "shown"), [
    (_grant, {"sample", "other"}),
    (_withdraw, set()),
    (_withdraw_in_bulk, set()),
    (_withdraw_by_hand, set()),
    (_end_role_in_bulk, set()),
])
def test_the_requests_own_change_is_seen_by_its_next_query(app, sample, other, change,  # noqa: F811
                                                           shown):
    ids = {"sample": sample["case"], "other": other["case"]}
    with app.test_request_context():
        login_user(user_by_login("test-agency_staff"))
        assert _cases() == {sample["case"]}
        change(sample, other)
        assert _cases() == {ids[name] for name in shown}
        db.session.rollback()


def test_an_audit_row_keeps_the_cases_read(app, sample):
    """A page records what it read (policy.audit) between its queries, outside the session
    (the rows are inserted after the response): the rule is not run again."""
    sent, before = _rule_runs(app)
    with app.test_request_context():
        login_user(user_by_login("test-agency_staff"))
        sa.event.listen(db.engine, "before_cursor_execute", before)
        try:
            assert _cases() == {sample["case"]}
            audit.record_read("case", sample["case"])
            db.session.flush()
            assert _cases() == {sample["case"]}
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before)
    assert len(sent) == 1, sent


def test_each_user_and_day_has_its_own_cases(app, sample, other):  # noqa: F811
    """Kept under the user, her agency and the day: another user in the same request (a
    command acting for several) or another day never gets these."""
    with app.test_request_context():
        staff = user_by_login("test-agency_staff")
        login_user(staff)
        assert _cases() == {sample["case"]}
        coordinator = user_by_login("test-coordinator")
        assert set(db.session.scalars(scoping.scoped_select("case", coordinator)
                                      .with_only_columns(Case.id))) == {sample["case"],
                                                                        other["case"]}
        before = TODAY - timedelta(days=3650)
        assert set(db.session.scalars(scoping.scoped_select("case", staff, before)
                                      .with_only_columns(Case.id))) == set()
        staff.agency_id = None  # not flushed: the key, not a write, must tell them apart
        with db.session.no_autoflush:
            assert _cases() == set()
        db.session.rollback()


def test_outside_a_request_the_rule_itself_runs(app, sample):
    with app.app_context():
        staff = user_by_login("test-agency_staff")
        assert scoping.visible_cases(staff) is None
        assert set(db.session.scalars(scoping.scoped_select("case", staff)
                                      .with_only_columns(Case.id))) == {sample["case"]}
