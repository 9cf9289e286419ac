"""Login and logout pages (Flask-Login), outside Flask-Admin so they need no session."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from kyogikai.admin_views.forms import BaseForm
from kyogikai.models import AuditAction, db
from kyogikai.policy import audit
from kyogikai.policy.authentication import authenticate

bp = Blueprint("auth", __name__)


class LoginForm(BaseForm):
    login = StringField(_l("ログインID"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("パスワード"), validators=[DataRequired(), Length(max=256)])


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect on the login page would aid phishing."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.login.data.strip(), form.password.data)
        if user is not None:
            session.clear()  # a fresh session on login: no fixation
            login_user(user)
            session.permanent = True
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        db.session.commit()
        flash(_("ログインIDまたはパスワードが正しくありません。"), "danger")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        audit.record(AuditAction.logout)
        logout_user()
    session.clear()
    flash(_("ログアウトしました。"), "info")
    return redirect(url_for("auth.login"))
