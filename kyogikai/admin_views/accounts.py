"""Accounts (システム管理者 only): login, role, agency; the password is only ever set, never shown."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms.validators import Length, Optional, ValidationError

from kyogikai.admin_views.base import SecureModelView
from kyogikai.policy.authentication import MIN_PASSWORD_LENGTH, hash_password


class UserView(SecureModelView):

    column_list = ("login", "display_name", "role", "agency", "active", "locked_until",
                   "last_login_at")
    column_searchable_list = ("login", "display_name")
    column_filters = ("role", "active")
    column_default_sort = "login"
    column_labels = {
        "login": _l("ログインID"),
        "display_name": _l("表示名"),
        "role": _l("役割"),
        "agency": _l("所属機関"),
        "member": _l("構成員"),
        "active": _l("有効"),
        "locked_until": _l("ロック解除予定"),
        "last_login_at": _l("最終ログイン"),
        "failed_logins": _l("連続失敗回数"),
        "created_at": _l("作成日時"),
        "updated_at": _l("更新日時"),
    }
    column_details_exclude_list = ("password_hash",)
    form_columns = ("login", "display_name", "role", "agency", "member", "active", "new_password")
    form_extra_fields = {
        "new_password": PasswordField(
            _l("新しいパスワード"),
            validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, max=256)],
            description=_l("12文字以上。変更しない場合は空欄のままにしてください。"),
        )
    }

    def on_model_change(self, form, model, is_created):
        if form.new_password.data:
            model.password_hash = hash_password(form.new_password.data)
        elif is_created:
            raise ValidationError(_l("新しいアカウントにはパスワードが必要です。"))
        super().on_model_change(form, model, is_created)
