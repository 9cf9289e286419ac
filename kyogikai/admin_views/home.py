"""The home page: what needs attention, counted within what the user may see.

Every figure is a link to the list filtered to exactly the rows it counts: the figure and the
list's filter share one SQL condition (models/, admin_views/filters.ConditionFilter) and the
same scope (policy.scoping), so the list's count is the figure.
"""

from datetime import date

from flask import url_for
from flask_admin import AdminIndexView, expose
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from kyogikai.admin_views.base import PolicyMixin, current_role
from kyogikai.admin_views.cases import OVERDUE
from kyogikai.admin_views.consent import NEEDS_RENEWAL
from kyogikai.admin_views.filters import year_label
from kyogikai.admin_views.meetings import FISCAL_YEAR, UPCOMING
from kyogikai.japanese.fiscal import fiscal_year, fiscal_year_range
from kyogikai.models import Case, Companion, Consent, Meeting, MeetingKind, Woman, db
from kyogikai.models.cases import OPEN_STATUSES, overdue_clause
from kyogikai.models.consent import needs_renewal_clause
from kyogikai.models.council import review_interval_months
from kyogikai.models.meetings import upcoming_clause
from kyogikai.policy import accounts, notices, scoping
from kyogikai.policy.matrix import LIST, allowed


class HomeView(PolicyMixin, AdminIndexView):
    resource = "dashboard"

    @expose("/")
    def index(self):
        if self._may("notice"):
            notices.sweep_expired()
        return self.render("admin/home.html", today=date.today(), groups=self._groups())

    def _count(self, model, resource, *where) -> int:
        query = select(func.count(model.id)).where(*where)
        return db.session.scalar(scoping.scope(query, resource)) or 0

    def list_view(self, endpoint):
        """The generated list screen of ``endpoint`` (registry.register_views records them)."""
        return self.admin.list_views[endpoint]

    def _groups(self) -> list[tuple]:
        """(heading, figures) for what the user's role may list; a figure is a dict of label,
        number, link, warn and note."""
        today = date.today()
        groups = []
        if self._may("case"):
            ledger = self.list_view("case")
            figures = [{"key": f"status-{status.value}", "label": status.label,
                        "number": self._count(Case, "case", Case.status == status),
                        "link": ledger.list_url(("status", status.value))}
                       for status in OPEN_STATUSES]
            number = self._count(Case, "case", overdue_clause(review_interval_months(), today,
                                                                   counting=True))
            figures.append({"key": "overdue", "label": _l("フォロー期限超過（管理記録が%(months)sか月以上ない）",
                                        months=review_interval_months()),
                            "number": number, "link": ledger.list_url((OVERDUE, "1")),
                            "warn": number > 0})
            groups.append((_l("進行中のケース"), figures))
        if self._may("consent"):
            number = self._count(Consent, "consent", needs_renewal_clause(today))
            groups.append((_l("本人同意"), [{
                "key": "consent-renewal", "label": _l("期限切れ・30日以内に期限（未終結のケース）"), "number": number,
                "link": self.list_view("consent").list_url((NEEDS_RENEWAL, "1")),
                "warn": number > 0}]))
        if self._may("meeting"):
            meetings = self.list_view("meeting")
            fy = fiscal_year(today)
            start, end = fiscal_year_range(fy)
            held = self._count(Meeting, "meeting", Meeting.kind == MeetingKind.representative,
                               Meeting.held_on.between(start, end))
            groups.append((_l("会議"), [
                {"key": "upcoming-meetings", "label": _l("今日から14日以内の会議"),
                 "number": self._count(Meeting, "meeting", upcoming_clause(today)),
                 "link": meetings.list_url((UPCOMING, "1"))},
                {"key": "representative-meetings",
                 "label": _l("%(year)sの代表者会議（開催済み・予定）", year=year_label(fy)),
                 "number": held, "warn": held == 0,
                 "link": meetings.list_url(("kind", MeetingKind.representative.value),
                                           (FISCAL_YEAR, str(fy))),
                 "note": _l("要綱4(2)アにより年1～2回程度の開催が想定されています。まだ開催も"
                            "予定もありません。") if held == 0 else ""}]))
        waiting = []
        if self._may("address_secrecy"):
            pending = sum(db.session.scalar(select(func.count(model.id)).where(
                model.address_hidden_pending.is_not(None))) or 0 for model in (Woman, Companion))
            waiting.append({
                "key": "address-secrecy", "label": _l("住所秘匿の確認待ち（申請者とは別の調整担当者が確認します）"),
                "number": pending, "link": url_for("address_secrecy.index"), "warn": pending > 0})
        if self._may("account_approval"):
            pending = len(accounts.pending_accounts())
            waiting.append({"key": "account-approval",
                            "label": _l("アカウントの承認待ち（別の調整担当者が承認します）"),
                            "number": pending, "link": url_for("account_approval.index"),
                            "warn": pending > 0})
        if waiting:
            groups.append((_l("確認待ち"), waiting))
        return groups

    @staticmethod
    def _may(resource: str) -> bool:
        return allowed(current_role(), LIST, resource)
