"""様式3's figures, computed from one 年度's records (never typed): who was supported, by whom,
at which meetings.

Every count takes the WHERE clauses that decide which cases and meetings the reader may see
(policy/ passes them; this module does not know who is asking). Counting happens in the database,
a handful of grouped statements whatever the size of the ledger: age bands are ranges of birth
dates (japanese.age.latest_birth_for_age), so no age is computed row by row.
"""

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, true

from kyogikai.japanese.age import latest_birth_for_age
from kyogikai.japanese.fiscal import fiscal_year_range
from kyogikai.models.base import db
from kyogikai.models.cases import Case, active_between
from kyogikai.models.council import Agency, AgencyCategory, Member
from kyogikai.models.meetings import Meeting, MeetingKind, meeting_agencies
from kyogikai.models.women import Companion, Concern, ReferralRoute, Woman, woman_concerns

# (label, from age, below age); None = open end. The usual bands of 婦人保護事業 statistics.
AGE_BANDS = (
    (_l("18歳未満"), None, 18),
    (_l("18～19歳"), 18, 20),
    (_l("20～29歳"), 20, 30),
    (_l("30～39歳"), 30, 40),
    (_l("40～49歳"), 40, 50),
    (_l("50～59歳"), 50, 60),
    (_l("60～69歳"), 60, 70),
    (_l("70歳以上"), 70, None),
)
UNKNOWN = _l("不明")
NO_CONCERN = _l("（主訴の登録なし）")
WITH_COMPANIONS, WITHOUT_COMPANIONS = _l("同伴家族あり"), _l("同伴家族なし")


@dataclass(frozen=True)
class Tally:
    label: str
    count: int


@dataclass(frozen=True)
class MeetingHeld:
    held_on: date
    agencies: int  # attending agencies


@dataclass(frozen=True)
class MeetingKindFigures:
    kind: MeetingKind
    held: tuple[MeetingHeld, ...]
    agencies: tuple[str, ...]  # every agency that attended one of them

    @property
    def count(self) -> int:
        return len(self.held)


@dataclass(frozen=True)
class CoordinatorFigure:
    name: str
    agency: str
    title: str
    qualifications: tuple[str, ...]  # 要綱 4(3)① ア・イ・ウ, as printed


@dataclass(frozen=True)
class AnnualFigures:
    """様式3 1(1)–(6) for one 年度."""

    fiscal_year: int
    start: date
    end: date
    held_until: date  # meetings count when held by this day (the year's end, or today)
    age_on: date  # ages are as of this day (the year's last day)
    women: int  # 実人数
    companions: int
    new_cases: int
    by_age: tuple[Tally, ...]
    by_concern: tuple[Tally, ...]
    by_route: tuple[Tally, ...]
    by_companions: tuple[Tally, ...]
    member_agencies: tuple[tuple[str, str], ...]  # (name, 要綱4(1) category)
    meetings: tuple[MeetingKindFigures, ...]
    coordinators: tuple[CoordinatorFigure, ...]

    @property
    def total(self) -> int:
        return self.women + self.companions

    def meetings_of(self, kind: MeetingKind) -> MeetingKindFigures:
        return next(m for m in self.meetings if m.kind is kind)

    def summary(self) -> str:
        per_kind = "、".join(f"{m.kind.label} {m.count}回" for m in self.meetings)
        return (f"支援対象女性 {self.women}人（同伴家族 {self.companions}人、計 {self.total}人）、"
                f"新規受理 {self.new_cases}件、{per_kind}")


def qualifications(member: Member) -> tuple[str, ...]:
    """要綱 4(3)① as the report prints it: ア licences, イ years in this support, ウ approval."""
    found = []
    licences = [label for flag, label in (
        (member.qual_social_worker, "社会福祉士"),
        (member.qual_psychiatric_social_worker, "精神保健福祉士"),
        (member.qual_public_health_nurse, "保健師")) if flag]
    if licences:
        found.append("ア " + "・".join(licences))
    if (member.qual_years_in_support or 0) >= Member.QUALIFYING_YEARS:
        found.append(f"イ 困難な問題を抱える女性への支援に{member.qual_years_in_support}年従事")
    if member.qual_approved_by_municipality:
        found.append("ウ 実施主体が適当と認めた者")
    return tuple(found)


def annual_figures(fy: int, case_clause=None, meeting_clause=None,
                   today: date | None = None) -> AnnualFigures:
    """The figures of 年度 ``fy`` over the cases and meetings the two clauses let through."""
    case_clause = true() if case_clause is None else case_clause
    meeting_clause = true() if meeting_clause is None else meeting_clause
    start, end = fiscal_year_range(fy)
    held_until = min(end, today or date.today())
    women_ids = select(Case.woman_id).where(active_between(start, end), case_clause)
    counts = _women(women_ids, end)
    return AnnualFigures(
        fiscal_year=fy, start=start, end=end, held_until=held_until, age_on=end,
        women=counts["women"], companions=counts["companions"],
        new_cases=db.session.scalar(select(func.count(Case.id)).where(
            Case.fiscal_year == fy, case_clause)) or 0,
        by_age=counts["by_age"], by_concern=_concerns(women_ids, counts["women"]),
        by_route=counts["by_route"], by_companions=counts["by_companions"],
        member_agencies=_member_agencies(start, end),
        meetings=_meetings(start, held_until, meeting_clause),
        coordinators=_coordinators(start, end),
    )


