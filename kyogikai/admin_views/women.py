"""支援対象女性 with her 同伴家族 inline, searchable by name and フリガナ (folded).

住所秘匿 is not a checkbox of the edit form: a stale form must never ask to clear (or set) the
flag as a side effect. The edit page shows each person's current state with an explicit button
that files a request (``request_secrecy``), refused when the state changed since the page was
shown. Only the intake (create) form offers the checkbox, for a woman who asks at once.
"""

from flask import flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import inspect
from sqlalchemy.orm import selectinload

from kyogikai.admin_views.base import SecureModelView
from kyogikai.admin_views.formatting import birth_with_age, name_with_furigana
from kyogikai.admin_views.forms import KanaField
from kyogikai.models import Companion, SecrecyChange, Woman, db
from kyogikai.policy import masking, scoping
from kyogikai.policy.matrix import EDIT

ADDRESS_COLUMNS = ("postal_code", "prefecture", "municipality", "street", "katagaki")

STATE_LABELS = {
    "open": _l("なし"),
    "hidden": _l("秘匿中"),
    "pending_set": _l("秘匿の設定を申請中（別の調整担当者の確認待ち）"),
    "pending_clear": _l("秘匿の解除を申請中（別の調整担当者の確認待ち）"),
}
# What happens next, in plain Japanese (lists show it as a tooltip, details under the state).
STATE_NEXT = {
    "hidden": _l("住所は調整担当者にだけ表示されます。"),
    "pending_set": _l("別の調整担当者が「住所秘匿の確認」で確認すると秘匿になります。"
                      "それまでも住所は伏せて表示します。"),
    "pending_clear": _l("別の調整担当者が「住所秘匿の確認」で確認すると解除されます。"
                        "それまでは秘匿のままです。"),
}


def secrecy_cell(record, long: bool = False):
    """住所秘匿 as one cell: the state, and what happens next while a change waits."""
    state = masking.secrecy_state(record)
    label, following = STATE_LABELS[state], STATE_NEXT.get(state)
    if following is None:
        return label
    if long:
        return Markup('{}<br><small class="text-muted">{}</small>').format(label, following)
    return Markup('<span class="secrecy-state" title="{}">{}</span>').format(following, label)


def _filed_request(records) -> bool:
    """Whether this save filed a 住所秘匿 request (the intake form's checkbox)."""
    return any(r.address_hidden_pending is not None
               and inspect(r).attrs.address_hidden_pending.history.has_changes()
               for r in records)


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


def cases_of(woman) -> Markup:
    """Her cases the reader may see, each a link to its case page."""
    links = [Markup('<a class="case-number" href="{}">{}</a>').format(
                 url_for("case_page.index", id=case.id), case.number)
             for case in scoping.visible(woman.cases, "case")]
    return Markup("、").join(links) if links else Markup("")


