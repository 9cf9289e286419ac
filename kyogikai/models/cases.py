"""The case (ケース進行管理台帳の一行) and what hangs on it: roles, 管理記録, 支援経過."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kyogikai.japanese.fiscal import fiscal_year, fiscal_year_prefix
from kyogikai.models.base import VersionedMixin, db
from kyogikai.models.enums import LabeledEnum, enum_type


class CaseStatus(LabeledEnum):
    received = "received", _l("受理")
    supporting = "supporting", _l("支援中")
    monitoring = "monitoring", _l("見守り")
    closed = "closed", _l("終結")
    transferred = "transferred", _l("移管")


ENDED_STATUSES = (CaseStatus.closed, CaseStatus.transferred)


class Level(LabeledEnum):
    """危険度・緊急度 (要綱 4(2)ウ i)."""

    high = "high", _l("高")
    medium = "medium", _l("中")
    low = "low", _l("低")


class RoleFunction(LabeledEnum):
    """役割分担 (要綱 4(2)ウ i–iii)."""

    direct_support = "direct_support", _l("主たる直接支援機能")
    coordination = "coordination", _l("取りまとめ機能")
    case_management = "case_management", _l("ケース管理・調整機能")


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
    risk_level: Mapped[Level | None] = mapped_column(enum_type(Level), index=True)
    urgency: Mapped[Level | None] = mapped_column(enum_type(Level), index=True)
    lead_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    main_support_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"),
                                                                index=True)
    # 要綱 4(3)③: when agencies could not agree, the 調整機関 designated the main support agency.
    main_support_designated: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    # Denormalised from CaseReview so the ledger can sort, filter and flag overdue with an index.
    last_review_on: Mapped[date | None] = mapped_column(Date, index=True)

    woman = relationship("Woman", back_populates="cases")
    lead_agency = relationship("Agency", foreign_keys=[lead_agency_id])
    main_support_agency = relationship("Agency", foreign_keys=[main_support_agency_id])
    reviews = relationship("CaseReview", back_populates="case", order_by="CaseReview.reviewed_on")
    role_assignments = relationship("RoleAssignment", back_populates="case",
                                    order_by="RoleAssignment.valid_from")
    support_records = relationship("SupportRecord", back_populates="case",
                                   order_by="SupportRecord.recorded_on")
    meeting_links = relationship("MeetingCase", back_populates="case")

    @property
    def is_open(self) -> bool:
        return self.status not in ENDED_STATUSES

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


class RoleAssignment(VersionedMixin, db.Model):
    """役割分担 as history: a change ends one row (valid_to) and starts another, never overwrites."""

    __tablename__ = "role_assignments"
    __label__ = _l("役割分担")

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    function: Mapped[RoleFunction] = mapped_column(enum_type(RoleFunction))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")

    case = relationship("Case", back_populates="role_assignments")
    agency = relationship("Agency")
    meeting = relationship("Meeting")

    def is_current_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def problems(self) -> list[str]:
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            return [_l("終了日が開始日より前になっています。")]
        return []

    def __str__(self) -> str:
        return f"{self.case}：{self.agency}（{self.function.label}）"


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

    case = relationship("Case", back_populates="reviews")
    meeting = relationship("Meeting", back_populates="reviews")
    lead_agency = relationship("Agency")

    def __str__(self) -> str:
        return f"{self.case} の管理記録（{self.reviewed_on:%Y-%m-%d}）"


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
        return f"{self.case} の支援経過（{self.recorded_on:%Y-%m-%d}・{self.kind.label}）"


def refresh_last_review(connection, case_id: int) -> None:
    table = CaseReview.__table__
    latest = select(func.max(table.c.reviewed_on)).where(table.c.case_id == case_id)
    connection.execute(
        update(Case.__table__).where(Case.__table__.c.id == case_id)
        .values(last_review_on=latest.scalar_subquery())
    )


@event.listens_for(CaseReview, "after_insert")
@event.listens_for(CaseReview, "after_update")
@event.listens_for(CaseReview, "after_delete")
def _review_changed(mapper, connection, target: CaseReview) -> None:
    refresh_last_review(connection, target.case_id)
    history = db.inspect(target).attrs.case_id.history
    for old_case_id in history.deleted or ():
        if old_case_id is not None:
            refresh_last_review(connection, old_case_id)


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


def overdue_clause(interval_months: int, today: date):
    """SQL for is_review_overdue, on the indexed last_review_on / received_on columns."""
    cutoff = add_months(today, -interval_months)
    return Case.status.not_in(ENDED_STATUSES) & (
        func.coalesce(Case.last_review_on, Case.received_on) < cutoff
    )
