"""The audit log: read-only for システム管理者; nobody can change or delete an event."""

from flask_babel import lazy_gettext as _l

from admin_views.base import SecureModelView


class AuditEventView(SecureModelView):
    resource = "audit_event"

    column_list = ("occurred_at", "user", "login_attempted", "action", "object_type", "object_id",
                   "outcome", "detail", "remote_addr")
    column_filters = ("occurred_at", "action", "outcome", "object_type", "object_id")
    column_default_sort = ("occurred_at", True)
    column_labels = {
        "occurred_at": _l("日時"),
        "user": _l("利用者"),
        "login_attempted": _l("入力されたログインID"),
        "action": _l("操作"),
        "object_type": _l("対象の種類"),
        "object_id": _l("対象ID"),
        "outcome": _l("結果"),
        "detail": _l("詳細"),
        "remote_addr": _l("接続元"),
    }
    action_permissions = {}  # no bulk delete, whatever the matrix says
