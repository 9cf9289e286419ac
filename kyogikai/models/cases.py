"""The case (ケース進行管理台帳の一行) and what hangs on it: roles, 管理記録, 支援経過."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    DDL,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    exists,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column, relationship

from kyogikai.japanese.fiscal import fiscal_year, fiscal_year_prefix
from kyogikai.japanese.wareki import format_wareki
from kyogikai.models.base import VersionedMixin, db
from kyogikai.models.enums import LabeledEnum, enum_type


class CaseStatus(LabeledEnum):
    received = "received", _l("受理")
    supporting = "supporting", _l("支援中")
    monitoring = "monitoring", _l("見守り")
    closed = "closed", _l("終結")
    transferred = "transferred", _l("移管")


ENDED_STATUSES = (CaseStatus.closed, CaseStatus.transferred)
OPEN_STATUSES = tuple(status for status in CaseStatus if status not in ENDED_STATUSES)


class Level(LabeledEnum):
    """危険度・緊急度 (要綱 4(2)ウ i)."""

    high = "high", _l("高")
    medium = "medium", _l("中")
    low = "low", _l("低")


class RoleFunction(LabeledEnum):
    """役割分担 (要綱 4(2)ウ i–iii) and the 主たる支援機関 (4(2)ウ v, 4(3)③).

    The 主担当機関 is not a row here: each 管理記録 records it as the meeting decided it, and the
    ledger follows the latest one (see ``Case.current_lead_agency_id``).
    """

    direct_support = "direct_support", _l("主たる直接支援機能")
    coordination = "coordination", _l("取りまとめ機能")
    case_management = "case_management", _l("ケース管理・調整機能")
    main_support = "main_support", _l("主たる支援機関")

    @property
    def single_holder(self) -> bool:
        """Only 主たる直接支援 may be held by several agencies at once (要綱 4(2)ウ i 2))."""
        return self is not RoleFunction.direct_support


class SupportKind(LabeledEnum):
    interview = "interview", _l("面接")
    phone = "phone", _l("電話")
    accompany = "accompany", _l("同行支援")
    home_visit = "home_visit", _l("家庭訪問")
    temporary_protection = "temporary_protection", _l("一時保護")
    facility = "facility", _l("施設入所")
    liaison = "liaison", _l("関係機関との連絡調整")
    other = "other", _l("その他")


class CaseSerial(db.Model):
    """The last serial used per 年度: one row locked per new case, so numbers never collide."""

    __tablename__ = "case_serials"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度の最終番号 {self.last_serial}"


class Case(VersionedMixin, db.Model):
    __tablename__ = "cases"
    __label__ = _l("ケース")
    __table_args__ = (
        UniqueConstraint("fiscal_year", "serial", name="uq_cases_fiscal_year_serial"),
        Index("ix_cases_status_received_on", "status", "received_on"),
        # The 年度 filter lists a year newest first: one index walk, no sort of the year.
        Index("ix_cases_fiscal_year_received_on", "fiscal_year", "received_on"),
        # The follow-up deadline (overdue_clause, the home page's figure): counted from the
        # index alone.
        Index("ix_cases_status_last_review_on", "status", "last_review_on", "received_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    woman_id: Mapped[int] = mapped_column(ForeignKey("women.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus), default=CaseStatus.received,
                                               index=True)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str] = mapped_column(Text, default="")
    # The case's own judgment and 主担当機関, typed at intake (受理時). The ledger shows them only
    # while the case has no 管理記録; see the current_* columns.
    risk_level: Mapped[Level | None] = mapped_column(enum_type(Level))
    urgency: Mapped[Level | None] = mapped_column(enum_type(Level))
    lead_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # Denormalised from CaseReview so the ledger can sort, filter and flag overdue with an index.
    last_review_on: Mapped[date | None] = mapped_column(Date, index=True)
    # What the ledger shows: the latest 管理記録's 危険度・緊急度・主担当機関 (all three from that one
    # record, even when it left one blank), or the case's own values while it has none
    # (``last_review_on`` is then empty). Kept in step by refresh_ledger_values on every change
    # of a 管理記録 or of the case's own values; never typed.
    current_risk_level: Mapped[Level | None] = mapped_column(enum_type(Level), index=True)
    current_urgency: Mapped[Level | None] = mapped_column(enum_type(Level), index=True)
    current_lead_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"),
                                                                index=True)

    woman = relationship("Woman", back_populates="cases")
    lead_agency = relationship("Agency", foreign_keys=[lead_agency_id])
    current_lead_agency = relationship("Agency", foreign_keys=[current_lead_agency_id])
    reviews = relationship("CaseReview", back_populates="case", order_by="CaseReview.reviewed_on")
    role_assignments = relationship("RoleAssignment", back_populates="case",
                                    order_by="RoleAssignment.valid_from")
    support_records = relationship("SupportRecord", back_populates="case",
                                   order_by="SupportRecord.recorded_on")
    meeting_links = relationship("MeetingCase", back_populates="case")

    @property
    def is_open(self) -> bool:
        return self.status not in ENDED_STATUSES

    @property
    def ledger_values_are_own(self) -> bool:
        """True while no 管理記録 exists: the ledger then shows the case's own (受理時) values."""
        return self.last_review_on is None

    def problems(self) -> list[str]:
        """Domain rules a save must satisfy, as Japanese messages (empty when valid)."""
        errors = []
        if self.status in ENDED_STATUSES:
            if self.ended_on is None:
                errors.append(_l("終結・移管には、その年月日を入力してください。"))
            if not (self.end_reason or "").strip():
                errors.append(_l("終結・移管には、その理由を入力してください。"))
        if self.ended_on and self.received_on and self.ended_on < self.received_on:
            errors.append(_l("終結・移管の年月日が相談受理年月日より前になっています。"))
        return errors

    def __str__(self) -> str:
        return self.number or str(_l("（番号未採番のケース）"))


