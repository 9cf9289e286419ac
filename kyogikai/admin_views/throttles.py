"""ログイン試行の制限: システム管理者 sees which logins and addresses are slowed down, and clears
them (each clearing audited). A row is never an account lock: see policy.throttling."""

from flask_babel import lazy_gettext as _l

from kyogikai.admin_views.base import SecureModelView
from kyogikai.models import db
from kyogikai.policy import throttling


class LoginThrottleView(SecureModelView):

    column_list = ("scope", "login", "remote_addr", "failures", "first_failed_at",
                   "last_failed_at", "blocked_until")
    column_default_sort = ("last_failed_at", True)
    column_filters = ("scope", "login", "remote_addr")
    column_searchable_list = ("login", "remote_addr")
    column_labels = {
        "scope": _l("対象"),
        "login": _l("入力されたログインID"),
        "remote_addr": _l("接続元"),
        "failures": _l("失敗回数"),
        "first_failed_at": _l("最初の失敗"),
        "last_failed_at": _l("最後の失敗"),
        "blocked_until": _l("この時刻まで待機"),
    }

    def delete_model(self, model):
        """Deleting a row is clearing the throttle: audited as such, not as a record deletion."""
        throttling.clear([model])
        db.session.commit()
        return True
