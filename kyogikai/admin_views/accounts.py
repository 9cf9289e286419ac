"""Accounts (システム管理者 only) through their whole life: create, change role and agency,
deactivate and reactivate, unlock, reset the password or the second factor. The password is only
ever set, never shown; what each step means for sessions and approval is policy.accounts'."""

from flask import flash
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import PasswordField
from wtforms.validators import Length, Optional, ValidationError

from kyogikai.admin_views.base import SecureModelView
from kyogikai.models import db
from kyogikai.policy import accounts
from kyogikai.policy.matrix import EDIT
from kyogikai.policy.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problems


def _yes_no(flag) -> str:
    return _("はい") if flag else ""


class UserView(SecureModelView):

    column_list = ("login", "display_name", "role", "agency", "active", "approval_pending",
                   "second_factor", "must_change_password", "last_login_at")
    column_details_list = ("login", "display_name", "role", "agency", "member", "active",
                           "approval_pending", "approval_requested_by", "approval_requested_at",
                           "approved_by", "approved_at", "second_factor", "must_change_password",
                           "password_changed_at", "last_login_at", "created_at", "updated_at")
    column_searchable_list = ("login", "display_name")
    column_filters = ("role", "active", "approval_pending")
    column_default_sort = "login"
    column_labels = {
        "login": _l("ログインID"),
        "display_name": _l("表示名"),
        "role": _l("役割"),
        "agency": _l("所属機関"),
        "member": _l("構成員"),
        "active": _l("有効"),
        "approval_pending": _l("承認待ち（理由）"),
        "approval_requested_by": _l("承認を依頼した人"),
        "approval_requested_at": _l("承認の依頼日時"),
        "approved_by": _l("最後に承認した調整担当者"),
        "approved_at": _l("最後の承認日時"),
        "second_factor": _l("二要素認証"),
        "must_change_password": _l("次回ログイン時にパスワード変更"),
        "password_changed_at": _l("パスワード変更日時"),
        "password_hash": _l("パスワード"),
        "last_login_at": _l("最終ログイン"),
        "created_at": _l("作成日時"),
        "updated_at": _l("更新日時"),
    }
    column_formatters = {
        "second_factor": lambda v, c, m, n: _("登録済み") if m.has_second_factor else _("未登録"),
        "must_change_password": lambda v, c, m, n: _yes_no(m.must_change_password),
    }
    form_columns = ("login", "display_name", "role", "agency", "member", "active", "new_password")
    form_extra_fields = {
        "new_password": PasswordField(
            _l("新しいパスワード（再設定）"),
            validators=[Optional(), Length(max=MAX_PASSWORD_LENGTH)],
            description=_l("%(n)d文字以上で、ログインIDを含まず推測されにくいもの。再設定すると、"
                           "本人は次回ログイン時に自分のパスワードへ変更します。変更しない場合は空欄の"
                           "ままにしてください。", n=MIN_PASSWORD_LENGTH),
        )
    }
    action_permissions = {"delete": "delete", "deactivate": EDIT, "reactivate": EDIT,
                          "unlock": EDIT, "reset_second_factor": EDIT}

    def on_model_change(self, form, model, is_created):
        password = form.new_password.data or ""
        if password:
            problems = password_problems(password, model.login, (model.display_name,))
            if problems:
                raise ValidationError(" ".join(problems))
            accounts.set_password_by_admin(model, password)
        elif is_created:
            raise ValidationError(_("新しいアカウントにはパスワードが必要です。"))
        super().on_model_change(form, model, is_created)
        with db.session.no_autoflush:
            accounts.after_admin_save(model, is_created, current_user, bool(password))

    def after_model_change(self, form, model, is_created):
        super().after_model_change(form, model, is_created)
        if model.approval_pending is not None:
            flash(_("このアカウントはケースの内容を閲覧できる役割のため、調整担当者が承認するまで"
                    "ログインできません（「アカウントの承認」）。"), "info")

    def _users(self, ids):
        return self.selected_records(ids)

    @action("deactivate", _l("無効にする"),
            _l("選択したアカウントを無効にします。ログイン中の画面もすべて終了します。よろしいですか？"))
    def action_deactivate(self, ids):
        done = 0
        for user in self._users(ids):
            if user.id == current_user.id:
                flash(_("自分自身のアカウントは無効にできません。"), "error")
                continue
            accounts.deactivate(user)
            done += 1
        db.session.commit()
        flash(_("%(n)d 件のアカウントを無効にしました。", n=done), "success")

    @action("reactivate", _l("有効に戻す"),
            _l("選択したアカウントを有効に戻します。ケースを閲覧できる役割は、調整担当者の承認後に"
               "使えるようになります。よろしいですか？"))
    def action_reactivate(self, ids):
        users = self._users(ids)
        for user in users:
            accounts.reactivate(user, current_user)
        db.session.commit()
        flash(_("%(n)d 件のアカウントを有効に戻しました。", n=len(users)), "success")

    @action("unlock", _l("ログイン制限を解除"),
            _l("選択したアカウントについて、すべての接続元からのログイン試行の制限を解除します。"
               "よろしいですか？"))
    def action_unlock(self, ids):
        cleared = sum(accounts.unlock(user) for user in self._users(ids))
        db.session.commit()
        flash(_("ログイン試行の制限を %(n)d 件解除しました。", n=cleared), "success")

    @action("reset_second_factor", _l("二要素認証をリセット"),
            _l("選択したアカウントの認証アプリと回復コードを無効にします。本人は次回ログイン後に"
               "登録し直します。よろしいですか？"))
    def action_reset_second_factor(self, ids):
        users = self._users(ids)
        for user in users:
            accounts.reset_second_factor(user, current_user)
        db.session.commit()
        flash(_("%(n)d 件のアカウントの二要素認証をリセットしました。", n=len(users)), "success")