@event.listens_for(Case, "before_insert")
def _assign_number(mapper, connection, target: Case) -> None:
    """番号 = 年度 prefix + serial (R7-0001), drawn from CaseSerial with a row-level update."""
    if target.number:
        return
    fy = fiscal_year(target.received_on)
    table = CaseSerial.__table__
    bumped = connection.execute(
        update(table).where(table.c.fiscal_year == fy)
        .values(last_serial=table.c.last_serial + 1).returning(table.c.last_serial)
    ).scalar()
    if bumped is None:
        # First case of the year; the PK makes a concurrent first insert fail loudly, not twice.
        existing = connection.execute(
            select(func.coalesce(func.max(Case.__table__.c.serial), 0))
            .where(Case.__table__.c.fiscal_year == fy)
        ).scalar()
        bumped = existing + 1
        connection.execute(table.insert().values(fiscal_year=fy, last_serial=bumped))
    target.fiscal_year = fy
    target.serial = bumped
    target.number = f"{fiscal_year_prefix(fy)}-{bumped:04d}"


class RoleHistoryError(PermissionError):
    """A change that would rewrite or delete role history (it may only grow)."""


class RoleAssignment(VersionedMixin, db.Model):
    """役割分担 as history that only grows (see models.roles for the rules of change).

    A change ends the holder's row (``valid_to``, ``ended_meeting_id``: the only columns that may
    ever be set after insert, once, from empty) and starts a new one. A mistake is corrected by a
    new row naming the row it corrects (``corrects_id``, with ``correction_reason``); the corrected
    row is void from then on. A cancellation row (``cancels``) voids without holding anything.
    No row is ever deleted. The ORM listeners below and database triggers (ROLE_HISTORY_DDL)
    both refuse anything else, for every role and every code path.
    """

    __tablename__ = "role_assignments"
    __label__ = _l("役割分担")

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    function: Mapped[RoleFunction] = mapped_column(enum_type(RoleFunction))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    # active_history: the value before a change is loaded, so "closed once" can be checked.
    valid_to: Mapped[date | None] = mapped_column(Date, active_history=True)
    ended_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"),
                                                         active_history=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # 要綱 4(3)③: the 調整機関 designated this 主たる支援機関 because the agencies could not agree.
    designated: Mapped[bool] = mapped_column(Boolean, default=False)
    designation_reason: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("role_assignments.id"),
                                                    index=True)
    cancels: Mapped[bool] = mapped_column(Boolean, default=False)
    correction_reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case = relationship("Case", back_populates="role_assignments")
    agency = relationship("Agency")
    meeting = relationship("Meeting", foreign_keys=[meeting_id])
    ended_meeting = relationship("Meeting", foreign_keys=[ended_meeting_id])
    corrects = relationship("RoleAssignment", remote_side=[id])
    recorded_by = relationship("User")

    # Set once after insert (from empty), never changed again; everything else never changes.
    CLOSING_COLUMNS = ("valid_to", "ended_meeting_id")
    BOOKKEEPING_COLUMNS = ("updated_at", "version", "updated_by_id")

    def is_current_on(self, day: date) -> bool:
        """Held on ``day`` by the dates alone; a voided row (see models.roles) holds nothing."""
        return (not self.cancels and self.valid_from <= day
                and (self.valid_to is None or day <= self.valid_to))

    def problems(self) -> list[str]:
        errors = []
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            errors.append(_l("終了日が開始日より前になっています。"))
        if self.designated:
            if self.function is not RoleFunction.main_support:
                errors.append(_l("要綱4(3)③の指定は主たる支援機関についてだけ行えます。"))
            if not (self.designation_reason or "").strip():
                errors.append(_l("要綱4(3)③の指定には、その理由を入力してください。"))
            if self.meeting_id is None and self.meeting is None:
                errors.append(_l("要綱4(3)③の指定には、協議が調わなかった会議を選んでください。"))
        if (self.corrects_id is not None or self.corrects is not None) and not (
                self.correction_reason or "").strip():
            errors.append(_l("訂正には、その理由を入力してください。"))
        return errors

    def __str__(self) -> str:
        return f"{self.case}：{self.agency}（{self.function.label}）"


