"""アカウントの承認: a 調整担当者 approves (or refuses) an account that can read case content.

The screen shows who asked for what; the account itself and the person who asked cannot approve
it (policy.accounts). Both decisions are audited.
"""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.models import User, db
from kyogikai.policy import accounts, scoping
from kyogikai.policy.matrix import EDIT


class AccountApprovalView(SecureView):
    resource = "account_approval"

    @expose("/")
    def index(self):
        return self.render("admin/account_approval.html", pending=accounts.pending_accounts(),
                           may_decide=self.allows(EDIT), me=current_user)

    @expose("/decide", methods=("POST",))
    def decide(self):
        if not self.allows(EDIT):
            return deny("decide", self.resource)
        user_id = scoping.parse_id(request.form.get("id", ""))  # 「²」 passes isdigit, not int
        user = db.session.get(User, user_id) if user_id is not None else None
        if user is None:
            flash(_("対象のアカウントが見つかりません。"), "error")
            return redirect(url_for(".index"))
        try:
            if request.form.get("decision") == "approve":
                accounts.approve(user, current_user)
                message = _("アカウント「%(login)s」を承認しました。", login=user.login)
            else:
                accounts.reject(user, current_user)
                message = _("アカウント「%(login)s」を承認せず、無効にしました。", login=user.login)
        except accounts.AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(message, "success")
        return redirect(url_for(".index"))
