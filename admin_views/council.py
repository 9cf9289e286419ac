"""The council's settings, its member agencies and their people."""

from flask_babel import lazy_gettext as _l

from admin_views.base import SecureModelView


class AgencyView(SecureModelView):
    resource = "agency"

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
