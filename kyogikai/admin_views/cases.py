"""The ledger (ケース進行管理台帳) and what hangs on a case: 役割分担, 管理記録, 支援経過."""

from datetime import date
from urllib.parse import urlencode

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import DateGreaterFilter, DateSmallerFilter
from flask_admin.model.template import EndpointLinkRowAction, ViewRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import and_
from wtforms.validators import ValidationError

from kyogikai.admin_views.ajax import (
    CaseLoader,
    WomanLoader,
    case_number_prefix,
    looks_like_case_number,
)
from kyogikai.admin_views.base import ROW_ID_PLACEHOLDER, SecureModelView, current_role
from kyogikai.admin_views.filters import (
    AgencyFilter,
    ConditionFilter,
    FiscalYearFilter,
    RoleHolderFilter,
)
from kyogikai.admin_views.formatting import (
    birth_with_age,
    clipped,
    compact_date,
    html,
    name_with_furigana,
    wareki_or_blank,
)
from kyogikai.admin_views.official_forms import (
    export_or_back,
    pdf_notice,
    reference_date_from,
)
from kyogikai.exports import forms as exports
from kyogikai.japanese.wareki import WarekiError, format_wareki
from kyogikai.models import Case, CaseReview, RoleAssignment, RoleFunction, SupportRecord
from kyogikai.models.cases import is_review_overdue, overdue_clause
from kyogikai.models.council import review_interval_months
from kyogikai.models.women import name_matches
from kyogikai.policy import audit, forms, scoping
from kyogikai.policy.matrix import EXPORT, LIST, allowed
from kyogikai.workflows import WorkflowError
from kyogikai.workflows import roles as role_steps

CASE_LABELS = {
    "number": _l("番号"),
    "fiscal_year": _l("年度"),
    "received_on": _l("相談受理年月日"),
    "status": _l("状況"),
    "ended_on": _l("終結・移管年月日"),
    "end_reason": _l("終結・移管の理由"),
    "levels": _l("危険度／緊急度"),
    "current_lead_agency": _l("主担当機関"),
    "current_risk_level": _l("危険度"),
    "current_urgency": _l("緊急度"),
    "risk_level": _l("危険度（受理時・ケースの登録値）"),
    "urgency": _l("緊急度（受理時・ケースの登録値）"),
    "lead_agency": _l("主担当機関（受理時・ケースの登録値）"),
    "last_review_on": _l("最終管理記録日"),
    "birth": _l("生年月日（年齢）"),
    "woman": _l("氏名（フリガナ）"),
    "access_log": _l("閲覧記録"),
}


OWN_MARK = _l("（受理時）")
OWN_TITLE = _l("管理記録がまだないため、ケースに登録された受理時の値です")


class _PageValues:
    """What the rows of one ledger page share, worked out once per request: today, the
    council's review interval, the translated marks, the case page's address, and the cells
    that recur (a page has a few agencies and judgments, each built once)."""

    def __init__(self):
        self.today = date.today()
        self.interval = review_interval_months()
        self.own = html(' <small class="text-muted ledger-own" title="{}">{}</small>',
                        OWN_TITLE, OWN_MARK)
        self.overdue = html(' <span class="badge badge-danger" title="{}">{}</span>',
                            _("管理記録の期限超過"), _("期限超過"))
        self.no_review = escape(_("なし"))
        self._case_url = url_for("case_page.index", id=ROW_ID_PLACEHOLDER)
        self._cells = {}

    def _cell(self, key, build) -> Markup:
        if key not in self._cells:
            self._cells[key] = build()
        return self._cells[key]

    def case_link(self, case) -> Markup:
        url = self._case_url.replace(ROW_ID_PLACEHOLDER, str(int(case.id)))
        return html('<a href="{}">{}</a>', url, case.number)

    def own_mark(self, case) -> Markup:
        """The ledger's values come from the latest 管理記録; say so when they are the case's
        own."""
        return self.own if case.ledger_values_are_own else Markup("")

    def levels(self, case) -> Markup:
        risk, urgency = case.current_risk_level, case.current_urgency
        return self._cell(("levels", risk, urgency, case.ledger_values_are_own), lambda: html(
            "{}／{}{}", risk.label if risk else "―", urgency.label if urgency else "―",
            self.own_mark(case)))

    def lead(self, case) -> Markup:
        """One line: a long agency name is cut with … (whole in the tooltip)."""
        agency = case.current_lead_agency
        name = agency.name if agency else None
        return self._cell(("lead", name, case.ledger_values_are_own), lambda: (
            clipped(name) if agency else escape("―")) + self.own_mark(case))

    def label(self, member) -> Markup:
        """An enum's Japanese label (状況), translated once per page, not once per row."""
        return self._cell(("label", member), lambda: escape(member.label) if member else "")

    def birth(self, birth) -> Markup:
        return self._cell(("birth", birth), lambda: birth_with_age(birth, self.today,
                                                                   compact=True))

    def last_review(self, case) -> Markup:
        overdue = is_review_overdue(case, self.interval, self.today)
        day = case.last_review_on
        return self._cell(("review", day, overdue), lambda: (
            compact_date(day) if day else self.no_review) + (self.overdue if overdue else ""))


