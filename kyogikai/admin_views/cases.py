"""The ledger (ケース進行管理台帳) and what hangs on a case: 役割分担, 管理記録, 支援経過."""

from datetime import date

from flask import g, url_for
from flask_admin.contrib.sqla.filters import DateGreaterFilter, DateSmallerFilter
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import and_

from kyogikai.admin_views.ajax import (
    CaseLoader,
    WomanLoader,
    case_number_prefix,
    looks_like_case_number,
)
from kyogikai.admin_views.base import SecureModelView, current_role
from kyogikai.admin_views.filters import AgencyFilter, ConditionFilter, FiscalYearFilter
from kyogikai.admin_views.formatting import (
    birth_with_age,
    clipped,
    compact_date,
    name_with_furigana,
    wareki_or_blank,
)
from kyogikai.models import Case, CaseReview, RoleAssignment, SupportRecord
from kyogikai.models.cases import is_review_overdue, overdue_clause
from kyogikai.models.council import review_interval_months
from kyogikai.models.women import name_matches
from kyogikai.policy.matrix import LIST, allowed

CASE_LABELS = {
    "number": _l("番号"),
    "fiscal_year": _l("年度"),
    "received_on": _l("相談受理年月日"),
    "status": _l("状況"),
    "ended_on": _l("終結・移管年月日"),
    "end_reason": _l("終結・移管の理由"),
    "levels": _l("危険度／緊急度"),
    "main_support_agency": _l("主たる支援機関"),
    "main_support_designated": _l("調整機関による主たる支援機関の指定（要綱4(3)③）"),
    "last_review_on": _l("最終管理記録日"),
    "birth": _l("生年月日（年齢）"),
    "woman": _l("氏名（フリガナ）"),
    "access_log": _l("閲覧記録"),
}


def _interval() -> int:
    if "review_interval" not in g:
        g.review_interval = review_interval_months()
    return g.review_interval


def _levels(view, context, model, name):
    risk = model.risk_level.label if model.risk_level else "―"
    urgency = model.urgency.label if model.urgency else "―"
    return f"{risk}／{urgency}"


def _last_review(view, context, model, name):
    text = compact_date(model.last_review_on) if model.last_review_on else escape(_l("なし"))
    if is_review_overdue(model, _interval(), date.today()):
        # Markup.format escapes each argument: no value reaches the page unescaped.
        return Markup('{} <span class="badge badge-danger" title="{}">{}</span>').format(
            text, _l("管理記録の期限超過"), _l("期限超過"))
    return text


def _access_log_link(view, context, model, name):
    if not allowed(current_role(), LIST, "case_access_log"):
        return ""
    url = url_for("case_access_log.index", case_id=model.id)
    return Markup('<a href="{}">{}</a>').format(url, _l("このケースの閲覧記録を見る"))


# DOMAIN rule 4: open cases whose 管理記録 is overdue (the home page's figure links here).
OVERDUE = ConditionFilter(Case.last_review_on, _l("フォロー期限超過"),
                          lambda today: overdue_clause(review_interval_months(), today))


