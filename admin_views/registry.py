"""Every screen of the panel, with its Japanese name and menu group, in one list."""

from flask_admin import Admin
from flask_babel import lazy_gettext as _l

from admin_views.accounts import UserView
from admin_views.audit import AuditEventView
from admin_views.council import AgencyView
from models import Agency, AuditEvent, User, db

SETTINGS = _l("設定・管理")


def register_views(admin: Admin) -> None:
    session = db
    admin.add_view(AgencyView(Agency, session, name=_l("関係機関"), category=SETTINGS,
                              endpoint="agency"))
    admin.add_view(UserView(User, session, name=_l("利用者アカウント"), category=SETTINGS,
                            endpoint="user"))
    admin.add_view(AuditEventView(AuditEvent, session, name=_l("監査ログ"), category=SETTINGS,
                                  endpoint="audit_event"))