class WomanView(SecureModelView):
    """After a save the clerk lands on her case page (or her record, when she has none or
    several), not on the list."""

    column_list = ("name", "cases", "alias", "birth_date", "referral_route", "address_line",
                   "secrecy", "phone")
    list_query_options = (selectinload(Woman.cases),)
    column_details_list = ("name", "furigana", "alias", "birth_date", "postal_code", "prefecture",
                           "municipality", "street", "katagaki", "secrecy", "phone", "cases",
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
        "cases": _l("ケース"),
        "address_line": _l("住所"),
        "address_hidden_pending": _l("住所秘匿の確認待ち"),
        "secrecy": _l("住所秘匿"),
    }
    column_formatters = {
        "secrecy": lambda v, c, m, n: secrecy_cell(m),
        "name": lambda v, c, m, n: name_with_furigana(m),
        "birth_date": lambda v, c, m, n: birth_with_age(m.birth_date),
        "companions": lambda v, c, m, n: "、".join(str(x) for x in m.companions),
        "concerns": lambda v, c, m, n: "、".join(str(x) for x in m.concerns),
        "cases": lambda view, context, model, name: cases_of(model),
    }
    column_formatters_detail = {
        **column_formatters,
        "secrecy": lambda v, c, m, n: secrecy_cell(m, long=True),
        "companions": lambda v, c, m, n: Markup("<br>").join(
            Markup("{}：{}").format(x, secrecy_cell(x)) for x in m.companions),
    }
    column_formatters_export = {
        **column_formatters, "name": lambda v, c, m, n: str(m),
        "secrecy": lambda v, c, m, n: escape(secrecy_cell(m)).striptags(),
        "cases": lambda v, c, m, n: "、".join(
            case.number for case in scoping.visible(m.cases, "case"))}
    name_search_column = "id"
    column_searchable_list = ("name",)
    search_placeholder_text = _l("氏名・フリガナ・通称で検索")

    form_columns = ("name", "furigana", "alias", "birth_date", *ADDRESS_COLUMNS,
                    "address_hidden", "phone", "referral_route", "concerns", "note")
    form_edit_columns = ("name", "furigana", "alias", "birth_date", *ADDRESS_COLUMNS, "phone",
                         "referral_route", "concerns", "note")
    form_args = {"address_hidden": {
        "label": _l("住所秘匿を申請する"),
        "description": _l("DV等支援措置などで住所を秘匿する場合にチェックします。"
                          "別の調整担当者が確認すると反映されます（それまでも住所は秘匿して表示されます）。"),
    }}
    form_overrides = {"furigana": KanaField}
    inline_models = (CompanionInline(Companion),)
    edit_template = "admin/woman_edit.html"
    endpoint_actions = {"request_secrecy": EDIT}

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        g.secrecy_request_filed = _filed_request([model, *model.companions])

    def after_model_change(self, form, model, is_created):
        super().after_model_change(form, model, is_created)
        if g.pop("secrecy_request_filed", False):
            flash(_("住所秘匿の変更を申請しました。別の調整担当者が「住所秘匿の確認」で確認すると"
                    "反映されます。それまで住所は伏せて表示します。"), "info")

    def render(self, template, **kwargs):
        if template == self.edit_template and kwargs.get("model") is not None:
            kwargs["secrecy_controls"] = self.secrecy_controls(kwargs["model"])
        return super().render(template, **kwargs)

    @staticmethod
    def secrecy_controls(woman) -> list[dict]:
        """The woman's and each companion's own flag, each with the request it may file."""
        controls = []
        for kind, record in [("woman", woman), *(("companion", c) for c in woman.companions)]:
            state = masking.secrecy_state(record)
            change = {"open": SecrecyChange.set, "hidden": SecrecyChange.clear}.get(state)
            controls.append({
                "kind": kind, "id": record.id, "name": str(record), "state": state,
                "state_label": STATE_LABELS[state], "change": change.value if change else "",
                "button": _l("秘匿を申請する") if change is SecrecyChange.set
                else _l("秘匿の解除を申請する"),
                "with_woman": kind == "companion" and masking.is_secret(record)
                and not record.address_secret,
            })
        return controls

    @expose("/secrecy/", methods=("POST",))
    def request_secrecy(self):
        """The explicit control: file a request to set or clear one person's flag."""
        woman = self.get_one(request.form.get("woman", ""))
        record = woman
        if request.form.get("kind") == "companion":
            wanted = scoping.parse_id(request.form.get("id", ""))
            record = next((c for c in woman.companions if c.id == wanted), None)
        change = SecrecyChange._value2member_map_.get(request.form.get("change", ""))
        try:
            if record is None:
                raise masking.SecrecyError(_("対象の記録が見つかりません。"))
            masking.request_change(record, change, request.form.get("state", ""))
        except masking.SecrecyError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("住所秘匿の変更を申請しました。別の調整担当者が確認すると反映されます。"),
                  "success")
        return redirect(url_for(".edit_view", id=woman.id))

    def get_save_return_url(self, model, is_created=False):
        target = get_redirect_target()
        if target and not target.startswith(self.get_url(".index_view")):
            return target  # opened from a case page: back there
        cases = scoping.visible(model.cases, "case")
        if len(cases) == 1:
            return url_for("case_page.index", id=cases[0].id)
        return self.get_url(".details_view", id=model.id)