def _closing_only(target: RoleAssignment) -> list[str]:
    """Columns an UPDATE of ``target`` would change beyond closing an open row once."""
    state = inspect(target)
    wrong = []
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes() or attr.key in RoleAssignment.BOOKKEEPING_COLUMNS:
            continue
        before = history.deleted[0] if history.deleted else None
        if attr.key in RoleAssignment.CLOSING_COLUMNS and before is None:
            continue
        wrong.append(attr.key)
    return wrong


@event.listens_for(RoleAssignment, "before_update")
def _refuse_rewrite(mapper, connection, target: RoleAssignment) -> None:
    wrong = _closing_only(target)
    if wrong:
        raise RoleHistoryError(f"role_assignments: history only grows (changed {wrong})")


@event.listens_for(RoleAssignment, "before_delete")
def _refuse_delete(mapper, connection, target: RoleAssignment) -> None:
    raise RoleHistoryError("role_assignments: history rows are never deleted")


# The database refuses the same, so no hand-written UPDATE or DELETE rewrites the history. The
# same statements run in the Alembic revision that adds them; create_all (tests) runs them here.
_IMMUTABLE = ("case_id", "agency_id", "function", "meeting_id", "valid_from", "note",
              "designated", "designation_reason", "corrects_id", "cancels", "correction_reason",
              "recorded_by_id", "created_at")
_SQLITE_CHANGED = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _IMMUTABLE)
_PG_CHANGED = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _IMMUTABLE)
_REOPENED = ("(OLD.valid_to IS NOT NULL AND NEW.valid_to {ne} OLD.valid_to) OR "
             "(OLD.ended_meeting_id IS NOT NULL AND NEW.ended_meeting_id {ne} OLD.ended_meeting_id)")
