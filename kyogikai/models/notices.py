"""In-panel notices (要綱 4(2)ウ ii 1: 招集 and 役割分担 reach the agencies): one row per reader.

A notice holds references and a snapshot of the meeting's kind, date and place, never a
person's name or words: what a reader sees of a case (its number) is decided when the notice is
shown, by the same scope as every other screen (policy.notices).
"""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kyogikai.models.base import db, utcnow
from kyogikai.models.cases import RoleFunction
from kyogikai.models.enums import LabeledEnum, enum_type
from kyogikai.models.meetings import MeetingKind


class NoticeKind(LabeledEnum):
    meeting_invited = "meeting_invited", _l("会議への招集")
    meeting_changed = "meeting_changed", _l("会議の日時・場所の変更")
    meeting_cancelled = "meeting_cancelled", _l("会議への招集の取消し")
    role_assigned = "role_assigned", _l("役割分担の決定")
    role_relieved = "role_relieved", _l("役割分担の終了")
    consent_withdrawn = "consent_withdrawn", _l("本人同意の撤回")
    consent_expired = "consent_expired", _l("本人同意の期限切れ")


class Notice(db.Model):
    __tablename__ = "notices"
    __label__ = _l("お知らせ")
    __table_args__ = (
        # The navbar counts a reader's unread notices on every page.
        Index("ix_notices_user_id_read_at", "user_id", "read_at"),
        # An expiry is noticed once per reader, however many workers sweep at the same time.
        Index("uq_notices_consent_expired", "user_id", "consent_id", unique=True,
              sqlite_where=db.text("kind = 'consent_expired'"),
              postgresql_where=db.text("kind = 'consent_expired'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NoticeKind] = mapped_column(enum_type(NoticeKind))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What it is about; a deleted meeting or consent leaves the snapshot below.
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="SET NULL"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="SET NULL"), index=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    consent_id: Mapped[int | None] = mapped_column(
        ForeignKey("consents.id", ondelete="SET NULL"), index=True)
    # Snapshot when the notice was written: the meeting's kind, date and place, the role, the
    # day a role starts or ends, a consent was withdrawn or expired.
    meeting_kind: Mapped[MeetingKind | None] = mapped_column(enum_type(MeetingKind))
    role_function: Mapped[RoleFunction | None] = mapped_column(enum_type(RoleFunction))
    on_date: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200), default="")

    user = relationship("User")
    agency = relationship("Agency")
    meeting = relationship("Meeting")
    case = relationship("Case")
    consent = relationship("Consent")

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def __str__(self) -> str:
        return str(self.kind.label)
