"""The application factory: config from the environment, extensions, the admin panel, the CLI."""

import sqlite3
from functools import cached_property
from pathlib import Path

import flask_admin.babel
from flask import Flask, abort, has_app_context, redirect, render_template, request, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import Babel, Domain
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from kyogikai.admin_views.formatting import birth_with_age, format_local_datetime
from kyogikai.config import INSTANCE_DIR, load_config, parse_roles, secure_instance_files
from kyogikai.extensions import csrf, db, login_manager, migrate
from kyogikai.japanese.terminology import TERMINOLOGIES
from kyogikai.japanese.wareki import format_wareki, format_wareki_with_western
from kyogikai.policy import audit, resources, sessions

BASE_DIR = Path(__file__).resolve().parent
TRANSLATIONS_DIR = BASE_DIR / "translations"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Foreign keys on, WAL for concurrent readers, and a busy timeout instead of instant errors."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def create_app(config: dict | None = None) -> Flask:
    instance_dir = Path((config or {}).get("INSTANCE_PATH", INSTANCE_DIR))
    app = Flask("kyogikai", instance_path=str(instance_dir.resolve()),
                instance_relative_config=True)
    app.config.update(load_config(instance_dir))
    if config:
        app.config.update(config)
    app.config["TOTP_REQUIRED_ROLES"] = parse_roles(app.config["TOTP_REQUIRED_ROLES"])
    secure_instance_files(instance_dir, app.config["SQLALCHEMY_DATABASE_URI"])
    resources.check()  # every resource declared, every personal text column decided

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    # One Babel per app: Flask-Babel caches catalogs in its instance, so apps with different
    # TERMINOLOGY in one process (the tests) must not share one.
    JapaneseBabel(app, locale_selector=lambda: "ja",
          default_translation_directories=translation_directories(app.config["TERMINOLOGY"]))
    _use_our_flask_admin_catalog()
    _init_login(app)
    _init_admin(app)
    _init_errors(app)
    app.jinja_env.filters["wareki"] = format_wareki_with_western
    app.jinja_env.filters["local_datetime"] = format_local_datetime
    app.jinja_env.filters["wareki_date"] = lambda d: format_wareki(d) if d else ""
    app.jinja_env.filters["birth_with_age"] = lambda d: birth_with_age(d) or "―"
    app.before_request(_refuse_nul)
    app.after_request(audit.commit_pending)
    app.after_request(_security_headers)

    from kyogikai.cli import register_cli

    register_cli(app)

    from kyogikai.ops.health import bp as health_bp

    app.register_blueprint(health_bp)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind nginx: the client's address (audit log) and https (secure cookies, redirects)
        # come from the proxy's X-Forwarded-* headers, trusted for that many hops only.
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    @app.route("/")
    def root():
        return redirect(url_for("admin.index"))

    return app


# Everything comes from this server (closed network). Flask-Admin's templates and widgets use
# inline scripts and styles, hence 'unsafe-inline'; no other origin is allowed for anything.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


def _refuse_nul() -> None:
    """No person types a NUL character, and PostgreSQL refuses one in text where SQLite stores it
    (a search, a filter, a form field or an audit detail then failed with a 500 on one engine
    only): a request carrying one in its path, a parameter or a file name is a 400 before any
    view or query runs."""
    def parts():
        yield request.path
        for data in (request.args, request.form):
            for key, values in data.lists():
                yield key
                yield from values
        for key, upload in request.files.items(multi=True):
            yield key
            yield upload.filename or ""

    if any("\x00" in part for part in parts()):
        abort(400)


def _security_headers(response):
    """Case pages must not linger in a shared PC's browser cache, nor be framed or sniffed."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith(("/static/", "/admin/static/")):
        response.headers["Cache-Control"] = "no-store"
    return response


def translation_directories(terminology: str) -> str:
    """Our catalog, and with TERMINOLOGY=2024 the 2024 wording merged over it (Flask-Babel merges
    the directories in order): labels change through catalogs, not code."""
    if terminology not in TERMINOLOGIES:
        raise ValueError(f"TERMINOLOGY は {' か '.join(TERMINOLOGIES)} を指定してください"
                         f"（指定値: {terminology!r}）")
    directories = [TRANSLATIONS_DIR]
    if terminology == "2024":
        directories.append(TRANSLATIONS_DIR / "terminology_2024")
    return ";".join(str(d) for d in directories)


class JapaneseDomain(Domain):
    """The panel speaks Japanese only (``locale_selector``), so the app's catalog is looked up
    once and kept. Flask-Babel looks the request's context, domain and locale up again on every
    gettext (about 13 µs each; a 50-row ledger page translates some 250 labels)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._japanese = None

    def get_translations(self):
        if self._japanese is not None and has_app_context():
            return self._japanese
        translations = super().get_translations()
        if has_app_context():  # outside an app Flask-Babel gives the untranslated msgids
            self._japanese = translations
        return translations