ROLE_HISTORY_DDL = {
    "sqlite": [
        "CREATE TRIGGER role_assignments_no_delete BEFORE DELETE ON role_assignments "
        "BEGIN SELECT RAISE(ABORT, 'role_assignments: history rows are never deleted'); END",
        "CREATE TRIGGER role_assignments_only_grow BEFORE UPDATE ON role_assignments "
        f"WHEN {_SQLITE_CHANGED} OR {_REOPENED.format(ne='IS NOT')} "
        "BEGIN SELECT RAISE(ABORT, 'role_assignments: history only grows'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION role_assignments_only_grow() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'DELETE' THEN "
        "RAISE EXCEPTION 'role_assignments: history rows are never deleted'; END IF; "
        f"IF {_PG_CHANGED} OR {_REOPENED.format(ne='IS DISTINCT FROM')} THEN "
        "RAISE EXCEPTION 'role_assignments: history only grows'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER role_assignments_only_grow BEFORE UPDATE OR DELETE ON role_assignments "
        "FOR EACH ROW EXECUTE FUNCTION role_assignments_only_grow()",
    ],
}
ROLE_HISTORY_DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS role_assignments_no_delete",
               "DROP TRIGGER IF EXISTS role_assignments_only_grow"],
    "postgresql": ["DROP TRIGGER IF EXISTS role_assignments_only_grow ON role_assignments",
                   "DROP FUNCTION IF EXISTS role_assignments_only_grow()"],
}

for _dialect, _statements in ROLE_HISTORY_DDL.items():
    for _statement in _statements:
        event.listen(RoleAssignment.__table__, "after_create",
                     DDL(_statement).execute_if(dialect=_dialect))


def held_on_clause(day: date, row=RoleAssignment):
    """SQL: ``row`` is held on ``day``: within its dates, not a cancellation, not corrected by
    a later row.

    Written as NOT … AND NOT EXISTS (not NOT (… OR EXISTS)) so PostgreSQL plans an anti join,
    and with ``corrects_id IS NOT NULL`` (implied by the equality) so it reads the few
    corrections from their index instead of hashing the whole history per query.
    """
    correction = aliased(RoleAssignment)
    return ((row.valid_from <= day) & (row.valid_to.is_(None) | (row.valid_to >= day))
            & row.cancels.isnot(True)
            & ~exists().where(correction.corrects_id.isnot(None),
                              correction.corrects_id == row.id))


class CaseReview(VersionedMixin, db.Model):
    """管理記録 (様式1): the case as a meeting saw it — lead agency then, situation, judgment, policy."""

    __tablename__ = "case_reviews"
    __label__ = _l("管理記録")

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    reviewed_on: Mapped[date] = mapped_column(Date, index=True)
    lead_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    situation: Mapped[str] = mapped_column(Text, default="")
    risk_level: Mapped[Level | None] = mapped_column(enum_type(Level))
    urgency: Mapped[Level | None] = mapped_column(enum_type(Level))
    support_policy: Mapped[str] = mapped_column(Text, default="")
    # 実務者会議 (4(2)イ ii): this case needs a 個別ケース検討会議.
    needs_conference: Mapped[bool] = mapped_column(Boolean, default=False)

    case = relationship("Case", back_populates="reviews")
    meeting = relationship("Meeting", back_populates="reviews")
    lead_agency = relationship("Agency")

    def __str__(self) -> str:
        return f"{self.case} の管理記録（{format_wareki(self.reviewed_on)}）"