def _women(women_ids, age_on: date) -> dict:
    """One grouped pass over the year's women: age band × 相談経路 × companions."""
    bounds = [(index, latest_birth_for_age(low, age_on))
              for index, (_, low, _) in enumerate(AGE_BANDS) if low is not None]
    # Oldest band first: born on or before the boundary of age N means at least N.
    band = case((Woman.birth_date.is_(None), -1),
                *[(Woman.birth_date <= boundary, index) for index, boundary in reversed(bounds)],
                else_=0)
    per_woman = (select(Companion.woman_id, func.count().label("n"))
                 .group_by(Companion.woman_id).subquery())
    # Every grouped expression is a column of the subquery: PostgreSQL does not see two bound
    # parameters of the same value as the same expression in SELECT and GROUP BY.
    rows = select(band.label("band"), Woman.referral_route.label("route"),
                  func.coalesce(per_woman.c.n, 0).label("companions"),
                  case((per_woman.c.n.is_(None), 0), else_=1).label("with_companions")) \
        .select_from(Woman).outerjoin(per_woman, per_woman.c.woman_id == Woman.id) \
        .where(Woman.id.in_(women_ids)).subquery()
    grouped = db.session.execute(
        select(rows.c.band, rows.c.route, rows.c.with_companions, func.count(),
               func.sum(rows.c.companions))
        .group_by(rows.c.band, rows.c.route, rows.c.with_companions)).all()
    ages, routes, with_companions = {}, {}, {True: 0, False: 0}
    women = companions = 0
    for band_index, route, has_companions, n_women, n_companions in grouped:
        women += n_women
        companions += int(n_companions or 0)  # PostgreSQL sums to a Decimal
        ages[band_index] = ages.get(band_index, 0) + n_women
        routes[route] = routes.get(route, 0) + n_women
        with_companions[bool(has_companions)] += n_women
    by_age = tuple(Tally(str(label), ages.get(index, 0))
                   for index, (label, _, _) in enumerate(AGE_BANDS))
    by_route = tuple(Tally(str(route.label), routes.get(route, 0)) for route in ReferralRoute)
    return {
        "women": women, "companions": companions,
        "by_age": by_age + (Tally(str(UNKNOWN), ages.get(-1, 0)),),
        "by_route": by_route + (Tally(str(UNKNOWN), routes.get(None, 0)),),
        "by_companions": (Tally(str(WITH_COMPANIONS), with_companions[True]),
                          Tally(str(WITHOUT_COMPANIONS), with_companions[False])),
    }


def _concerns(women_ids, women: int) -> tuple[Tally, ...]:
    """主訴 per woman (one woman may have several), and the women with none recorded."""
    link = woman_concerns
    rows = db.session.execute(
        select(Concern.name, func.count(link.c.woman_id))
        .select_from(Concern).outerjoin(link, (link.c.concern_id == Concern.id)
                                        & link.c.woman_id.in_(women_ids))
        .group_by(Concern.id, Concern.name, Concern.sort_order)
        .order_by(Concern.sort_order, Concern.id)).all()
    with_any = db.session.scalar(select(func.count(func.distinct(link.c.woman_id)))
                                 .where(link.c.woman_id.in_(women_ids))) or 0
    return tuple(Tally(name, n) for name, n in rows) + (Tally(str(NO_CONCERN), women - with_any),)


def _member_agencies(start: date, end: date) -> tuple[tuple[str, str], ...]:
    """Agencies that were members at some time in the year, in 要綱 4(1)'s order of kinds."""
    rows = db.session.execute(
        select(Agency.name, Agency.category)
        .where((Agency.member_from.is_(None) | (Agency.member_from <= end))
               & (Agency.member_to.is_(None) | (Agency.member_to >= start)))
        .order_by(Agency.name)).all()
    order = {category: i for i, category in enumerate(AgencyCategory)}
    rows = sorted(rows, key=lambda row: order[row[1]])
    return tuple((name, str(category.label)) for name, category in rows)


def _meetings(start: date, until: date, meeting_clause) -> tuple[MeetingKindFigures, ...]:
    held = db.session.execute(
        select(Meeting.kind, Meeting.held_on, func.count(meeting_agencies.c.agency_id))
        .select_from(Meeting).outerjoin(meeting_agencies,
                                        meeting_agencies.c.meeting_id == Meeting.id)
        .where(Meeting.held_on.between(start, until), meeting_clause)
        .group_by(Meeting.id, Meeting.kind, Meeting.held_on)
        .order_by(Meeting.held_on, Meeting.id)).all()
    attended = db.session.execute(
        select(Meeting.kind, Agency.name).distinct()
        .select_from(Meeting).join(meeting_agencies, meeting_agencies.c.meeting_id == Meeting.id)
        .join(Agency, Agency.id == meeting_agencies.c.agency_id)
        .where(Meeting.held_on.between(start, until), meeting_clause)
        .order_by(Agency.name)).all()
    return tuple(MeetingKindFigures(
        kind=kind,
        held=tuple(MeetingHeld(day, n) for k, day, n in held if k is kind),
        agencies=tuple(name for k, name in attended if k is kind),
    ) for kind in MeetingKind)


def _coordinators(start: date, end: date) -> tuple[CoordinatorFigure, ...]:
    members = db.session.scalars(
        select(Member).where(Member.is_coordinator.is_(True),
                             Member.active_from.is_(None) | (Member.active_from <= end),
                             Member.active_to.is_(None) | (Member.active_to >= start))
        .order_by(Member.furigana, Member.id)).all()
    return tuple(CoordinatorFigure(m.name, m.agency.name if m.agency else "", m.title,
                                   qualifications(m)) for m in members)
