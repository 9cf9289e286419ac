"""The home page: each figure is scoped, and its link lists exactly the rows it counts."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from kyogikai.japanese.fiscal import fiscal_year, fiscal_year_range
from kyogikai.models import (
    Agency,
    ApprovalReason,
    Case,
    CaseReview,
    CaseStatus,
    Companion,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    Meeting,
    MeetingKind,
    Relationship,
    Role,
    RoleAssignment,
    RoleFunction,
    SecrecyChange,
    User,
    Woman,
    db,
)
from kyogikai.policy.authentication import hash_password
from tests.conftest import PASSWORD, sqlite_plan

TODAY = date.today()
FIGURE = re.compile(r'<a [^>]*href="([^"]+)" data-figure="([^"]+)">.*?data-figure-number>(\d+)<',
                    re.S)


def _days(n: int) -> date:
    return TODAY + timedelta(days=n)


@pytest.fixture
def desk(app, sample):
    """Cases, consents, meetings and requests on both sides of every figure's line; some in the
    police's scope (the agency user), some not."""
    with app.app_context():
        home, police = db.session.scalars(sa.select(Agency).order_by(Agency.id)).all()
        coordinator = db.session.scalar(sa.select(User).where(User.role == Role.coordinator))

        def case(name, status, received, *, roles=(), consent=None, reviewed=None):
            woman = Woman(name=name, furigana="テスト")
            row = Case(woman=woman, received_on=received, status=status)
            if status in (CaseStatus.closed, CaseStatus.transferred):
                row.ended_on, row.end_reason = TODAY, "終結"
            db.session.add(row)
            for agency in roles:
                db.session.add(RoleAssignment(case=row, agency=agency,
                                              function=RoleFunction.direct_support,
                                              valid_from=received))
            if consent is not None:
                agencies, valid_until, withdrawn = consent
                db.session.add(Consent(woman=woman, purpose=ConsentPurpose.case_conference,
                                       obtained_on=received, method=ConsentMethod.written,
                                       agencies=agencies, valid_until=valid_until,
                                       withdrawn_on=withdrawn))
            if reviewed is not None:
                db.session.add(CaseReview(case=row, reviewed_on=reviewed))
            return row

        # Overdue (no 管理記録 for months), the police's, its consent expiring in 10 days.
        overdue = case("期限 超子", CaseStatus.received, _days(-200), roles=[police],
                       consent=([home, police], _days(10), None))
        # Recent, not the police's; its consent expired 5 days ago.
        case("最近 来子", CaseStatus.monitoring, _days(-10), consent=([home], _days(-5), None))
        # Overdue too, but reviewed recently: not overdue.
        case("記録 済子", CaseStatus.supporting, _days(-300), reviewed=_days(-20),
             consent=([home], _days(60), None))
        # Closed: neither open nor a consent to renew.
        case("終結 済子", CaseStatus.closed, _days(-400), consent=([home], _days(5), None))
        # Expired and renewed: nothing to do.
        renewed = case("更新 済子", CaseStatus.supporting, _days(-100), roles=[police],
                       consent=([home, police], _days(-3), None), reviewed=_days(-5))
        db.session.flush()
        db.session.add(Consent(woman=renewed.woman, purpose=ConsentPurpose.case_conference,
                               obtained_on=_days(-3), method=ConsentMethod.written,
                               agencies=[home, police]))
        # Withdrawn: not "to renew" (sharing has stopped).
        case("撤回 済子", CaseStatus.received, _days(-30),
             consent=([home], _days(7), _days(-1)), reviewed=_days(-2))
        # Meetings: in 3 and 10 days (one with the police), in 20 days, and this 年度's
        # 代表者会議 without the police.
        start, end = fiscal_year_range(fiscal_year(TODAY))
        db.session.add_all([
            Meeting(kind=MeetingKind.case_conference, held_on=_days(3), agencies=[police]),
            Meeting(kind=MeetingKind.practitioner, held_on=_days(10), agencies=[home]),
            Meeting(kind=MeetingKind.practitioner, held_on=_days(20), agencies=[home, police]),
            Meeting(kind=MeetingKind.representative, held_on=end, agencies=[home]),
            Meeting(kind=MeetingKind.representative, held_on=start - timedelta(days=1),
                    agencies=[home, police]),
        ])
        # 住所秘匿 requests: a woman and a companion (shown with her) wait for a second
        # coordinator; an account waits for approval.
        overdue.woman.address_hidden_pending = SecrecyChange.set
        overdue.woman.address_hidden_requested_by_id = coordinator.id
        child = Companion(woman=overdue.woman, name="期限 子", relationship_to_woman=Relationship.child,
                          address_hidden_pending=SecrecyChange.set,
                          address_hidden_requested_by_id=coordinator.id)
        db.session.add(child)
        db.session.add(User(login="waiting", display_name="承認 待子", role=Role.clerk,
                            agency=home, password_hash=hash_password(PASSWORD), active=True,
                            approval_pending=ApprovalReason.created))
        db.session.commit()
        return {"overdue_number": overdue.number}


