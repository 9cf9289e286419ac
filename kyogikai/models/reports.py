"""事業計画書 (様式2) and 実施状況報告書 (様式3); the report's counts are computed, not typed
(models/annual.py)."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kyogikai.models.base import VersionedMixin, db


class BusinessPlan(VersionedMixin, db.Model):
    __tablename__ = "business_plans"
    __label__ = _l("事業計画書")

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, unique=True)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    period_from: Mapped[date | None] = mapped_column(Date)  # 1 事業の実施時期
    period_to: Mapped[date | None] = mapped_column(Date)
    expected_women: Mapped[int | None] = mapped_column(Integer)  # 2(1) 同伴家族含む実人員
    council_members: Mapped[str] = mapped_column(Text, default="")  # 2(2)
    council_activities: Mapped[str] = mapped_column(Text, default="")
    representative_members: Mapped[str] = mapped_column(Text, default="")  # 2(3)
    representative_activities: Mapped[str] = mapped_column(Text, default="")
    practitioner_members: Mapped[str] = mapped_column(Text, default="")  # 2(4)
    practitioner_activities: Mapped[str] = mapped_column(Text, default="")
    case_conference_members: Mapped[str] = mapped_column(Text, default="")  # 2(5)
    case_conference_activities: Mapped[str] = mapped_column(Text, default="")
    coordinator_staff: Mapped[str] = mapped_column(Text, default="")  # 2(6)
    coordinator_activities: Mapped[str] = mapped_column(Text, default="")

    cost_lines = relationship("PlanCostLine", back_populates="plan", cascade="all, delete-orphan",
                              order_by="PlanCostLine.id")

    def problems(self) -> list[str]:
        if self.period_from and self.period_to and self.period_to < self.period_from:
            return [_l("実施時期の終了日が開始日より前になっています。")]
        return []

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度 事業計画書"


class CostLineMixin:
    """One line of a cost breakdown: 費目, 金額（円）, 備考."""

    id: Mapped[int] = mapped_column(primary_key=True)
    item: Mapped[str] = mapped_column(String(200))
    amount_yen: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), default="")

    def __str__(self) -> str:
        return f"{self.item}：{self.amount_yen:,}円"


class PlanCostLine(CostLineMixin, VersionedMixin, db.Model):
    """3 事業所要額: one line of the breakdown of eligible costs."""

    __tablename__ = "plan_cost_lines"
    __label__ = _l("事業所要額の内訳")

    plan_id: Mapped[int] = mapped_column(ForeignKey("business_plans.id", ondelete="CASCADE"),
                                         index=True)

    plan = relationship("BusinessPlan", back_populates="cost_lines")


class AnnualReport(VersionedMixin, db.Model):
    __tablename__ = "annual_reports"
    __label__ = _l("実施状況報告書")

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, unique=True)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    women_attributes: Mapped[str] = mapped_column(Text, default="")  # 1(1) 属性の内訳（補足）
    council_members: Mapped[str] = mapped_column(Text, default="")  # 1(2)
    council_results: Mapped[str] = mapped_column(Text, default="")
    representative_members: Mapped[str] = mapped_column(Text, default="")  # 1(3)
    representative_results: Mapped[str] = mapped_column(Text, default="")
    practitioner_members: Mapped[str] = mapped_column(Text, default="")  # 1(4)
    practitioner_results: Mapped[str] = mapped_column(Text, default="")
    case_conference_members: Mapped[str] = mapped_column(Text, default="")  # 1(5)
    case_conference_results: Mapped[str] = mapped_column(Text, default="")
    coordinator_staff: Mapped[str] = mapped_column(Text, default="")  # 1(6)
    coordinator_results: Mapped[str] = mapped_column(Text, default="")
    ingenuity_effects_issues: Mapped[str] = mapped_column(Text, default="")  # 1(7)

    cost_lines = relationship("ReportCostLine", back_populates="report",
                              cascade="all, delete-orphan", order_by="ReportCostLine.id")

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度 実施状況報告書"


class ReportCostLine(CostLineMixin, VersionedMixin, db.Model):
    """2 事業実績額: one line of actual spending (人件費、会議費、事務費 …)."""

    __tablename__ = "report_cost_lines"
    __label__ = _l("事業実績額の内訳")

    report_id: Mapped[int] = mapped_column(ForeignKey("annual_reports.id", ondelete="CASCADE"),
                                           index=True)

    report = relationship("AnnualReport", back_populates="cost_lines")
