"""本人同意 (要綱 4(2)ウ「あらかじめ本人の同意を得ること」): which agencies may share, until when."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Date, ForeignKey, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
        return f"{self.woman} の同意（{self.obtained_on:%Y-%m-%d}・{self.purpose.label}）"
