"""本人同意: which agencies the woman agreed may share her information, and until when."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import defaultload

from kyogikai.admin_views.ajax import WomanLoader
from kyogikai.admin_views.base import SecureModelView
from kyogikai.admin_views.filters import ConditionFilter
from kyogikai.admin_views.women import cases_of
from kyogikai.models import Consent, Woman
from kyogikai.models.consent import needs_renewal_clause

# Expired or expiring within 30 days, on an open case, not replaced (the home page links here).
NEEDS_RENEWAL = ConditionFilter(Consent.valid_until,
                                _l("更新が必要（期限切れ・30日以内に期限、未終結のケース）"),
                                needs_renewal_clause)


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

    details_template = "admin/model/details_attachments.html"

    # Her cases, each a link to its case page: where a consent to renew is taken up.
    column_list = ("woman", "cases", "purpose", "agencies", "obtained_on", "valid_until",
                   "withdrawn_on", "state")
    list_query_options = (defaultload(Consent.woman).selectinload(Woman.cases),)
    column_details_list = ("woman", "purpose", "agencies", "obtained_on", "method", "obtained_by",
                           "valid_until", "withdrawn_on", "state", "note", "created_at",
                           "updated_at")
    column_sortable_list = ("obtained_on", "valid_until", "withdrawn_on")
    column_default_sort = ("obtained_on", True)
    column_filters = ("purpose", "method", "obtained_on", "valid_until", "withdrawn_on",
                      NEEDS_RENEWAL)
    column_labels = {
        "cases": _l("ケース"),
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
        "cases": lambda view, context, model, name: cases_of(model.woman),
    }
    form_columns = ("woman", "purpose", "agencies", "obtained_on", "method", "obtained_by",
                    "valid_until", "withdrawn_on", "note")
    form_ajax_refs = {"woman": WomanLoader()}
    form_prefill = {"woman": "woman"}