def _page() -> _PageValues:
    page = g.get("ledger_page")
    if page is None:
        page = g.ledger_page = _PageValues()
    return page


def _number(view, context, model, name):
    return _page().case_link(model)


class CasePickerLink:
    """Forms with a case picker show, once a case is picked, a link to its case page."""

    form_widget_args = {"case": {"data-case-link-label": _l("ケースのページを開く")}}

    @property
    def extra_js(self):
        return [url_for("static", filename="js/case-links.js")]


def case_link(view, context, model, name):
    """A record's case, as a link to the case page (lists of 管理記録, 役割分担, 支援経過 …)."""
    case = model.case
    if case is None:
        return ""
    return Markup('<a href="{}">{}</a>').format(url_for("case_page.index", id=case.id), case.number)


def _plain_levels(view, context, model, name):
    risk = model.current_risk_level.label if model.current_risk_level else "―"
    urgency = model.current_urgency.label if model.current_urgency else "―"
    return f"{risk}／{urgency}" + (str(OWN_MARK) if model.ledger_values_are_own else "")


def _plain_lead(view, context, model, name):
    agency = model.current_lead_agency
    return (agency.name if agency else "") + (
        str(OWN_MARK) if agency and model.ledger_values_are_own else "")


def _last_review(view, context, model, name):
    return _page().last_review(model)


def _access_log_link(view, context, model, name):
    if not allowed(current_role(), LIST, "case_access_log"):
        return ""
    url = url_for("case_access_log.index", case_id=model.id)
    return Markup('<a href="{}">{}</a>').format(url, _l("このケースの閲覧記録を見る"))


# DOMAIN rule 4: open cases whose 管理記録 is overdue (the home page's figure links here).
OVERDUE = ConditionFilter(Case.last_review_on, _l("フォロー期限超過"),
                          lambda today: overdue_clause(review_interval_months(), today))


