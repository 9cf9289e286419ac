"""本人同意 (要綱 4(2)ウ「あらかじめ本人の同意を得ること」): which agencies may share, until when."""

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Date, ForeignKey, Table, Text, exists, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kyogikai.japanese.wareki import format_wareki
from kyogikai.models.base import VersionedMixin, db
from kyogikai.models.enums import LabeledEnum, enum_type


class ConsentPurpose(LabeledEnum):
    case_conference = "case_conference", _l("個別ケース検討会議での情報共有")
    agency_referral = "agency_referral", _l("関係機関への情報提供・支援依頼")
    other = "other", _l("その他")


class ConsentMethod(LabeledEnum):
    written = "written", _l("書面")
    oral = "oral", _l("口頭")


consent_agencies = Table(
    "consent_agencies",
    db.metadata,
    Column("consent_id", ForeignKey("consents.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id"), primary_key=True, index=True),
)


class Consent(VersionedMixin, db.Model):
    __tablename__ = "consents"
    __label__ = _l("本人同意")

    id: Mapped[int] = mapped_column(primary_key=True)
    woman_id: Mapped[int] = mapped_column(ForeignKey("women.id"), index=True)
    purpose: Mapped[ConsentPurpose] = mapped_column(enum_type(ConsentPurpose))
    obtained_on: Mapped[date] = mapped_column(Date)
    method: Mapped[ConsentMethod] = mapped_column(enum_type(ConsentMethod))
    obtained_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    valid_until: Mapped[date | None] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")

    woman = relationship("Woman", back_populates="consents")
    agencies = relationship("Agency", secondary=consent_agencies, order_by="Agency.name")
    obtained_by = relationship("Member")

    def is_valid_on(self, day: date) -> bool:
        """Valid from the day obtained, through valid_until, and not on or after withdrawal."""
        if day < self.obtained_on:
            return False
        if self.valid_until is not None and day > self.valid_until:
            return False
        return self.withdrawn_on is None or day < self.withdrawn_on

    def problems(self) -> list[str]:
        errors = []
        if self.valid_until and self.obtained_on and self.valid_until < self.obtained_on:
            errors.append(_l("有効期限が同意取得日より前になっています。"))
        if self.withdrawn_on and self.obtained_on and self.withdrawn_on < self.obtained_on:
            errors.append(_l("撤回日が同意取得日より前になっています。"))
        return errors

    def __str__(self) -> str:
        return f"{self.woman} の同意（{format_wareki(self.obtained_on)}・{self.purpose.label}）"


RENEWAL_NOTICE_DAYS = 30


def superseded_clause(day: date):
    """SQL: a later consent of the same woman and purpose, not withdrawn, valid on ``day``."""
    later = Consent.__table__.alias("later")
    return exists().where(
        later.c.woman_id == Consent.woman_id, later.c.purpose == Consent.purpose,
        later.c.id != Consent.id, later.c.obtained_on >= Consent.obtained_on,
        later.c.obtained_on <= day, later.c.withdrawn_on.is_(None),
        or_(later.c.valid_until.is_(None), later.c.valid_until >= day))


def needs_renewal_clause(today: date):
    """SQL: a consent that has expired or expires within RENEWAL_NOTICE_DAYS, on a woman with
    an open case, not withdrawn and not replaced by a later one (the home page's figure and the
    consent list's filter, so that the two count the same rows)."""
    from kyogikai.models.cases import ENDED_STATUSES, Case

    return (Consent.valid_until.is_not(None)
            & (Consent.valid_until <= today + timedelta(days=RENEWAL_NOTICE_DAYS))
            & or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > today)
            & exists().where(Case.woman_id == Consent.woman_id,
                             Case.status.not_in(ENDED_STATUSES))
            & ~superseded_clause(today + timedelta(days=RENEWAL_NOTICE_DAYS)))
