"""自分のアカウント: everyone changes her own password and enrols (or removes) a TOTP factor.

Each step that changes how the account signs in asks for the current password again, ends the
account's other sessions and keeps this one. Recovery codes are shown once, right after they
are made, and never again.
"""

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.admin_views.forms import BaseForm
from kyogikai.models import db
from kyogikai.policy import accounts, second_factor, sessions
from kyogikai.policy.authentication import verify_password
from kyogikai.policy.matrix import EDIT
from kyogikai.policy.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class PasswordChangeForm(BaseForm):
    current = PasswordField(_l("現在のパスワード"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("新しいパスワード"),
                        validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
                        description=_l("%(n)d文字以上。ログインIDを含まず、推測されにくいもの"
                                       "（関係のない言葉をいくつか組み合わせた文など）。",
                                       n=MIN_PASSWORD_LENGTH))
    confirm = PasswordField(_l("新しいパスワード（確認）"),
                            validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])


class ReauthForm(BaseForm):
    password = PasswordField(_l("現在のパスワード"), validators=[DataRequired(), Length(max=256)])


class ConfirmCodeForm(BaseForm):
    code = StringField(_l("認証アプリに表示された6桁の確認コード"),
                       validators=[DataRequired(), Length(max=16)])


class OwnAccountView(SecureView):
    resource = "own_account"

    def is_visible(self):
        return False  # reached from the user menu in the navbar

    def _page(self, **context):
        user = current_user
        return self.render(
            "admin/own_account.html", user=user,
            password_form=context.pop("password_form", None) or PasswordChangeForm(formdata=None),
            reauth_form=ReauthForm(formdata=None),
            required=second_factor.required_for(user),
            remaining=second_factor.remaining_recovery_codes(user), **context)

    @expose("/")
    def index(self):
        return self._page()

    def _may_edit(self):
        return self.allows(EDIT)

    @expose("/password", methods=("POST",))
    def password(self):
        if not self._may_edit():
            return deny("password", self.resource)
        form = PasswordChangeForm()
        if form.validate_on_submit():
            problems = accounts.change_own_password(current_user, form.current.data,
                                                    form.new.data, form.confirm.data)
            if not problems:
                sessions.renew(current_user)
                db.session.commit()
                flash(_("パスワードを変更しました。ほかの端末でのログインは終了しました。"), "success")
                return redirect(url_for(".index"))
            db.session.commit()  # the audit of a wrong current password
            form.new.errors = list(form.new.errors) + problems
        return self._page(password_form=form)

    def _reauthenticated(self) -> bool:
        form = ReauthForm()
        if form.validate_on_submit() and verify_password(current_user.password_hash,
                                                         form.password.data):
            return True
        flash(_("現在のパスワードが正しくありません。"), "error")
        return False

    @expose("/second-factor/start", methods=("POST",))
    def second_factor_start(self):
        if not self._may_edit():
            return deny("second_factor_start", self.resource)
        if current_user.has_second_factor:
            return redirect(url_for(".index"))
        if not self._reauthenticated():
            return redirect(url_for(".index"))
        second_factor.start_enrolment(current_user)
        db.session.commit()
        return self._enrol_page(ConfirmCodeForm(formdata=None))

    def _enrol_page(self, form):
        user = current_user
        return self.render("admin/own_account_enrol.html", form=form,
                           qr=Markup(second_factor.qr_svg(user)),  # nosec B704  # SVG drawn by segno: QR modules only, no text
                           secret=second_factor.secret(user))

    @expose("/second-factor/confirm", methods=("POST",))
    def second_factor_confirm(self):
        if not self._may_edit():
            return deny("second_factor_confirm", self.resource)
        user = current_user
        if user.has_second_factor or not user.totp_secret_sealed:
            return redirect(url_for(".index"))
        form = ConfirmCodeForm()
        if form.validate_on_submit():
            codes = second_factor.confirm_enrolment(user, form.code.data)
            if codes is not None:
                sessions.end_all(user.id)
                sessions.renew(user)
                db.session.commit()
                return self.render("admin/own_account_codes.html", codes=codes, enrolled=True)
            form.code.errors = [_("確認コードが正しくありません。認証アプリの時刻設定も確認してください。")]
        db.session.commit()
        return self._enrol_page(form)

    @expose("/second-factor/recovery-codes", methods=("POST",))
    def recovery_codes(self):
        if not self._may_edit():
            return deny("recovery_codes", self.resource)
        if not current_user.has_second_factor or not self._reauthenticated():
            return redirect(url_for(".index"))
        codes = second_factor.new_recovery_codes(current_user)
        second_factor.record(current_user, "recovery_codes_renewed")
        db.session.commit()
        return self.render("admin/own_account_codes.html", codes=codes, enrolled=False)

    @expose("/second-factor/remove", methods=("POST",))
    def second_factor_remove(self):
        if not self._may_edit():
            return deny("second_factor_remove", self.resource)
        user = current_user
        if second_factor.required_for(user):
            flash(_("この役割では二要素認証を解除できません。"), "error")
            return redirect(url_for(".index"))
        if user.totp_secret_sealed and self._reauthenticated():
            second_factor.remove(user)
            sessions.end_all(user.id)
            sessions.renew(user)
            db.session.commit()
            flash(_("二要素認証を解除しました。ほかの端末でのログインは終了しました。"), "success")
        return redirect(url_for(".index"))