class SupportRecord(VersionedMixin, db.Model):
    """支援経過: what an agency did for the woman, day by day."""

    __tablename__ = "support_records"
    __label__ = _l("支援経過")

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    recorded_on: Mapped[date] = mapped_column(Date, index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[SupportKind] = mapped_column(enum_type(SupportKind))
    content: Mapped[str] = mapped_column(Text, default="")

    case = relationship("Case", back_populates="support_records")
    agency = relationship("Agency")

    def __str__(self) -> str:
        return f"{self.case} の支援経過（{format_wareki(self.recorded_on)}・{self.kind.label}）"


def refresh_ledger_values(connection, case_id: int) -> None:
    """last_review_on and the current_* columns of one case, from its 管理記録 (the latest by
    記録日, then by id) or, while it has none, from the case's own values."""
    reviews = CaseReview.__table__
    cases = Case.__table__
    has_review = exists().where(reviews.c.case_id == cases.c.id)

    def latest_or_own(column: str):
        latest = (select(reviews.c[column]).where(reviews.c.case_id == cases.c.id)
                  .order_by(reviews.c.reviewed_on.desc(), reviews.c.id.desc()).limit(1)
                  .scalar_subquery())
        return sql_case((has_review, latest), else_=cases.c[column])

    connection.execute(
        update(cases).where(cases.c.id == case_id).values(
            last_review_on=select(func.max(reviews.c.reviewed_on))
            .where(reviews.c.case_id == cases.c.id).scalar_subquery(),
            current_risk_level=latest_or_own("risk_level"),
            current_urgency=latest_or_own("urgency"),
            current_lead_agency_id=latest_or_own("lead_agency_id"),
        )
    )
    _stale(connection, case_id)


LEDGER_COLUMNS = ("last_review_on", "current_risk_level", "current_urgency",
                  "current_lead_agency_id")


def _stale(connection, case_id: int) -> None:
    """Remember a case whose ledger columns changed under the ORM, to expire them after flush."""
    stale = connection.info.setdefault("ledger_stale_cases", set())
    stale.add(case_id)


@event.listens_for(Session, "after_flush")
def _expire_ledger_columns(session, flush_context) -> None:
    stale = session.connection().info.pop("ledger_stale_cases", set())
    for case_id in stale:
        record = session.identity_map.get(session.identity_key(Case, case_id))
        if record is not None:
            session.expire(record, LEDGER_COLUMNS)


@event.listens_for(CaseReview, "after_insert")
@event.listens_for(CaseReview, "after_update")
@event.listens_for(CaseReview, "after_delete")
def _review_changed(mapper, connection, target: CaseReview) -> None:
    refresh_ledger_values(connection, target.case_id)
    history = db.inspect(target).attrs.case_id.history
    for old_case_id in history.deleted or ():
        if old_case_id is not None:
            refresh_ledger_values(connection, old_case_id)


OWN_COLUMNS = ("risk_level", "urgency", "lead_agency_id")


@event.listens_for(Case, "after_insert")
def _case_inserted(mapper, connection, target: Case) -> None:
    refresh_ledger_values(connection, target.id)


@event.listens_for(Case, "after_update")
def _own_values_changed(mapper, connection, target: Case) -> None:
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in OWN_COLUMNS):
        refresh_ledger_values(connection, target.id)


def add_months(day: date, months: int) -> date:
    """The same day N months later, clamped to the month's end (1/31 + 1 → 2/28 or 2/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)


def review_due_on(case: Case, interval_months: int) -> date:
    """DOMAIN rule 4: the next 管理記録 is due N months after the last (or after 受理)."""
    return add_months(case.last_review_on or case.received_on, interval_months)


def is_review_overdue(case: Case, interval_months: int, today: date) -> bool:
    return case.is_open and review_due_on(case, interval_months) < today


def active_between(start: date, end: date):
    """SQL: the case was under management at some time from start to end (both inclusive):
    received by the end and not ended before the start. A 年度's ledger and its counts."""
    return (Case.received_on <= end) & (Case.ended_on.is_(None) | (Case.ended_on >= start))


def overdue_clause(interval_months: int, today: date, counting: bool = False):
    """SQL for is_review_overdue, read from ix_cases_status_last_review_on.

    ``counting`` (the home page's figure): the open statuses named, so the count reads their
    ranges of the index alone (at 100,000 cases on SQLite 3 ms; as "not ended", a scan of the
    whole index: 7–22 ms, and more on PostgreSQL too). The ledger's 「フォロー期限超過」 page says
    "not ended": named, SQLite lists it from the status index and sorts 20,000 cases (58 ms)
    instead of walking the received dates (2 ms). The same rows, as status is never NULL
    (tests/test_dashboard.py: the figure equals the rows of its page).
    """
    cutoff = add_months(today, -interval_months)
    status = Case.status.in_(OPEN_STATUSES) if counting else Case.status.not_in(ENDED_STATUSES)
    return status & (func.coalesce(Case.last_review_on, Case.received_on) < cutoff)
