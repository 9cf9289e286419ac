"""The append-only audit trail (DOMAIN rule 7). It never holds personal values."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DDL, DateTime, ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kyogikai.models.base import db, utcnow
from kyogikai.models.enums import LabeledEnum, enum_type


class AuditAction(LabeledEnum):
    login = "login", _l("ログイン")
    logout = "logout", _l("ログアウト")
    login_failed = "login_failed", _l("ログイン失敗")
    view_list = "view_list", _l("一覧閲覧")
    view_record = "view_record", _l("記録閲覧")
    create = "create", _l("作成")
    update = "update", _l("更新")
    delete = "delete", _l("削除")
    export = "export", _l("出力")
    denied = "denied", _l("アクセス拒否")
    consent_override = "consent_override", _l("同意確認の緊急例外")
    address_secrecy = "address_secrecy", _l("住所秘匿の変更")
    session_ended = "session_ended", _l("セッション終了（時間切れ・失効）")
    password_change = "password_change", _l("パスワード変更")
    account_change = "account_change", _l("アカウントの変更")
    account_approval = "account_approval", _l("アカウントの承認")
    second_factor = "second_factor", _l("二要素認証")
    throttle_cleared = "throttle_cleared", _l("ログイン制限の解除")


class AuditOutcome(LabeledEnum):
    success = "success", _l("成功")
    failure = "failure", _l("失敗")
    denied = "denied", _l("拒否")


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __label__ = _l("監査ログ")

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The login typed at a failed attempt, kept so brute force is visible; never a password.
    login_attempted: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[AuditAction] = mapped_column(enum_type(AuditAction), index=True)
    object_type: Mapped[str] = mapped_column(String(50), default="")
    object_id: Mapped[int | None] = mapped_column(Integer, index=True)
    outcome: Mapped[AuditOutcome] = mapped_column(enum_type(AuditOutcome))
    # Field names, row counts, endpoint: structure only, never personal values.
    detail: Mapped[str] = mapped_column(String(1000), default="")
    remote_addr: Mapped[str] = mapped_column(String(45), default="")

    user = relationship("User")

    def __str__(self) -> str:
        return f"{self.action.label}（{self.occurred_at:%Y-%m-%d %H:%M} UTC）"


# The database refuses changes too, so not even a hand-written UPDATE rewrites history. The same
# statements run in the Alembic revision that adds them; create_all (tests) runs them from here.
APPEND_ONLY_DDL = {
    "sqlite": [
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$",
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    ],
}

for _dialect, _statements in APPEND_ONLY_DDL.items():
    for _statement in _statements:
        event.listen(AuditEvent.__table__, "after_create",
                     DDL(_statement).execute_if(dialect=_dialect))


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper, connection, target):
    raise PermissionError("audit events are append-only")
