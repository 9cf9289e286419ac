"""Intake in one step (事務担当): the woman with her companions, her consent and the new case.

An existing woman found by name or フリガナ is offered before a second record of the same person
is created; the clerk either takes her or says this is someone else. Everything is written in
the caller's transaction: either all of it is saved or none of it.
"""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from kyogikai.models import (
    Agency,
    AuditAction,
    Case,
    Companion,
    Concern,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    Level,
    Member,
    ReferralRoute,
    Relationship,
    Woman,
    db,
)
from kyogikai.models.women import name_matches
from kyogikai.policy import audit, masking, scoping
from kyogikai.policy.matrix import CREATE, allowed
from kyogikai.workflows import Problems, WorkflowError

WOMAN_TEXT = ("name", "furigana", "alias", "postal_code", "prefecture", "municipality", "street",
              "katagaki", "phone")


@dataclass
class CompanionInput:
    name: str = ""
    furigana: str = ""
    relationship: Relationship = Relationship.child
    birth_date: date | None = None
    note: str = ""

    @property
    def is_blank(self) -> bool:
        return not (self.name or self.furigana or self.birth_date or self.note)


@dataclass
class IntakeInput:
    """What the intake screen collected (already parsed: dates, enums, ids)."""

    woman_id: int | None = None
    confirm_new: bool = False
    name: str = ""
    furigana: str = ""
    alias: str = ""
    birth_date: date | None = None
    postal_code: str = ""
    prefecture: str = ""
    municipality: str = ""
    street: str = ""
    katagaki: str = ""
    address_hidden: bool = False
    phone: str = ""
    referral_route: ReferralRoute | None = None
    concern_ids: list[int] = field(default_factory=list)
    woman_note: str = ""
    companions: list[CompanionInput] = field(default_factory=list)
    consent_agency_ids: list[int] = field(default_factory=list)
    consent_purpose: ConsentPurpose = ConsentPurpose.case_conference
    consent_method: ConsentMethod | None = ConsentMethod.written
    consent_obtained_on: date | None = None
    consent_valid_until: date | None = None
    consent_obtained_by_id: int | None = None
    consent_note: str = ""
    received_on: date | None = None
    risk_level: Level | None = None
    urgency: Level | None = None
    lead_agency_id: int | None = None
    case_note: str = ""


class PossibleDuplicate(WorkflowError):
    """Women already registered under this name or reading: take one, or confirm a new person."""

    def __init__(self, candidates):
        self.candidates = candidates
        super().__init__([_("同じ氏名またはフリガナの女性が既に登録されています。同じ方ならその方を選び、"
                            "別の方なら「別の方として新しく登録する」にチェックしてください。")])


def may_intake(user) -> bool:
    return allowed(user.role, CREATE, "intake")


def candidates(name: str, furigana: str, user, limit: int = 10) -> list[Woman]:
    """Women the user may see whose names hold every term of ``name``, or whose reading holds
    every term of ``furigana`` (folded: hiragana, katakana and widths alike)."""
    clauses = []
    for text in (name, furigana):
        terms = (text or "").split()
        if terms and len("".join(terms)) >= 2:
            clauses.append(and_(*(name_matches(Woman.id, term) for term in terms)))
    if not clauses:
        return []
    return list(db.session.scalars(
        scoping.scoped_select("woman", user).where(or_(*clauses))
        .options(selectinload(Woman.cases)).order_by(Woman.furigana, Woman.id).limit(limit)))


def _check_text(problems: Problems, user, **texts) -> None:
    for name, (label, text) in texts.items():
        try:
            masking.check_free_text(text, user, label=label)
        except masking.HiddenAddressInText as error:
            problems.add(str(error), name)


