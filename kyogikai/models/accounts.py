"""Login accounts. A user is a person (構成員) acting in one of the five roles."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kyogikai.models.base import TimestampMixin, db
from kyogikai.models.enums import Role, enum_type


class User(TimestampMixin, db.Model):
    __tablename__ = "users"
    __label__ = _l("利用者アカウント")

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    agency = relationship("Agency", back_populates="users")
    member = relationship("Member")

    # Flask-Login's protocol, written out so an inactive account cannot hold a session.
    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def problems(self) -> list[str]:
        if self.role == Role.agency_staff and self.agency_id is None and self.agency is None:
            return [_l("関係機関担当者には所属機関を指定してください。")]
        return []

    def __str__(self) -> str:
        name = self.display_name or self.login
        return f"{name}（{self.role.label}）"
