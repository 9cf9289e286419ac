"""会議 (要綱 4(2) ア/イ/ウ), who attended, and which cases each discussed."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Date, DateTime, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kyogikai.models.base import VersionedMixin, db
from kyogikai.models.enums import LabeledEnum, enum_type


class MeetingKind(LabeledEnum):
    representative = "representative", _l("代表者会議")
    practitioner = "practitioner", _l("実務者会議")
    case_conference = "case_conference", _l("個別ケース検討会議")


meeting_agencies = Table(
    "meeting_agencies",
    db.metadata,
    Column("meeting_id", ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id"), primary_key=True, index=True),
)

# The agencies a consent override covered (要綱 4(2)ウ emergency): adding another attending agency
# later needs its own override.
meeting_case_override_agencies = Table(
    "meeting_case_override_agencies",
    db.metadata,
    Column("meeting_case_id", ForeignKey("meeting_cases.id", ondelete="CASCADE"),
           primary_key=True),
    Column("agency_id", ForeignKey("agencies.id"), primary_key=True, index=True),
)

meeting_members = Table(
    "meeting_members",
    db.metadata,
    Column("meeting_id", ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", ForeignKey("members.id"), primary_key=True, index=True),
)


class Meeting(VersionedMixin, db.Model):
    __tablename__ = "meetings"
    __label__ = _l("会議")

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MeetingKind] = mapped_column(enum_type(MeetingKind), index=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    place: Mapped[str] = mapped_column(String(200), default="")
    agenda: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")  # 議事録
    decisions: Mapped[str] = mapped_column(Text, default="")  # 決定事項
    next_meeting_on: Mapped[date | None] = mapped_column(Date)

    agencies = relationship("Agency", secondary=meeting_agencies, order_by="Agency.name")
    members = relationship("Member", secondary=meeting_members, order_by="Member.name")
    case_links = relationship("MeetingCase", back_populates="meeting",
                              cascade="all, delete-orphan")
    reviews = relationship("CaseReview", back_populates="meeting")

    def __str__(self) -> str:
        return f"{self.kind.label}（{self.held_on:%Y-%m-%d}）"


class MeetingCase(VersionedMixin, db.Model):
    """A case discussed at a meeting (検討ケース)."""

    __tablename__ = "meeting_cases"
    __label__ = _l("検討ケース")
    __table_args__ = (UniqueConstraint("meeting_id", "case_id", name="uq_meeting_cases_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"),
                                            index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # The next meeting date decided for this case (要綱 4(2)ウ: 次回会議の日程等).
    next_meeting_on: Mapped[date | None] = mapped_column(Date)
    # DOMAIN rule 1's emergency override: by a 調整担当者 only, with the written reason, for
    # the agencies named in override_agencies (the latest override's by/at).
    consent_override_reason: Mapped[str] = mapped_column(Text, default="")
    consent_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consent_override_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    meeting = relationship("Meeting", back_populates="case_links")
    case = relationship("Case", back_populates="meeting_links")
    override_agencies = relationship("Agency", secondary=meeting_case_override_agencies,
                                     order_by="Agency.name")
    consent_override_by = relationship("User")

    def __str__(self) -> str:
        return f"{self.meeting}：{self.case}"