def record(data: IntakeInput, user) -> Case:
    """Save the woman (new or existing), her companions, the consent and the case; return the
    case (flushed: it has its number). Raises WorkflowError (or PossibleDuplicate) and writes
    nothing the caller should keep: roll back on error."""
    if not may_intake(user):
        raise WorkflowError([_("この操作を行う権限がありません。")])
    problems = Problems()
    woman = None
    if data.woman_id is not None:
        woman = scoping.get_visible("woman", data.woman_id, user)
        if woman is None:
            problems.add(_("選んだ女性が見つかりません。"), "woman_id")
    else:
        if not data.name.strip():
            problems.add(_("氏名を入力してください。"), "name")
        if not data.furigana.strip():
            problems.add(_("フリガナを入力してください。"), "furigana")
        _check_text(problems, user, alias=(_("通称"), data.alias),
                    woman_note=(_("女性の備考"), data.woman_note))
    for index, companion in enumerate(data.companions):
        if companion.is_blank:
            continue
        if not companion.name.strip():
            problems.add(_("同伴家族の氏名を入力してください。"), f"companions-{index}-name")
        _check_text(problems, user, **{f"companions-{index}-note": (_("同伴家族の備考"),
                                                                     companion.note)})
    if data.consent_agency_ids:
        if data.consent_obtained_on is None:
            problems.add(_("同意取得日を入力してください。"), "consent_obtained_on")
        if data.consent_method is None:
            problems.add(_("同意の方法を選んでください。"), "consent_method")
        if (data.consent_valid_until and data.consent_obtained_on
                and data.consent_valid_until < data.consent_obtained_on):
            problems.add(_("有効期限が同意取得日より前になっています。"), "consent_valid_until")
    if data.received_on is None:
        problems.add(_("相談受理年月日を入力してください。"), "received_on")
    _check_text(problems, user, consent_note=(_("同意の備考"), data.consent_note),
                case_note=(_("ケースの備考"), data.case_note))
    agencies = list(db.session.scalars(select(Agency).where(
        Agency.id.in_(data.consent_agency_ids)))) if data.consent_agency_ids else []
    if len(agencies) != len(set(data.consent_agency_ids)):
        problems.add(_("選択肢から選んでください。"), "consent_agencies")
    problems.raise_if_any()

    if woman is None and not data.confirm_new:
        found = candidates(data.name, data.furigana, user)
        if found:
            raise PossibleDuplicate(found)

    if woman is None:
        woman = Woman(**{name: (getattr(data, name) or "").strip() for name in WOMAN_TEXT},
                      birth_date=data.birth_date, address_hidden=data.address_hidden,
                      referral_route=data.referral_route, note=data.woman_note.strip())
        if data.concern_ids:
            woman.concerns = list(db.session.scalars(
                select(Concern).where(Concern.id.in_(data.concern_ids))))
        db.session.add(woman)
        masking.route_flag_edit(woman, user)  # 住所秘匿 waits for a second coordinator
        created_woman = True
    else:
        created_woman = False
    added = []
    for companion in data.companions:
        if companion.is_blank:
            continue
        record_ = Companion(name=companion.name.strip(), furigana=companion.furigana.strip(),
                            relationship_to_woman=companion.relationship,
                            birth_date=companion.birth_date, note=companion.note.strip())
        woman.companions.append(record_)
        added.append(record_)
    consent = None
    if agencies:
        consent = Consent(woman=woman, purpose=data.consent_purpose,
                          obtained_on=data.consent_obtained_on, method=data.consent_method,
                          obtained_by=db.session.get(Member, data.consent_obtained_by_id)
                          if data.consent_obtained_by_id else None,
                          valid_until=data.consent_valid_until, agencies=agencies,
                          note=data.consent_note.strip())
        db.session.add(consent)
    case = Case(woman=woman, received_on=data.received_on, risk_level=data.risk_level,
                urgency=data.urgency, lead_agency_id=data.lead_agency_id,
                note=data.case_note.strip())
    db.session.add(case)
    found = case.problems()
    if found:
        raise WorkflowError(found)
    db.session.flush()
    detail = f"endpoint=intake;case_id={case.id}"
    if created_woman:
        audit.record(AuditAction.create, object_type="woman", object_id=woman.id, detail=detail,
                     with_change=True)
    for companion in added:
        audit.record(AuditAction.create, object_type="companion", object_id=companion.id,
                     detail=detail, with_change=True)
    if consent is not None:
        audit.record(AuditAction.create, object_type="consent", object_id=consent.id,
                     detail=detail + f";agencies={len(agencies)}", with_change=True)
    audit.record(AuditAction.create, object_type="case", object_id=case.id, detail=detail,
                 with_change=True)
    return case
