"""Sign-in (password, then the second factor when enrolled), sign-out, and the session guard
that runs before every request. Outside Flask-Admin, so the pages need no session."""

import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from kyogikai.admin_views import query_args
from kyogikai.admin_views.forms import BaseForm
from kyogikai.models import AuditAction, AuditOutcome, User, db
from kyogikai.policy import audit, second_factor, sessions, throttling
from kyogikai.policy.authentication import authenticate, throttled_message

bp = Blueprint("auth", __name__)

# The second factor must follow the password within this many seconds.
SECOND_FACTOR_SECONDS = 300
# Pages a signed-in person may reach while her account asks for something first.
OWN_ACCOUNT = "own_account.index"
ALWAYS_OPEN = {"static", "admin.static", "auth.logout", "auth.login"}


class LoginForm(BaseForm):
    login = StringField(_l("ログインID"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("パスワード"), validators=[DataRequired(), Length(max=256)])


class SecondFactorForm(BaseForm):
    code = StringField(_l("確認コード（6桁）または回復コード"),
                       validators=[DataRequired(), Length(max=32)])


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect on the login page would aid phishing."""
    return query_args.same_site_path(target) or url_for("admin.index")


def _remote_addr() -> str:
    return request.remote_addr or ""


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        attempt = authenticate(form.login.data.strip(), form.password.data, _remote_addr())
        user = attempt.user
        if user is not None and user.has_second_factor:
            target = request.args.get("next")
            session.clear()
            session["second_factor"] = {"user": user.id, "generation": user.session_generation,
                                        "at": time.time(), "next": _safe_next(target)}
            db.session.commit()
            return redirect(url_for("auth.second_factor_step"))
        if user is not None:
            sessions.begin(user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        db.session.commit()
        flash(attempt.message, "danger")
    return render_template("auth/login.html", form=form)


def _pending_second_factor() -> User | None:
    """The account whose password passed a moment ago in this browser, if still valid."""
    pending = session.get("second_factor")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > SECOND_FACTOR_SECONDS:
        return None
    user = db.session.get(User, pending.get("user"))
    if (user is None or not user.is_active or not user.has_second_factor
            or user.session_generation != pending.get("generation")):
        return None
    return user


@bp.route("/login/second-factor", methods=["GET", "POST"])
def second_factor_step():
    user = _pending_second_factor()
    if user is None:
        session.pop("second_factor", None)
        flash(_("もう一度ログインしてください。"), "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        wait = throttling.wait_seconds(user.login, _remote_addr())
        if wait:
            audit.record(AuditAction.login_failed, outcome=AuditOutcome.denied, user_id=user.id,
                         login_attempted=user.login, detail="throttled;second_factor")
            db.session.commit()
            flash(throttled_message(wait), "danger")
        elif (second_factor.verify(user, form.code.data)
              or second_factor.use_recovery_code(user, form.code.data)):
            target = session["second_factor"]["next"]
            throttling.forget(user.login, _remote_addr())
            sessions.begin(user)
            db.session.commit()
            return redirect(target)
        else:
            audit.record(AuditAction.login_failed, outcome=AuditOutcome.failure, user_id=user.id,
                         login_attempted=user.login, detail="bad_second_factor")
            wait = throttling.record_failure(user.login, _remote_addr())
            db.session.commit()
            flash(throttled_message(wait) if wait else _("確認コードが正しくありません。"), "danger")
    return render_template("auth/second_factor.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    sessions.logout(current_user)
    db.session.commit()
    flash(_("ログアウトしました。"), "info")
    return redirect(url_for("auth.login"))


ENDED_MESSAGES = {
    sessions.IDLE: _l("一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"),
    sessions.ABSOLUTE: _l("ログインしてから一定時間が経過したため、ログアウトしました。"
                          "もう一度ログインしてください。"),
    sessions.REVOKED: _l("このセッションは終了しています（ログアウト、パスワード・役割の変更、"
                         "アカウントの無効化など）。もう一度ログインしてください。"),
}


@bp.before_app_request
def guard_session():
    """Every request: an expired or revoked session ends here, with the reason on the login
    page; an account that must first change its password or enrol a second factor reaches only
    its own account page."""
    if request.endpoint in ALWAYS_OPEN or "_user_id" not in session:
        return None
    reason = sessions.expired()
    if reason is None and not current_user.is_authenticated:
        reason = sessions.REVOKED
    if reason is not None:
        sessions.record_end(reason)
        sessions.drop()
        flash(ENDED_MESSAGES[reason], "info")
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target))
    sessions.touch()
    if request.endpoint and request.endpoint.startswith("own_account."):
        return None
    if current_user.must_change_password:
        flash(_("管理者がパスワードを再設定しました。続けるには、新しいパスワードを設定してください。"),
              "warning")
        return redirect(url_for(OWN_ACCOUNT))
    if second_factor.required_for(current_user) and not current_user.has_second_factor:
        flash(_("この役割では二要素認証が必要です。続けるには、認証アプリを登録してください。"), "warning")
        return redirect(url_for(OWN_ACCOUNT))
    return None

