"""The audit log: read-only for システム管理者; nobody can change or delete an event."""

from flask_babel import lazy_gettext as _l

from kyogikai.admin_views.base import SecureModelView
from kyogikai.models import RoleFunction
from kyogikai.policy.matrix import RESOURCE_LABELS
from kyogikai.policy.resources import RESOURCES

# The structured detail of an event ("rows=3;total=10") as a person reads it.
DETAIL_KEYS = {
    "endpoint": _l("画面"), "rows": _l("表示件数"), "total": _l("該当件数"), "format": _l("形式"),
    "fields": _l("変更した項目"), "requested": _l("申請"), "confirmed": _l("確認・反映"),
    "rejected": _l("却下"), "case_id": _l("ケースID"), "agencies": _l("同意のない機関ID"),
    "ids": _l("表示したID"),
    "approved": _l("承認"), "changed": _l("変更"), "reason": _l("理由"),
    "scope": _l("対象"), "failures": _l("失敗回数"), "cleared": _l("解除した件数"),
    "meeting_id": _l("会議ID"), "function": _l("役割"), "corrects": _l("訂正した行"),
    "cases": _l("ケース数"), "withdrawn_for_agency": _l("機関ごとの同意の撤回（機関ID）"),
}
DETAIL_VALUES = {
    "index_view": _l("一覧"), "details_view": _l("詳細"), "edit_view": _l("編集"),
    "create_view": _l("新規作成"), "delete_view": _l("削除"), "export": _l("出力"),
    "action_view": _l("一括操作"), "ajax_lookup": _l("候補検索"), "csv": "CSV",
    "set": _l("秘匿の設定"), "clear": _l("秘匿の解除"),
    "not_found_or_out_of_scope": _l("該当なし、または閲覧範囲外"),
    "unknown_login": _l("登録のないログインID"), "bad_password": _l("パスワード誤り"),
    "locked": _l("ロック中"), "inactive": _l("無効なアカウント"),
    "throttled": _l("試行制限中のため拒否"), "approval_pending": _l("承認待ちのアカウント"),
    "bad_second_factor": _l("確認コード誤り"), "second_factor": _l("二要素認証"),
    "idle": _l("一定時間操作なし"), "absolute": _l("ログインからの上限時間"),
    "revoked": _l("失効したセッション"),
    "created": _l("新規作成"), "role_changed": _l("役割の変更"),
    "agency_changed": _l("所属機関の変更"), "reactivated": _l("再有効化"),
    "password_reset": _l("パスワードの再設定"), "second_factor_reset": _l("二要素認証のリセット"),
    "role": _l("役割"), "agency": _l("所属機関"), "deactivated": _l("無効化"),
    "unlocked": _l("ログイン制限の解除"), "wrong_current": _l("現在のパスワード誤り"),
    "enrolled": _l("登録"), "enrol_failed": _l("登録の失敗"), "disabled": _l("解除"),
    "reset_by_admin": _l("管理者によるリセット"), "recovery_code_used": _l("回復コードの使用"),
    "recovery_codes_renewed": _l("回復コードの再発行"), "pair": _l("ログイン名と接続元の組"),
    "address": _l("接続元"), "self": _l("本人による変更"),
    "index": _l("表示"), "candidates": _l("登録済みの女性の確認"), "gate": _l("本人同意の確認"),
    "cases": _l("ケースの検索"), "designated": _l("要綱4(3)③による指定"),
    **{function.value: function.label for function in RoleFunction},
}


def _object_type(view, context, model, name):
    return RESOURCE_LABELS.get(model.object_type, model.object_type) if model.object_type else "―"


def field_labels(resource: str) -> dict:
    """The Japanese names a resource's screens give its fields (for "fields=" in an event)."""
    from kyogikai.admin_views.base import COMMON_LABELS
    from kyogikai.admin_views.registry import VIEWS

    for view_class, view_resource, _group in VIEWS:
        if view_resource == resource:
            return {**COMMON_LABELS, **(view_class.column_labels or {})}
    return COMMON_LABELS


def _part(part: str, labels: dict) -> str:
    key, _, value = part.partition("=")
    if not value:
        return str(DETAIL_VALUES.get(key, key))
    if key == "endpoint":
        screen, _dot, view = value.rpartition(".") if "." in value else (value, "", "")
        if screen in RESOURCES and RESOURCES[screen].model is None:  # a workflow screen
            name = str(RESOURCE_LABELS[screen])
            if view and view != "index":
                name += f"・{DETAIL_VALUES.get(view, view)}"
            return f"{DETAIL_KEYS['endpoint']}: {name}"
        value = view or value
    names = labels if key == "fields" else DETAIL_VALUES
    shown = "、".join(str(names.get(v, v)) for v in value.split(","))
    return f"{DETAIL_KEYS.get(key, key)}: {shown}"


def describe(event) -> str:
    """An event's structured detail as a person reads it (the audit log, a case's 閲覧記録)."""
    labels = field_labels(event.object_type) if "fields=" in event.detail else {}
    return "／".join(_part(part, labels) for part in event.detail.split(";") if part) or "―"


def _detail(view, context, model, name):
    return describe(model)


class AuditEventView(SecureModelView):

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
    column_formatters = {"object_type": _object_type, "detail": _detail}
    action_permissions = {}  # no bulk delete, whatever the matrix says
