"""事業計画書 (様式2) and 実施状況報告書 (様式3), with their cost breakdowns inline."""

from flask_admin.model.form import InlineFormAdmin
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from kyogikai.admin_views.base import SecureModelView
from kyogikai.models import PlanCostLine, ReportCostLine
from kyogikai.policy import forms

COST_LABELS = {"item": _l("費目"), "amount_yen": _l("金額（円）"), "note": _l("備考")}
SECTION_LABELS = {
    "fiscal_year": _l("年度"),
    "submitted_on": _l("提出日"),
    "council_members": _l("地域協議会の構成員"),
    "representative_members": _l("代表者会議の構成員"),
    "practitioner_members": _l("実務者会議の構成員"),
    "case_conference_members": _l("個別ケース検討会議の構成員"),
    "coordinator_staff": _l("調整機関の職員"),
    "cost_lines": _l("経費の内訳"),
}


class CostLineInline(InlineFormAdmin):
    form_columns = ("id", "item", "amount_yen", "note")
    column_labels = COST_LABELS


class BusinessPlanView(SecureModelView):

    column_list = ("fiscal_year", "submitted_on", "period_from", "period_to", "expected_women")
    column_default_sort = ("fiscal_year", True)
    column_labels = {
        **SECTION_LABELS,
        "period_from": _l("実施時期（開始）"),
        "period_to": _l("実施時期（終了）"),
        "expected_women": _l("支援対象女性見込み数（同伴家族含む実人員）"),
        "council_activities": _l("地域協議会の取組内容"),
        "representative_activities": _l("代表者会議の取組内容"),
        "practitioner_activities": _l("実務者会議の取組内容"),
        "case_conference_activities": _l("個別ケース検討会議の取組内容"),
        "coordinator_activities": _l("調整機関の取組内容"),
    }
    form_excluded_columns = ("created_at", "updated_at")
    inline_models = (CostLineInline(PlanCostLine),)


class AnnualReportView(SecureModelView):

    column_list = ("fiscal_year", "submitted_on")
    column_details_list = ("fiscal_year", "submitted_on", "computed_counts", "women_attributes",
                           "council_members", "council_results", "representative_members",
                           "representative_results", "practitioner_members",
                           "practitioner_results", "case_conference_members",
                           "case_conference_results", "coordinator_staff", "coordinator_results",
                           "ingenuity_effects_issues", "cost_lines")
    column_default_sort = ("fiscal_year", True)
    column_labels = {
        **SECTION_LABELS,
        "computed_counts": _l("実績（台帳と会議記録から集計）"),
        "women_attributes": _l("支援対象女性の属性の内訳（補足）"),
        "council_results": _l("地域協議会の取組実績"),
        "representative_results": _l("代表者会議の取組実績"),
        "practitioner_results": _l("実務者会議の取組実績"),
        "case_conference_results": _l("個別ケース検討会議の取組実績"),
        "coordinator_results": _l("調整機関の取組実績"),
        "ingenuity_effects_issues": _l("工夫したことや効果、課題等"),
    }
    column_formatters = {
        "computed_counts": lambda v, c, m, n: forms.figures(m.fiscal_year, current_user).summary(),
        "cost_lines": lambda v, c, m, n: "、".join(str(x) for x in m.cost_lines),
    }
    form_excluded_columns = ("created_at", "updated_at")
    inline_models = (CostLineInline(ReportCostLine),)
