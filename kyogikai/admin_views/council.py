"""The council's settings, its member agencies and their people."""

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms.validators import NumberRange

from kyogikai.admin_views.base import SecureModelView
from kyogikai.admin_views.filters import AgencyFilter
from kyogikai.admin_views.forms import KanaField
from kyogikai.models import Member


class AgencyView(SecureModelView):

    column_list = ("name", "category", "member_from", "member_to", "contact_person", "phone")
    column_searchable_list = ("name",)
    column_filters = ("category", "member_from", "member_to")
    column_default_sort = "name"
    column_labels = {
        "name": _l("機関名"),
        "category": _l("区分（要綱4(1)）"),
        "member_from": _l("構成員となった日"),
        "member_to": _l("構成員でなくなった日"),
        "contact_person": _l("連絡担当者"),
        "phone": _l("電話番号"),
        "address": _l("所在地"),
        "note": _l("備考"),
        "users": _l("利用者アカウント"),
        "created_at": _l("作成日時"),
        "updated_at": _l("更新日時"),
    }
    form_excluded_columns = ("users", "created_at", "updated_at")


def _qualification(view, context, model, name):
    if model.lacks_coordinator_qualification:
        return Markup('<span class="qualification-warning">⚠ {}</span>').format(
            _l("調整担当者の資格要件（要綱4(3)① ア・イ・ウ）のいずれにも該当しません"))
    if model.is_coordinator:
        return _l("要件を満たしています")
    return ""


class MemberView(SecureModelView):

    column_list = ("name", "agency", "title", "pledge_date", "is_coordinator", "qualification")
    column_sortable_list = ("name", "furigana", "pledge_date")
    column_default_sort = "furigana"
    column_searchable_list = ("name", "furigana")
    column_filters = ("is_coordinator", AgencyFilter(Member.agency_id, _l("所属機関")))
    column_labels = {
        "agency": _l("所属機関"),
        "title": _l("職名"),
        "pledge_date": _l("守秘義務誓約日"),
        "active_from": _l("担当開始日"),
        "active_to": _l("担当終了日"),
        "is_coordinator": _l("調整担当者"),
        "qualification": _l("調整担当者の資格要件"),
        "qual_social_worker": _l("ア 社会福祉士"),
        "qual_psychiatric_social_worker": _l("ア 精神保健福祉士"),
        "qual_public_health_nurse": _l("ア 保健師"),
        "qual_years_in_support": _l("イ 困難な問題を抱える女性への支援の従事年数"),
        "qual_approved_by_municipality": _l("ウ 実施主体が適当と認めた者"),
    }
    column_details_list = ("name", "furigana", "agency", "title", "pledge_date", "active_from",
                           "active_to", "is_coordinator", "qualification", "qual_social_worker",
                           "qual_psychiatric_social_worker", "qual_public_health_nurse",
                           "qual_years_in_support", "qual_approved_by_municipality")
    column_formatters = {"qualification": _qualification}
    form_columns = ("name", "furigana", "agency", "title", "pledge_date", "active_from",
                    "active_to", "is_coordinator", "qual_social_worker",
                    "qual_psychiatric_social_worker", "qual_public_health_nurse",
                    "qual_years_in_support", "qual_approved_by_municipality")
    form_overrides = {"furigana": KanaField}

    def after_model_change(self, form, model, is_created):
        if model.lacks_coordinator_qualification:
            flash(_("調整担当者ですが、資格要件（要綱4(3)① ア・イ・ウ）のいずれにも該当しません。"
                    "確認してください。"), "warning")
        super().after_model_change(form, model, is_created)


class CouncilView(SecureModelView):

    column_list = ("name", "municipality", "coordinating_agency", "review_interval_months")
    column_labels = {
        "name": _l("地域協議会の名称"),
        "municipality": _l("実施主体"),
        "coordinating_agency": _l("調整機関"),
        "review_interval_months": _l("管理記録の間隔（月）"),
    }
    form_columns = ("name", "municipality", "coordinating_agency", "review_interval_months")
    form_args = {"review_interval_months": {"validators": [NumberRange(min=1, max=12)]}}


class ConcernView(SecureModelView):

    column_list = ("name", "sort_order")
    column_default_sort = "sort_order"
    column_labels = {"name": _l("主訴区分"), "sort_order": _l("表示順")}
    form_columns = ("name", "sort_order")
