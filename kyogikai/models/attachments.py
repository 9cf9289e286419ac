"""添付ファイル (4(3)②ア 資料の保管): scanned consent forms and meeting materials.

The file itself lives under ``instance/attachments/`` with a random name (policy.attachments);
this row says what it belongs to — exactly one of a case, a meeting or a consent — and what it
is, as found from its content.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kyogikai.models.base import db, utcnow

OWNER_COLUMNS = ("case_id", "meeting_id", "consent_id")


class Attachment(db.Model):
    __tablename__ = "attachments"
    __label__ = _l("添付ファイル")
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN case_id IS NULL THEN 0 ELSE 1 END + "
            "CASE WHEN meeting_id IS NULL THEN 0 ELSE 1 END + "
            "CASE WHEN consent_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_attachments_one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"), index=True)
    # The name the person gave the file (shown, masked like any typed text).
    filename: Mapped[str] = mapped_column(String(255))
    # Where it is stored: a random name under instance/attachments/, never the person's name.
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    case = relationship("Case")
    meeting = relationship("Meeting")
    consent = relationship("Consent")
    uploaded_by = relationship("User")

    @property
    def owner_kind(self) -> str:
        return next(column[:-3] for column in OWNER_COLUMNS if getattr(self, column) is not None)

    @property
    def owner_id(self) -> int:
        return getattr(self, f"{self.owner_kind}_id")

    def __str__(self) -> str:
        return self.filename
