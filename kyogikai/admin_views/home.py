"""The home page: what needs attention, counted within what the user may see."""

from datetime import date

from flask import url_for
from flask_admin import AdminIndexView, expose
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from kyogikai.admin_views.base import PolicyMixin, current_role
from kyogikai.japanese.fiscal import fiscal_year, fiscal_year_range
from kyogikai.japanese.wareki import wareki_year_label
from kyogikai.models import Case, Companion, Meeting, MeetingKind, Woman, db
from kyogikai.models.cases import ENDED_STATUSES, overdue_clause
from kyogikai.models.council import review_interval_months
from kyogikai.policy import accounts, scoping
from kyogikai.policy.matrix import LIST, allowed


class HomeView(PolicyMixin, AdminIndexView):
    resource = "dashboard"

    @expose("/")
    def index(self):
        return self.render("admin/home.html", today=date.today(), panels=self._panels())

    def _count(self, query, resource):
        return db.session.scalar(scoping.scope(query, resource)) or 0

    def _panels(self) -> list[dict]:
        """(label, number, link, warn) for each figure the user's role may see."""
        today = date.today()
        panels = []
        if self._may("case"):
            open_cases = select(func.count(Case.id)).where(Case.status.not_in(ENDED_STATUSES))
            overdue = select(func.count(Case.id)).where(
                overdue_clause(review_interval_months(), today))
            panels.append({"label": _l("支援中・見守り等のケース"),
                           "number": self._count(open_cases, "case"),
                           "link": url_for("case.index_view"), "warn": False})
            number = self._count(overdue, "case")
            panels.append({"label": _l("管理記録の期限超過（定期的な状況確認が必要）"),
                           "number": number, "link": url_for("case.index_view"),
                           "warn": number > 0})
        if self._may("meeting"):
            fy = fiscal_year(today)
            start, end = fiscal_year_range(fy)
            held_or_planned = select(func.count(Meeting.id)).where(
                Meeting.kind == MeetingKind.representative, Meeting.held_on.between(start, end))
            number = self._count(held_or_planned, "meeting")
            panels.append({"label": _l("%(year)sの代表者会議（開催・予定）", year=wareki_year_label(fy)),
                           "number": number, "link": url_for("meeting.index_view"),
                           "warn": number == 0,
                           "note": _l("要綱4(2)アにより年1～2回程度の開催が想定されています。")
                           if number == 0 else ""})
        if self._may("address_secrecy"):
            pending = sum(db.session.scalar(select(func.count(model.id)).where(
                model.address_hidden_pending.is_not(None))) or 0 for model in (Woman, Companion))
            panels.append({"label": _l("住所秘匿の確認待ち（別の調整担当者の確認が必要）"),
                           "number": pending, "link": url_for("address_secrecy.index"),
                           "warn": pending > 0})
        if self._may("account_approval"):
            waiting = len(accounts.pending_accounts())
            panels.append({"label": _l("アカウントの承認待ち（別の調整担当者の承認が必要）"),
                           "number": waiting, "link": url_for("account_approval.index"),
                           "warn": waiting > 0})
        return panels

    @staticmethod
    def _may(resource: str) -> bool:
        return allowed(current_role(), LIST, resource)
