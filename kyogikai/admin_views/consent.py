"""本人同意: which agencies the woman agreed may share her information, and until when."""

from datetime import date

from flask_babel import lazy_gettext as _l

from kyogikai.admin_views.ajax import WomanLoader
from kyogikai.admin_views.base import SecureModelView


def _state(view, context, model, name):
    today = date.today()
    if model.withdrawn_on is not None and model.withdrawn_on <= today:
        return _l("撤回")
    if model.valid_until is not None and model.valid_until < today:
        return _l("期限切れ")
    if model.obtained_on > today:
        return _l("未発効")
    return _l("有効")


class ConsentView(SecureModelView):

    column_list = ("woman", "purpose", "agencies", "obtained_on", "valid_until", "withdrawn_on",
                   "state")
    column_details_list = ("woman", "purpose", "agencies", "obtained_on", "method", "obtained_by",
                           "valid_until", "withdrawn_on", "state", "note", "created_at",
                           "updated_at")
    column_sortable_list = ("obtained_on", "valid_until", "withdrawn_on")
    column_default_sort = ("obtained_on", True)
    column_filters = ("purpose", "method", "obtained_on", "valid_until", "withdrawn_on")
    column_labels = {
        "purpose": _l("目的"),
        "agencies": _l("情報共有の対象機関"),
        "obtained_on": _l("同意取得日"),
        "method": _l("方法"),
        "obtained_by": _l("同意を得た者"),
        "valid_until": _l("有効期限"),
        "withdrawn_on": _l("撤回日"),
        "state": _l("本日の状態"),
    }
    column_formatters = {
        "agencies": lambda v, c, m, n: "、".join(a.name for a in m.agencies),
        "state": _state,
    }
    form_columns = ("woman", "purpose", "agencies", "obtained_on", "method", "obtained_by",
                    "valid_until", "withdrawn_on", "note")
    form_ajax_refs = {"woman": WomanLoader()}
    form_prefill = {"woman": "woman"}