class CaseView(SecureModelView):
    """The ledger: one row per case, the columns of 様式1, filtered and sorted on indexes.

    危険度／緊急度 and 主担当機関 follow the latest 管理記録 (Case.current_*), marked 「（受理時）」
    while the case has none. Each row leads to the case page (its number and the view icon; the
    generic details page redirects there).
    """

    column_list = ("number", "woman", "birth", "received_on", "status", "levels",
                   "current_lead_agency", "last_review_on")
    column_details_list = ("number", "fiscal_year", "woman", "birth", "received_on", "status",
                           "ended_on", "end_reason", "levels", "current_lead_agency",
                           "risk_level", "urgency", "lead_agency", "last_review_on",
                           "note", "created_at", "updated_at", "access_log")
    column_sortable_list = ("number", ("woman", "woman.furigana"), ("birth", "woman.birth_date"),
                            "received_on", "status", "last_review_on")
    column_default_sort = ("received_on", True)
    column_labels = CASE_LABELS
    column_formatters = {
        "number": _number,
        "woman": lambda v, c, m, n: name_with_furigana(m.woman),
        "birth": lambda v, c, m, n: _page().birth(m.woman.birth_date),
        "status": lambda v, c, m, n: _page().label(m.status),
        "levels": lambda v, c, m, n: _page().levels(m),
        "current_lead_agency": lambda v, c, m, n: _page().lead(m),
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
        "number": lambda v, c, m, n: m.number,
        "status": lambda v, c, m, n: str(m.status or ""),
        "levels": _plain_levels,
        "current_lead_agency": _plain_lead,
        "woman": lambda v, c, m, n: str(m.woman),
        "birth": lambda v, c, m, n: birth_with_age(m.woman.birth_date),
        "lead_agency": lambda v, c, m, n: str(m.lead_agency or ""),
        "last_review_on": lambda v, c, m, n: wareki_or_blank(m.last_review_on) + (
            "（期限超過）" if is_review_overdue(m, review_interval_months(), date.today()) else ""),
    }
    column_filters = (
        "status",
        AgencyFilter(Case.current_lead_agency_id, _l("主担当機関")),
        RoleHolderFilter(RoleFunction.main_support, _l("主たる支援機関")),
        "current_risk_level",
        "current_urgency",
        DateGreaterFilter(Case.received_on, _l("相談受理年月日（この日より後）")),
        DateSmallerFilter(Case.received_on, _l("相談受理年月日（この日より前）")),
        FiscalYearFilter(Case.fiscal_year, _l("年度"), first_year=scoping.first_case_year),
        OVERDUE,
    )
    name_search_column = "woman_id"
    column_searchable_list = ("number",)
    search_placeholder_text = _l("番号・氏名・フリガナで検索")

    form_columns = ("woman", "received_on", "status", "ended_on", "end_reason", "risk_level",
                    "urgency", "lead_agency", "note")
    form_ajax_refs = {"woman": WomanLoader()}
    form_args = {"woman": {"label": _l("支援対象女性")},
                 "risk_level": {"description": OWN_TITLE},
                 "lead_agency": {"description": _l("役割分担と主たる支援機関は、ケースのページの"
                                                   "「役割分担を変更」で記録します。")}}

    def get_list_row_actions(self):
        """The row's view icon opens the case page (the whole case), not the bare record."""
        actions = [action for action in super().get_list_row_actions()
                   if not isinstance(action, ViewRowAction)]
        if self.can_view_details:
            actions.insert(0, EndpointLinkRowAction("fa fa-eye", "case_page.index",
                                                    title=_l("ケースのページを開く")))
        return actions

    @expose("/details/")
    def details_view(self):
        """One page per case: the bare record's page leads to the case page (scoped first)."""
        value = scoping.parse_id(request.args.get("id", ""))
        if value is None or scoping.get_visible("case", value) is None:
            audit.record_not_found("case", value)
            abort(404)
        return redirect(url_for("case_page.index", id=value))

    # 様式1 of exactly what the ledger shows: its filters, search and order (list_as_shown).
    list_template = "admin/case_list.html"
    endpoint_actions = {"form1": EXPORT}
    # Arguments of the ledger that are not the list's own: the 様式1 form adds them.
    FORM1_ARGS = ("format", "reference_date")

    def form1_controls(self, count) -> dict:
        """What the ledger's 様式1 buttons need to show themselves (template helper)."""
        count = count or 0
        return {"show": forms.may_export("form1", current_user),
                "today": format_wareki(date.today()), "pdf_notice": pdf_notice(count),
                "pdf_too_long": count > exports.MAX_PDF_CASES,
                "list_args": [(k, v) for k, v in request.args.items(multi=True)
                              if k not in self.FORM1_ARGS + ("page",)]}

    @expose("/form1/")
    def form1(self):
        list_args = [(k, v) for k, v in request.args.items(multi=True)
                     if k not in self.FORM1_ARGS]
        back = url_for(".index_view") + ("?" + urlencode(list_args) if list_args else "")
        try:
            day = reference_date_from(request.args.get("reference_date"))
        except WarekiError as error:
            flash(_("年齢の基準日: %(error)s", error=str(error)), "error")
            return redirect(back)
        count, query, args = self.list_as_shown()
        fmt = request.args.get("format", "")
        if fmt == "pdf" and count > exports.MAX_PDF_CASES:
            flash(pdf_notice(count), "error")
            return redirect(back)
        described = self.describe_filters(args.filters)
        years = {int(value) for index, _, value in args.filters or ()
                 if isinstance(self._filters[index], FiscalYearFilter)}
        fy = years.pop() if len(years) == 1 else None
        return export_or_back(lambda: exports.form1(
            query, user=current_user, fmt=fmt, fiscal_year=fy,
            reference_date=day, period=self._form1_period(fy, described, args),
            filters=self._form1_audit(described, args), via="ledger"), back)

    @staticmethod
    def _form1_period(fy, described, args) -> str:
        """What the sheet says it holds: the 年度 and how the ledger was narrowed."""
        conditions = [f"{f['label']} {f['operation']} {f['shown']}" for f in described]
        if args.search:
            conditions.append(f"検索「{args.search}」")
        head = exports.year_period(fy) if fy else "台帳に表示中のケース"
        return head + (f"（台帳の絞り込み：{'、'.join(conditions)}）" if conditions else "")

    @staticmethod
    def _form1_audit(described, args) -> str:
        """The same for the audit log, without the search words (they may be a woman's name)."""
        filters = ",".join(f"{f['label']}:{f['value']}" for f in described)
        sort = f"{args.sort}{'desc' if args.sort_desc else ''}" if args.sort is not None else ""
        return f"filters={filters};search={'yes' if args.search else 'no'};sort={sort}"

    def search_clause(self, search):
        """Each term matches a case number (prefix, when it looks like one) or the names.

        One or the other, not both under OR: PostgreSQL cannot combine an index range with the
        gram subquery under OR and would scan every case.
        """
        return and_(*(case_number_prefix(term) if looks_like_case_number(term)
                      else name_matches(Case.woman_id, term) for term in search.split()))