class JapaneseBabel(Babel):
    """One per app (see create_app), so each app keeps its own TERMINOLOGY's catalog."""

    @cached_property
    def domain_instance(self):
        return JapaneseDomain(domain=self.domain)


def _use_our_flask_admin_catalog() -> None:
    """Flask-Admin's shipped ja .mo is stale ('Failed to create record.' stays English).

    Its translation domain is module-global and caches per locale, so point it at our complete
    catalog only, rather than merging the two in an order that depends on the first request.
    """
    flask_admin.babel.domain._translation_directories = [str(TRANSLATIONS_DIR)]
    flask_admin.babel.wtforms_domain._translation_directories = [str(TRANSLATIONS_DIR)]


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("ログインしてください。")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    login_manager.user_loader(sessions.load_user)

    from kyogikai.admin_views.auth import bp

    app.register_blueprint(bp)


def _init_admin(app: Flask) -> None:
    from kyogikai.admin_views import base_template
    from kyogikai.admin_views.registry import register_views

    theme = Bootstrap4Theme(base_template="admin/ja_base.html", fluid=True)
    base_template.install(app, theme.folder)
    admin = Admin(app, name=_l("女性支援 地域協議会"), theme=theme, index_view=_home_view())
    register_views(admin)

    from kyogikai.admin_views import attachments
    from kyogikai.policy import notices  # registers the ORM events that write notices
    from kyogikai.policy.matrix import LIST, allowed

    # For templates, called only where drawn: the navbar's unread count (one indexed count per
    # page) and a record's attachments (also from macros imported without context).
    app.jinja_env.globals.update(
        unread_notices=notices.unread_count,
        may_read_notices=lambda: current_user.is_authenticated
        and allowed(current_user.role, LIST, "notice"),
        attachment_panel=attachments.attachment_panel)

    @app.url_value_preprocessor
    def _upload_limit(endpoint, values):
        # Runs before every before_request (CSRFProtect reads the form there): a route that
        # takes a file gets its own limit; every other request keeps MAX_CONTENT_LENGTH.
        limits = large_uploads().get(endpoint)
        if limits is not None:
            request.max_content_length = limits[0]()


def large_uploads() -> dict:
    """Routes that take a file larger than any form: endpoint → (the request's limit, the
    file's limit the 413 page names). The one place such a route is declared; CSRFProtect
    checks them as any other form."""
    from kyogikai.admin_views import attachments
    from kyogikai.imports.workbook import MAX_FILE_BYTES
    from kyogikai.policy.attachments import max_bytes

    return {
        attachments.UPLOAD_ENDPOINT: (attachments.upload_limit, max_bytes),
        "ledger_import.upload": (lambda: MAX_FILE_BYTES + 1024 * 1024, lambda: MAX_FILE_BYTES),
    }


def _home_view():
    from kyogikai.admin_views.home import HomeView

    return HomeView(name=_l("ホーム"), url="/admin")


def _init_errors(app: Flask) -> None:
    messages = {
        400: _l("要求の内容が正しくありません。"),
        403: _l("この操作を行う権限がありません。"),
        404: _l("ページまたは記録が見つかりません。"),
        405: _l("この操作はこの方法では行えません。"),
        500: _l("システムエラーが発生しました。時間をおいて再度お試しください。"),
    }

    def render_error(code: int, message):
        return render_template("errors/error.html", code=code, message=message), code

    @app.errorhandler(413)
    def too_large(error):
        # A route that takes a file names the file's limit, not a form's (large_uploads).
        limits = large_uploads().get(request.endpoint)
        limit = (limits[1]() if limits else app.config["MAX_CONTENT_LENGTH"]) / (1024 * 1024)
        return render_error(413, _("送信された内容が大きすぎます（上限 %(mb)s MB）。この送信では何も保存"
                                   "されていません。内容を減らして、もう一度送信してください。",
                                   mb=f"{limit:g}"))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _l("画面の有効期限が切れたか、不正な送信です。画面を開き直してください。"))

    for code, message in messages.items():
        app.register_error_handler(code, lambda error, c=code, m=message: render_error(c, m))
