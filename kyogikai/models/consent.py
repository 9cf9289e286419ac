"""本人同意 (要綱 4(2)ウ「あらかじめ本人の同意を得ること」): which agencies may share, until when."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Text
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


class ConsentAgency(db.Model):
    """One agency a consent covers, withdrawable on its own: the woman may stop sharing with one
    agency while the consent stays valid for the others."""

    __tablename__ = "consent_agencies"
    __label__ = _l("本人同意の対象機関")

    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id", ondelete="CASCADE"),
                                            primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True,
                                           index=True)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)

    consent = relationship("Consent", back_populates="agency_links", viewonly=True)
    agency = relationship("Agency", viewonly=True)

    def is_withdrawn_on(self, day: date) -> bool:
        return self.withdrawn_on is not None and self.withdrawn_on <= day

    def __str__(self) -> str:
        return f"{self.consent}：{self.agency}"


consent_agencies = ConsentAgency.__table__


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
    # The agencies named: the form edits this list, which writes the rows of consent_agencies.
    # agency_links reads the same rows as objects, to withdraw the consent for one agency (the
    # row's withdrawn_on is saved as any change of a loaded object is).
    agencies = relationship("Agency", secondary=consent_agencies, order_by="Agency.name")
    agency_links = relationship("ConsentAgency", back_populates="consent", viewonly=True,
                                order_by="ConsentAgency.agency_id")
    obtained_by = relationship("Member")

    def is_valid_on(self, day: date) -> bool:
        """Valid from the day obtained, through valid_until, and not on or after withdrawal."""
        if day < self.obtained_on:
            return False
        if self.valid_until is not None and day > self.valid_until:
            return False
        return self.withdrawn_on is None or day < self.withdrawn_on

    def covers(self, agency_id: int, day: date) -> bool:
        """Valid on ``day`` and naming the agency, not withdrawn for it by then."""
        return self.is_valid_on(day) and any(
            link.agency_id == agency_id and not link.is_withdrawn_on(day)
            for link in self.agency_links)

    def covered_agency_ids(self, day: date) -> set[int]:
        if not self.is_valid_on(day):
            return set()
        return {link.agency_id for link in self.agency_links if not link.is_withdrawn_on(day)}

    def withdraw_for(self, agency_id: int, day: date) -> "ConsentAgency":
        """The woman withdrew her consent for one agency from ``day`` on (the others stay)."""
        link = next((link for link in self.agency_links if link.agency_id == agency_id), None)
        if link is None:
            raise ValueError(_l("この同意はその機関を対象にしていません。"))
        if link.withdrawn_on is not None:
            raise ValueError(_l("この機関についての同意は既に撤回されています。"))
        if day < self.obtained_on:
            raise ValueError(_l("撤回日が同意取得日より前になっています。"))
        link.withdrawn_on = day
        return link

    def problems(self) -> list[str]:
        errors = []
        if self.valid_until and self.obtained_on and self.valid_until < self.obtained_on:
            errors.append(_l("有効期限が同意取得日より前になっています。"))
        if self.withdrawn_on and self.obtained_on and self.withdrawn_on < self.obtained_on:
            errors.append(_l("撤回日が同意取得日より前になっています。"))
        return errors

    def __str__(self) -> str:
        return f"{self.woman} の同意（{self.obtained_on:%Y-%m-%d}・{self.purpose.label}）"
