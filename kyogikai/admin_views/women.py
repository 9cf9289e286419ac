"""支援対象女性 with her 同伴家族 inline, searchable by name and フリガナ (folded)."""

from flask import flash, g
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import inspect

from kyogikai.admin_views.base import SecureModelView
from kyogikai.admin_views.formatting import birth_with_age, name_with_furigana
from kyogikai.admin_views.forms import KanaField
from kyogikai.models import Companion, SecrecyChange

ADDRESS_COLUMNS = ("postal_code", "prefecture", "municipality", "street", "katagaki",
                   "address_hidden")


class CompanionInline(InlineFormAdmin):
    form_columns = ("id", "name", "furigana", "relationship_to_woman", "birth_date",
                    *ADDRESS_COLUMNS, "note")
    form_overrides = {"furigana": KanaField}
    column_labels = {
        "name": _l("氏名"),
        "furigana": _l("フリガナ"),
        "relationship_to_woman": _l("続柄"),
        "birth_date": _l("生年月日"),
        "postal_code": _l("郵便番号"),
        "prefecture": _l("都道府県"),
        "municipality": _l("市区町村"),
        "street": _l("町名・番地"),
        "katagaki": _l("方書"),
        "address_hidden": _l("住所秘匿"),
        "note": _l("備考"),
    }


def secrecy_state(record, long: bool = False):
    """住所秘匿 in plain Japanese, with what happens next while a change waits for the second
    調整担当者 (the address is masked meanwhile)."""
    pending = record.address_hidden_pending
    if pending is SecrecyChange.set:
        short = _("秘匿を申請中（確認待ち）")
        detail = _("別の調整担当者が「住所秘匿の確認」で確認すると秘匿になります。"
                   "それまでも住所は伏せて表示します。")
    elif pending is SecrecyChange.clear:
        short = _("解除を申請中（確認待ち）")
        detail = _("別の調整担当者が「住所秘匿の確認」で確認すると解除されます。"
                   "それまでは秘匿のままです。")
    elif record.address_hidden:
        short, detail = _("秘匿中"), _("住所は調整担当者にだけ表示されます。")
    else:
        return _("なし")
    if long:
        return Markup("{}<br><small class=\"text-muted\">{}</small>").format(short, detail)
    return Markup('<span class="secrecy-state" title="{}">{}</span>').format(detail, short)


def _filed_request(records) -> bool:
    """Whether this save filed a 住所秘匿 request (for the woman or a companion)."""
    return any(r.address_hidden_pending is not None
               and inspect(r).attrs.address_hidden_pending.history.has_changes()
               for r in records)


class WomanView(SecureModelView):

    column_list = ("name", "alias", "birth_date", "referral_route", "address_line",
                   "secrecy", "phone")
    column_details_list = ("name", "furigana", "alias", "birth_date", "postal_code", "prefecture",
                           "municipality", "street", "katagaki", "secrecy", "phone",
                           "referral_route", "concerns", "companions", "note", "created_at",
                           "updated_at")
    column_sortable_list = ("name", "furigana", "birth_date")
    column_default_sort = "furigana"
    column_filters = ("referral_route", "address_hidden")
    column_labels = {
        "alias": _l("通称"),
        "referral_route": _l("相談経路"),
        "concerns": _l("主訴"),
        "companions": _l("同伴家族"),
        "address_line": _l("住所"),
        "address_hidden_pending": _l("住所秘匿の確認待ち"),
        "secrecy": _l("住所秘匿"),
    }
    column_formatters = {
        "secrecy": lambda v, c, m, n: secrecy_state(m),
        "name": lambda v, c, m, n: name_with_furigana(m),
        "birth_date": lambda v, c, m, n: birth_with_age(m.birth_date),
        "companions": lambda v, c, m, n: "、".join(str(x) for x in m.companions),
        "concerns": lambda v, c, m, n: "、".join(str(x) for x in m.concerns),
    }
    column_formatters_detail = {
        **column_formatters,
        "secrecy": lambda v, c, m, n: secrecy_state(m, long=True),
        "companions": lambda v, c, m, n: Markup("<br>").join(
            Markup("{}：{}").format(x, secrecy_state(x)) for x in m.companions),
    }
    column_formatters_export = {**column_formatters, "name": lambda v, c, m, n: str(m),
                                "secrecy": lambda v, c, m, n: Markup(secrecy_state(m)).striptags()}
    name_search_column = "id"
    column_searchable_list = ("name",)
    search_placeholder_text = _l("氏名・フリガナ・通称で検索")

    form_columns = ("name", "furigana", "alias", "birth_date", *ADDRESS_COLUMNS, "phone",
                    "referral_route", "concerns", "note")
    form_overrides = {"furigana": KanaField}
    inline_models = (CompanionInline(Companion),)

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        g.secrecy_request_filed = _filed_request([model, *model.companions])

    def after_model_change(self, form, model, is_created):
        super().after_model_change(form, model, is_created)
        if g.pop("secrecy_request_filed", False):
            flash(_("住所秘匿の変更を申請しました。別の調整担当者が「住所秘匿の確認」で確認すると"
                    "反映されます。それまで住所は伏せて表示します。"), "info")
