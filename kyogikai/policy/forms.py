"""What the 様式 may show, and to whom: the rows and figures the builders in exports/ print.

様式1 rows come from a query of cases that the caller got from the policy (the ledger's own query
through the base view, or ``fiscal_year_cases``); this module loads what each row needs in
batches and masks it with the same functions the screens use. 様式3's figures are counted over
the cases and meetings the reader may see. Who may export which form is the matrix's answer for
the resources the form reads.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, true
from sqlalchemy.orm import joinedload

from kyogikai.japanese.age import age_on
from kyogikai.japanese.fiscal import fiscal_year_range
from kyogikai.models import (
    Agency,
    AnnualReport,
    BusinessPlan,
    Case,
    CaseReview,
    Council,
    Woman,
    db,
)
from kyogikai.models.annual import AnnualFigures, annual_figures
from kyogikai.models.cases import active_between
from kyogikai.models.roles import designation_remark, designations
from kyogikai.models.women import Relationship
from kyogikai.policy import masking, scoping
from kyogikai.policy.matrix import DETAILS, EXPORT, LIST, allowed

# Each form → the resources whose content it prints; exporting needs EXPORT on every one.
FORM_RESOURCES = {
    "form1": ("case", "woman", "case_review"),
    "form2": ("business_plan",),
    "form3": ("annual_report",),
}
FORMS = tuple(FORM_RESOURCES)


def may_export(form: str, user) -> bool:
    role = getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None
    return form in FORM_RESOURCES and all(
        allowed(role, EXPORT, resource) for resource in FORM_RESOURCES[form])


def may_preview_figures(user) -> bool:
    """The computed 様式3 on screen: whoever may read the 実施状況報告書."""
    role = getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None
    return allowed(role, DETAILS, "annual_report")


# --------------------------------------------------------------------------- 様式1


@dataclass(frozen=True)
class Review:
    """One 管理記録 column of 様式1: 会議日, 主担当機関, 状況等."""

    held_on: date
    agency: str
    situation: str


@dataclass(frozen=True)
class Form1Row:
    """One case of ケース進行管理台帳, masked for the person it is made for."""

    number: str
    name: str
    furigana: str
    birth_date: date | None
    age: int | None
    address: str
    companions: tuple[str, ...]
    received_on: date
    reviews: tuple[Review, ...]
    note: str  # 備考 as printed: the 4(3)③ designation (if any), then the case's own note


def fiscal_year_cases(fy: int, user):
    """The cases under management in 年度 ``fy`` that ``user`` may see, by 番号."""
    start, end = fiscal_year_range(fy)
    query = db.session.query(Case).filter(active_between(start, end)) \
        .order_by(Case.fiscal_year, Case.serial)
    return scoping.scope(query, "case", user)


BATCH = 500


def form1_rows(cases, *, user, fiscal_year: int | None, reference_date: date,
               ) -> Iterator[Form1Row]:
    """Rows of 様式1 for the cases of an already scoped query, in the query's order.

    ``fiscal_year`` limits the 管理記録 to that 年度's (None: all of them); ages are as of
    ``reference_date``. Loaded in batches (cases with their woman and companions, then the
    batch's 管理記録 in one statement), so memory stays flat whatever the number of cases.
    """
    review_clause = true()
    if fiscal_year is not None:
        start, end = fiscal_year_range(fiscal_year)
        review_clause = CaseReview.reviewed_on.between(start, end)
    agencies = dict(db.session.execute(select(Agency.id, Agency.name)).all())
    reader = masking.Reader(user)  # who she is and what she may see, decided once
    query = cases.options(
        joinedload(Case.woman).selectinload(Woman.companions)).yield_per(BATCH)
    batch = []
    for case in query:
        batch.append(case)
        if len(batch) == BATCH:
            yield from _form1_batch(batch, review_clause, user, reader, agencies,
                                    reference_date)
            batch = []
    yield from _form1_batch(batch, review_clause, user, reader, agencies, reference_date)


def _relationship_labels() -> dict:
    """続柄 labels translated once per export, not once per companion."""
    return {member: str(member.label) for member in Relationship}


def _form1_batch(cases: list, review_clause, user, reader: masking.Reader, agencies: dict,
                 reference_date: date):
    """The batch's rows; its 管理記録 (those the scope lets through) in date order."""
    if not cases:
        return
    reviews: dict[int, list] = {}
    for case_id, day, agency_id, situation in db.session.execute(
            select(CaseReview.case_id, CaseReview.reviewed_on, CaseReview.lead_agency_id,
                   CaseReview.situation)
            .where(CaseReview.case_id.in_([c.id for c in cases]), review_clause,
                   scoping.scope_clause("case_review", user))
            .order_by(CaseReview.reviewed_on, CaseReview.id)):
        reviews.setdefault(case_id, []).append((day, agency_id, situation))
    relationships = _relationship_labels()
    designated = designations([c.id for c in cases], reference_date,
                              scoping.scope_clause("role_assignment", user)) \
        if allowed(user.role, LIST, "role_assignment") else {}
    for case in cases:
        yield _form1_row(case, reviews.get(case.id, ()), reader, agencies, relationships,
                         reference_date, designated.get(case.id))


def _form1_row(case: Case, reviews, reader: masking.Reader, agencies: dict, relationships: dict,
               reference_date: date, designation=None) -> Form1Row:
    """Every value through the screens' masking (one ``Reader`` for the whole export): a
    record's fields as ``masking.shown``, free text (状況等, the designation's reason) as
    ``masking.mask_free_text``. 備考 states the 4(3)③ designation held on the reference date,
    as the case page states it."""
    woman = case.woman
    birth = woman.birth_date
    remark = designation_remark(designation, reader.free_text(
        designation.designation_reason)) if designation is not None else ""
    return Form1Row(
        number=case.number,
        name=reader.shown(woman, "name"),
        furigana=reader.shown(woman, "furigana"),
        birth_date=birth,
        age=age_on(birth, reference_date) if birth and birth <= reference_date else None,
        address=reader.address_on_paper(woman),
        companions=tuple(f"{reader.shown(c, 'name')}（{relationships[c.relationship_to_woman]}）"
                         for c in woman.companions),
        received_on=case.received_on,
        reviews=tuple(Review(day, agencies.get(agency_id, ""),
                             reader.free_text(situation) or "")
                      for day, agency_id, situation in reviews),
        note="\n".join(filter(None, (remark, reader.shown(case, "note")))),
    )


# --------------------------------------------------------------------------- 様式2 and 様式3


@dataclass(frozen=True)
class CostLine:
    item: str
    amount_yen: int
    note: str


@dataclass(frozen=True)
class Section:
    """One numbered part of 様式2/3 2(2)–(6) / 1(2)–(6): who takes part, what they do."""

    members: str
    activities: str


@dataclass(frozen=True)
class Form2Data:
    """様式2 事業計画書 of one 年度, from its BusinessPlan."""

    fiscal_year: int
    municipality: str
    dated: date | None
    period_from: date | None
    period_to: date | None
    expected_women: int | None
    sections: tuple[Section, ...]  # 2(2) 地域協議会 … 2(6) 調整機関
    cost_lines: tuple[CostLine, ...]

    @property
    def total_yen(self) -> int:
        return sum(line.amount_yen for line in self.cost_lines)


@dataclass(frozen=True)
class Form3Data:
    """様式3 実施状況報告書 of one 年度: computed figures plus the AnnualReport's text and costs."""

    fiscal_year: int
    municipality: str
    dated: date | None
    figures: AnnualFigures
    women_note: str  # 1(1) 属性の内訳（補足）
    sections: tuple[Section, ...]  # 1(2) 地域協議会 … 1(6) 調整機関: typed supplements
    ingenuity: str  # 1(7)
    cost_lines: tuple[CostLine, ...]
    report_exists: bool

    @property
    def total_yen(self) -> int:
        return sum(line.amount_yen for line in self.cost_lines)


SECTION_FIELDS = ("council", "representative", "practitioner", "case_conference", "coordinator")


def _cost_lines(lines, user) -> tuple[CostLine, ...]:
    return tuple(CostLine(masking.shown(line, "item", user), line.amount_yen,
                          masking.shown(line, "note", user) or "") for line in lines)


def _text(record, name: str, user) -> str:
    """A typed text of 様式2/3 as ``user`` may see it: free text, masked like case notes."""
    return masking.shown(record, name, user) or ""


def form2_data(fy: int, user) -> Form2Data | None:
    """様式2 for 年度 ``fy``, or None when no 事業計画書 has been entered for it."""
    plan = business_plan(fy, user)
    if plan is None:
        return None
    members = [_text(plan, name, user) for name in (
        "council_members", "representative_members", "practitioner_members",
        "case_conference_members", "coordinator_staff")]
    activities = [_text(plan, f"{name}_activities", user) for name in SECTION_FIELDS]
    return Form2Data(
        fiscal_year=fy, municipality=municipality(), dated=plan.submitted_on,
        period_from=plan.period_from, period_to=plan.period_to,
        expected_women=plan.expected_women,
        sections=tuple(Section(m or "", a or "") for m, a in zip(members, activities,
                                                                   strict=True)),
        cost_lines=_cost_lines(plan.cost_lines, user),
    )


def form3_data(fy: int, user) -> Form3Data:
    """様式3 for 年度 ``fy``: the figures always; text and costs when the report exists."""
    report = annual_report(fy, user)
    members = results = [""] * len(SECTION_FIELDS)
    if report is not None:
        members = [_text(report, name, user) for name in (
            "council_members", "representative_members", "practitioner_members",
            "case_conference_members", "coordinator_staff")]
        results = [_text(report, f"{name}_results", user) for name in SECTION_FIELDS]
    return Form3Data(
        fiscal_year=fy, municipality=municipality(),
        dated=report.submitted_on if report else None,
        figures=figures(fy, user),
        women_note=_text(report, "women_attributes", user) if report else "",
        sections=tuple(Section(m or "", r or "") for m, r in zip(members, results, strict=True)),
        ingenuity=_text(report, "ingenuity_effects_issues", user) if report else "",
        cost_lines=_cost_lines(report.cost_lines, user) if report else (),
        report_exists=report is not None,
    )


def municipality() -> str:
    """自治体名 as the forms print it: the council's 実施主体."""
    return db.session.scalar(select(Council.municipality).order_by(Council.id).limit(1)) or ""


def business_plan(fy: int, user) -> BusinessPlan | None:
    query = select(BusinessPlan).where(BusinessPlan.fiscal_year == fy)
    return db.session.scalar(query.where(scoping.scope_clause("business_plan", user)))


def annual_report(fy: int, user) -> AnnualReport | None:
    query = select(AnnualReport).where(AnnualReport.fiscal_year == fy)
    return db.session.scalar(query.where(scoping.scope_clause("annual_report", user)))


def figures(fy: int, user) -> AnnualFigures:
    """様式3's counts over what ``user`` may see (everything, for the roles that export it)."""
    return annual_figures(fy, case_clause=scoping.scope_clause("case", user),
                          meeting_clause=scoping.scope_clause("meeting", user))