class RoleAssignmentView(CasePickerLink, SecureModelView):
    """役割分担 history: rows are ended (終了日), not rewritten; agency and function are fixed."""


    column_formatters = {"case": case_link}
    column_list = ("case", "agency", "function", "valid_from", "valid_to", "meeting")
    column_sortable_list = (("case", "case.number"), "valid_from", "valid_to")
    column_default_sort = ("valid_from", True)
    column_filters = ("function", AgencyFilter(RoleAssignment.agency_id, _l("関係機関")),
                      DateGreaterFilter(RoleAssignment.valid_from, _l("開始日（この日より後）")))
    column_labels = {"function": _l("役割"), "valid_from": _l("開始日"),
                     "valid_to": _l("終了日（現在も担う場合は空欄）"),
                     "meeting": _l("決定した会議"), "ended_meeting": _l("終了を決定した会議"),
                     "designated": _l("要綱4(3)③による指定"),
                     "designation_reason": _l("指定の理由"), "corrects": _l("訂正した行"),
                     "cancels": _l("取消"), "correction_reason": _l("訂正の理由"),
                     "recorded_by": _l("記録した人")}
    column_details_list = ("case", "agency", "function", "valid_from", "valid_to", "meeting",
                           "ended_meeting", "designated", "designation_reason", "corrects",
                           "cancels", "correction_reason", "note", "recorded_by", "created_at")
    form_columns = ("case", "agency", "function", "meeting", "valid_from", "note")
    form_ajax_refs = {"case": CaseLoader()}
    form_prefill = {"case": "case"}

    def check_change(self, model, is_created):
        """A row entered here ends the previous holder of a single-holder function, like a change
        in the role editor (history rows are never edited: the matrix grants no edit)."""
        try:
            role_steps.end_previous(model, current_user)
        except WorkflowError as error:
            raise ValidationError("".join(error.messages)) from error


class CaseReviewView(CasePickerLink, SecureModelView):
    """管理記録 (様式1): at each meeting, the lead agency then, the situation and the policy."""


    column_formatters = {"case": case_link}
    column_list = ("case", "reviewed_on", "meeting", "lead_agency", "risk_level", "urgency")
    # The CSV carries what the 管理記録 says, not only what the list fits (masked like the list).
    column_export_list = ("case", "reviewed_on", "meeting", "lead_agency", "situation",
                          "risk_level", "urgency", "support_policy")
    column_sortable_list = (("case", "case.number"), "reviewed_on")
    column_default_sort = ("reviewed_on", True)
    column_filters = ("risk_level", "urgency",
                      AgencyFilter(CaseReview.lead_agency_id, _l("主担当機関")),
                      DateGreaterFilter(CaseReview.reviewed_on, _l("記録日（この日より後）")),
                      DateSmallerFilter(CaseReview.reviewed_on, _l("記録日（この日より前）")))
    column_labels = {"reviewed_on": _l("会議日・記録日"), "situation": _l("状況等"),
                     "support_policy": _l("支援方針"), "lead_agency": _l("主担当機関（当時）"),
                     "needs_conference": _l("個別ケース検討会議が必要")}
    column_details_list = ("case", "meeting", "reviewed_on", "lead_agency", "risk_level",
                           "urgency", "situation", "support_policy", "needs_conference",
                           "created_at", "updated_at")
    form_columns = ("case", "meeting", "reviewed_on", "lead_agency", "situation", "risk_level",
                    "urgency", "support_policy", "needs_conference")
    form_ajax_refs = {"case": CaseLoader()}
    form_prefill = {"case": "case"}

    def prefilled(self, form, name, record):
        """A new 管理記録 starts from the case's current 主担当機関 and judgment, and today."""
        form.lead_agency.data = record.current_lead_agency
        form.risk_level.data = record.current_risk_level
        form.urgency.data = record.current_urgency
        form.reviewed_on.data = date.today()


class SupportRecordView(CasePickerLink, SecureModelView):
    """支援経過: what each agency did, day by day."""


    column_formatters = {"case": case_link}
    column_list = ("case", "recorded_on", "agency", "kind")
    column_sortable_list = (("case", "case.number"), "recorded_on")
    column_default_sort = ("recorded_on", True)
    column_filters = ("kind", AgencyFilter(SupportRecord.agency_id, _l("関係機関")),
                      DateGreaterFilter(SupportRecord.recorded_on, _l("実施日（この日より後）")))
    column_labels = {"recorded_on": _l("実施日"), "kind": _l("種別"), "content": _l("内容")}
    form_columns = ("case", "recorded_on", "agency", "kind", "content")
    form_ajax_refs = {"case": CaseLoader()}
    form_prefill = {"case": "case"}

    def prefilled(self, form, name, record):
        form.recorded_on.data = date.today()
