"""The council (地域協議会), its member agencies (関係機関, 要綱 4(1)) and their people (構成員)."""

from datetime import date

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kyogikai.models.base import VersionedMixin, db
from kyogikai.models.enums import LabeledEnum, enum_type


class AgencyCategory(LabeledEnum):
    """The 17 kinds that 要綱 4(1) lists, in its order, plus その他."""

    local_government = "local_government", _l(
        "都道府県、市町村の婦人保護事業、児童福祉、母子保健等の担当部局、教育委員会"
    )
    womens_consultation_office = "womens_consultation_office", _l("婦人相談所")
    womens_protection_facility = "womens_protection_facility", _l("婦人保護施設")
    welfare_office = "welfare_office", _l("福祉事務所（婦人保護事業等担当部局、婦人相談員等）")
    dv_support_center = "dv_support_center", _l("配偶者暴力相談支援センター")
    child_guidance_center = "child_guidance_center", _l("児童相談所")
    womens_center = "womens_center", _l("女性センター（男女共同参画センター）")
    one_stop_center = "one_stop_center", _l(
        "性犯罪・性暴力被害者のためのワンストップ支援センター"
    )
    medical_institution = "medical_institution", _l("医療機関（医師、保健師、助産師、看護師等）")
    municipal_health_center = "municipal_health_center", _l("市町村保健センター")
    public_health_center = "public_health_center", _l("保健所")
    school = "school", _l("学校")
    police = "police", _l("警察")
    judicial = "judicial", _l("司法関係機関")
    social_welfare_council = "social_welfare_council", _l("社会福祉協議会")
    welfare_commissioner = "welfare_commissioner", _l("民生委員")
    private_organization = "private_organization", _l("民間団体")
    other = "other", _l("その他")


class Agency(VersionedMixin, db.Model):
    """A member agency of the council; membership has a period, so history stays readable."""

    __tablename__ = "agencies"
    __label__ = _l("関係機関")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    category: Mapped[AgencyCategory] = mapped_column(enum_type(AgencyCategory), index=True)
    member_from: Mapped[date | None] = mapped_column(Date)
    member_to: Mapped[date | None] = mapped_column(Date)
    contact_person: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    users = relationship("User", back_populates="agency")

    def is_member_on(self, day: date) -> bool:
        return (self.member_from is None or self.member_from <= day) and (
            self.member_to is None or day <= self.member_to
        )

    def __str__(self) -> str:
        return self.name


class Council(VersionedMixin, db.Model):
    """The 地域協議会 itself: one row per deployment, holding the settings rules depend on."""

    __tablename__ = "councils"
    __label__ = _l("地域協議会")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str] = mapped_column(String(100))
    coordinating_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    review_interval_months: Mapped[int] = mapped_column(Integer, default=3)

    coordinating_agency = relationship("Agency")

    def __str__(self) -> str:
        return self.name


class Member(VersionedMixin, db.Model):
    """A person of a member agency (構成員・担当者), bound to secrecy by a pledge (法15条5項)."""

    __tablename__ = "members"
    __label__ = _l("構成員・担当者")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    furigana: Mapped[str] = mapped_column(String(200), default="")
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    title: Mapped[str] = mapped_column(String(100), default="")
    pledge_date: Mapped[date | None] = mapped_column(Date)
    active_from: Mapped[date | None] = mapped_column(Date)
    active_to: Mapped[date | None] = mapped_column(Date)
    is_coordinator: Mapped[bool] = mapped_column(Boolean, default=False)
    # 要綱 4(3)① ア: licences; イ: years in this support; ウ: approved by the municipality.
    qual_social_worker: Mapped[bool] = mapped_column(Boolean, default=False)
    qual_psychiatric_social_worker: Mapped[bool] = mapped_column(Boolean, default=False)
    qual_public_health_nurse: Mapped[bool] = mapped_column(Boolean, default=False)
    qual_years_in_support: Mapped[int | None] = mapped_column(Integer)
    qual_approved_by_municipality: Mapped[bool] = mapped_column(Boolean, default=False)

    agency = relationship("Agency")

    QUALIFYING_YEARS = 5

    @property
    def has_coordinator_qualification(self) -> bool:
        return bool(
            self.qual_social_worker
            or self.qual_psychiatric_social_worker
            or self.qual_public_health_nurse
            or (self.qual_years_in_support or 0) >= self.QUALIFYING_YEARS
            or self.qual_approved_by_municipality
        )

    @property
    def lacks_coordinator_qualification(self) -> bool:
        return bool(self.is_coordinator and not self.has_coordinator_qualification)

    def __str__(self) -> str:
        agency = f"（{self.agency}）" if self.agency else ""
        return f"{self.name}{agency}"


DEFAULT_REVIEW_INTERVAL_MONTHS = 3


def review_interval_months() -> int:
    """The council's follow-up interval (DOMAIN rule 4); 3 months until a council is set up.

    Read once per request: kept in ``g`` (the user loader fills it, policy.request_values; a
    change to the council drops it)."""
    if has_app_context() and "review_interval" in g:
        return g.review_interval
    value = db.session.scalar(select(Council.review_interval_months).order_by(Council.id).limit(1))
    value = value or DEFAULT_REVIEW_INTERVAL_MONTHS
    if has_app_context():
        g.review_interval = value
    return value
