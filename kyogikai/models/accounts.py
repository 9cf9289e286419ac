"""Login accounts, their approval, second factor and recovery codes, and login throttles.

A user is a person (構成員) acting in one of the five roles. The rules about them (who approves,
when sessions end, how failures slow down) live in policy/; these are the records.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kyogikai.models.base import VersionedMixin, db, utcnow
from kyogikai.models.enums import LabeledEnum, Role, enum_type


class ApprovalReason(LabeledEnum):
    """Why an account that can read case content waits for a 調整担当者's approval."""

    created = "created", _l("新規作成")
    role_changed = "role_changed", _l("役割の変更")
    agency_changed = "agency_changed", _l("所属機関の変更")
    reactivated = "reactivated", _l("再有効化")
    password_reset = "password_reset", _l("パスワードの再設定")
    second_factor_reset = "second_factor_reset", _l("二要素認証のリセット")


class User(VersionedMixin, db.Model):
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
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by an administrator's reset: the next login leads to the change-password screen only.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default="0")
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Part of every session's identity (get_id): raising it ends every session of the account.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Separation of duties: while set, the account cannot sign in (policy.accounts).
    approval_pending: Mapped[ApprovalReason | None] = mapped_column(enum_type(ApprovalReason))
    approval_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approval_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # TOTP (RFC 6238): the shared secret once enrolment is confirmed, and the last time step
    # used, so one code cannot be played twice.
    # A Fernet token (policy.sealing), never the base32 secret itself.
    totp_secret_sealed: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    agency = relationship("Agency", back_populates="users")
    member = relationship("Member")
    approval_requested_by = relationship("User", foreign_keys=[approval_requested_by_id],
                                         remote_side=[id])
    approved_by = relationship("User", foreign_keys=[approved_by_id], remote_side=[id])
    recovery_codes = relationship("RecoveryCode", back_populates="user",
                                  cascade="all, delete-orphan")

    # Flask-Login's protocol, written out so an inactive or unapproved account holds no session.
    @property
    def is_active(self) -> bool:
        return bool(self.active) and self.approval_pending is None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The session's user id carries the generation: a raised generation ends the session."""
        return f"{self.id}:{self.session_generation or 0}"

    @property
    def has_second_factor(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret_sealed)

    def problems(self) -> list[str]:
        if self.role == Role.agency_staff and self.agency_id is None and self.agency is None:
            return [_l("関係機関担当者には所属機関を指定してください。")]
        return []

    def __str__(self) -> str:
        name = self.display_name or self.login
        return f"{name}（{self.role.label}）"


class RecoveryCode(db.Model):
    """A one-time code that replaces a TOTP code when the phone is lost; stored hashed."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user = relationship("User", back_populates="recovery_codes")

    def __str__(self) -> str:
        return str(_l("回復コード"))


class ThrottleScope(LabeledEnum):
    pair = "pair", _l("ログイン名と接続元の組")
    address = "address", _l("接続元")


class LoginThrottle(db.Model):
    """Failed logins counted per (login, address) and per address, shared by every worker.

    A row slows its key down (``blocked_until``); it never locks an account as such, so a flood
    from one address leaves the owner free to sign in from another.
    """

    __tablename__ = "login_throttles"
    __label__ = _l("ログイン試行の制限")
    __table_args__ = (UniqueConstraint("scope", "login", "remote_addr",
                                       name="uq_login_throttles_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[ThrottleScope] = mapped_column(enum_type(ThrottleScope))
    login: Mapped[str] = mapped_column(String(64), default="", index=True)
    remote_addr: Mapped[str] = mapped_column(String(45))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __str__(self) -> str:
        who = f"{self.login} / " if self.login else ""
        return f"{who}{self.remote_addr}（{self.failures}回）"