def figures(client) -> dict[str, tuple[int, str]]:
    body = client.get("/admin/").get_data(as_text=True)
    return {key: (int(number), link.replace("&amp;", "&"))
            for link, key, number in FIGURE.findall(body)}


def rows_behind(client, link: str) -> int:
    body = client.get(link).get_data(as_text=True)
    listed = re.search(r'class="nav-link active">一覧(?: \((\d+)\))?<', body)
    if listed:  # a generated list: its own count of every matching row, all pages
        return int(listed.group(1) or 0)
    queue = body.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in body else ""
    return queue.count("<tr")


EXPECTED = {
    # figure → (coordinator, agency staff of the police)
    "status-received": (2, 1),     # 期限 + 撤回 / the police: 期限
    "status-supporting": (3, 2),   # sample + 記録 + 更新 / sample + 更新
    "status-monitoring": (1, 0),
    "overdue": (2, 2),             # sample (last review 2025) + 期限, both the police's
    "consent-renewal": (2, 1),     # 期限 (10 days) + 最近 (expired) / 期限
    "upcoming-meetings": (2, 1),
    "representative-meetings": (1, 0),
    "address-secrecy": (2, None),
    "account-approval": (1, None),
}


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_figure_links_to_exactly_its_rows(login_as, desk, role):
    client = login_as(role)
    shown = figures(client)
    for key, (number, link) in shown.items():
        assert rows_behind(client, link) == number, (key, link)
    if role == "admin":
        assert shown == {}
    if role in ("coordinator", "agency_staff"):
        column = 0 if role == "coordinator" else 1
        expected = {key: values[column] for key, values in EXPECTED.items()
                    if values[column] is not None}
        assert {key: number for key, (number, _link) in shown.items()} == expected


def test_a_missing_representative_meeting_is_a_warning(login_as, desk):
    body = login_as("agency_staff").get("/admin/").get_data(as_text=True)
    card = body.split('data-figure="representative-meetings"')[1].split("</a>")[0]
    assert "まだ開催も予定もありません" in card
    body = login_as("coordinator").get("/admin/").get_data(as_text=True)
    card = body.split('data-figure="representative-meetings"')[1].split("</a>")[0]
    assert "まだ開催も予定もありません" not in card


def test_the_overdue_filter_is_named_on_the_ledger(login_as, desk):
    client = login_as("clerk")
    link = figures(client)["overdue"][1]
    body = client.get(link).get_data(as_text=True)
    assert "フォロー期限超過" in body
    assert desk["overdue_number"] in body


def test_the_overdue_count_reads_its_index_alone_on_sqlite(app, login_as, desk):
    """The home page's overdue figure is counted from the open statuses' ranges of
    ix_cases_status_last_review_on alone (3 ms at 100,000 cases instead of 45), and the ledger
    page it links to walks the received dates instead of sorting every overdue case."""
    client = login_as("coordinator")
    plan = sqlite_plan(app, client, "/admin/", "coalesce(cases.last_review_on")
    assert "COVERING INDEX ix_cases_status_last_review_on (status=?)" in plan, plan
    link = figures(client)["overdue"][1]
    plan = sqlite_plan(app, client, link, "ORDER BY cases.received_on DESC", page_ids=True)
    assert "ix_cases_received_on" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize("table", ["women", "companions"])
def test_the_pending_secrecy_count_reads_its_own_index_on_sqlite(app, login_as, desk, table):
    """The 住所秘匿 requests waiting are counted from the pending index alone, not by walking
    every hidden address's index and reading each row for the flag (12 ms at 100,000 cases,
    where 30,000 women are hidden)."""
    plan = sqlite_plan(app, login_as("coordinator"), "/admin/",
                       f"FROM {table} \nWHERE {table}.address_hidden_pending IS NOT NULL")
    assert f"COVERING INDEX ix_{table}_secrecy_pending" in plan, plan