class CaseView(SecureModelView):
    """The ledger: one row per case, the columns of 様式1, filtered and sorted on indexes."""

    details_template = "admin/model/details_attachments.html"
    column_list = ("number", "woman", "birth", "received_on", "status", "levels", "lead_agency",
                   "last_review_on")
    column_details_list = ("number", "fiscal_year", "woman", "birth", "received_on", "status",
                           "ended_on", "end_reason", "risk_level", "urgency", "lead_agency",
                           "main_support_agency", "main_support_designated", "last_review_on",
                           "note", "created_at", "updated_at", "access_log")
    column_sortable_list = ("number", ("woman", "woman.furigana"), ("birth", "woman.birth_date"),
                            "received_on", "status", "last_review_on")
    column_default_sort = ("received_on", True)
    column_labels = CASE_LABELS
    column_formatters = {
        "woman": lambda v, c, m, n: name_with_furigana(m.woman),
        "birth": lambda v, c, m, n: birth_with_age(m.woman.birth_date, compact=True),
        "levels": _levels,
        "lead_agency": lambda v, c, m, n: clipped(m.lead_agency),
        "last_review_on": _last_review,
        "access_log": _access_log_link,
    }
    column_formatters_detail = {
        "woman": lambda v, c, m, n: name_with_furigana(m.woman),
        "birth": lambda v, c, m, n: birth_with_age(m.woman.birth_date),
        "access_log": _access_log_link,
    }
    column_formatters_export = {
        **column_formatters,
        "woman": lambda v, c, m, n: str(m.woman),
        "birth": lambda v, c, m, n: birth_with_age(m.woman.birth_date),
        "lead_agency": lambda v, c, m, n: str(m.lead_agency or ""),
        "last_review_on": lambda v, c, m, n: wareki_or_blank(m.last_review_on) + (
            "（期限超過）" if is_review_overdue(m, _interval(), date.today()) else ""),
    }
    column_filters = (
        "status",
        AgencyFilter(Case.lead_agency_id, _l("主担当機関")),
        AgencyFilter(Case.main_support_agency_id, _l("主たる支援機関")),
        "risk_level",
        "urgency",
        DateGreaterFilter(Case.received_on, _l("相談受理年月日（この日より後）")),
        DateSmallerFilter(Case.received_on, _l("相談受理年月日（この日より前）")),
        FiscalYearFilter(Case.fiscal_year, _l("年度"), first_year_column=Case.fiscal_year,
                         resource="case"),
        OVERDUE,
    )
    name_search_column = "woman_id"
    column_searchable_list = ("number",)
    search_placeholder_text = _l("番号・氏名・フリガナで検索")

    form_columns = ("woman", "received_on", "status", "ended_on", "end_reason", "risk_level",
                    "urgency", "lead_agency", "main_support_agency", "main_support_designated",
                    "note")
    form_ajax_refs = {"woman": WomanLoader()}
    form_args = {"woman": {"label": _l("支援対象女性")}}

    def search_clause(self, search):
        """Each term matches a case number (prefix, when it looks like one) or the names.

        One or the other, not both under OR: PostgreSQL cannot combine an index range with the
        gram subquery under OR and would scan every case.
        """
        return and_(*(case_number_prefix(term) if looks_like_case_number(term)
                      else name_matches(Case.woman_id, term) for term in search.split()))


class RoleAssignmentView(SecureModelView):
    """役割分担 history: rows are ended (終了日), not rewritten; agency and function are fixed."""


    column_list = ("case", "agency", "function", "valid_from", "valid_to", "meeting")
    column_sortable_list = (("case", "case.number"), "valid_from", "valid_to")
    column_default_sort = ("valid_from", True)
    column_filters = ("function", AgencyFilter(RoleAssignment.agency_id, _l("関係機関")),
                      DateGreaterFilter(RoleAssignment.valid_from, _l("開始日（この日より後）")))
    column_labels = {"function": _l("役割"), "valid_from": _l("開始日"),
                     "valid_to": _l("終了日（現在も担う場合は空欄）"),
                     "meeting": _l("決定した会議")}
    form_edit_columns = ("valid_to", "note")
    form_columns = ("case", "agency", "function", "meeting", "valid_from", "valid_to", "note")
    form_ajax_refs = {"case": CaseLoader()}


class CaseReviewView(SecureModelView):
    """管理記録 (様式1): at each meeting, the lead agency then, the situation and the policy."""


    column_list = ("case", "reviewed_on", "meeting", "lead_agency", "risk_level", "urgency")
    column_sortable_list = (("case", "case.number"), "reviewed_on")
    column_default_sort = ("reviewed_on", True)
    column_filters = ("risk_level", "urgency",
                      AgencyFilter(CaseReview.lead_agency_id, _l("主担当機関")),
                      DateGreaterFilter(CaseReview.reviewed_on, _l("記録日（この日より後）")),
                      DateSmallerFilter(CaseReview.reviewed_on, _l("記録日（この日より前）")))
    column_labels = {"reviewed_on": _l("会議日・記録日"), "situation": _l("状況等"),
                     "support_policy": _l("支援方針"), "lead_agency": _l("主担当機関（当時）")}
    form_columns = ("case", "meeting", "reviewed_on", "lead_agency", "situation", "risk_level",
                    "urgency", "support_policy")
    form_ajax_refs = {"case": CaseLoader()}


class SupportRecordView(SecureModelView):
    """支援経過: what each agency did, day by day."""


    column_list = ("case", "recorded_on", "agency", "kind")
    column_sortable_list = (("case", "case.number"), "recorded_on")
    column_default_sort = ("recorded_on", True)
    column_filters = ("kind", AgencyFilter(SupportRecord.agency_id, _l("関係機関")),
                      DateGreaterFilter(SupportRecord.recorded_on, _l("実施日（この日より後）")))
    column_labels = {"recorded_on": _l("実施日"), "kind": _l("種別"), "content": _l("内容")}
    form_columns = ("case", "recorded_on", "agency", "kind", "content")
    form_ajax_refs = {"case": CaseLoader()}
