"""会議 of the three kinds (要綱 4(2) ア/イ/ウ) and the cases each one discussed."""

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from kyogikai.admin_views.ajax import CaseLoader
from kyogikai.admin_views.base import SecureModelView
from kyogikai.policy import consent, scoping


class MeetingView(SecureModelView):

    column_list = ("held_on", "kind", "place", "agencies", "next_meeting_on")
    column_details_list = ("kind", "held_on", "place", "agencies", "members", "cases", "agenda",
                           "minutes", "decisions", "next_meeting_on", "created_at", "updated_at")
    column_sortable_list = ("held_on", "kind", "next_meeting_on")
    column_default_sort = ("held_on", True)
    column_filters = ("kind", "held_on")
    column_searchable_list = ("place", "agenda")
    column_labels = {
        "kind": _l("会議の種類"),
        "held_on": _l("開催日"),
        "place": _l("場所"),
        "agencies": _l("出席機関"),
        "members": _l("出席者"),
        "cases": _l("検討ケース"),
        "agenda": _l("議題"),
        "minutes": _l("議事録"),
        "decisions": _l("決定事項"),
        "next_meeting_on": _l("次回開催予定日"),
    }
    column_formatters = {
        "agencies": lambda v, c, m, n: "、".join(a.name for a in m.agencies),
        "members": lambda v, c, m, n: "、".join(str(x) for x in m.members),
        "cases": lambda v, c, m, n: "、".join(
            case.number for case in scoping.visible(m.case_links, "case", lambda link: link.case)),
    }
    form_columns = ("kind", "held_on", "place", "agencies", "members", "agenda", "minutes",
                    "decisions", "next_meeting_on")

    def check_change(self, model, is_created):
        try:
            consent.check_meeting(model)
        except consent.ConsentGateError as error:
            raise ValidationError(str(error)) from error


class MeetingCaseView(SecureModelView):
    """検討ケース: a case on a meeting's agenda, behind the consent gate (DOMAIN rule 1)."""


    column_list = ("meeting", "case", "consent_override_reason", "note")
    column_details_list = ("meeting", "case", "note", "consent_override_reason",
                           "consent_override_by", "consent_override_at", "created_at")
    column_default_sort = ("id", True)
    column_labels = {
        "meeting": _l("会議"),
        "case": _l("ケース"),
        "consent_override_reason": _l("同意確認の緊急例外の理由"),
        "consent_override_by": _l("例外を判断した調整担当者"),
        "consent_override_at": _l("例外の判断日時"),
    }
    form_columns = ("meeting", "case", "note", "consent_override_reason")
    form_args = {"consent_override_reason": {
        "description": _l("本人の同意が出席機関をカバーしていない場合に限り、調整担当者が"
                          "緊急の理由（例: 生命・身体の保護のため緊急に必要）を記入します。"),
    }}
    form_ajax_refs = {"case": CaseLoader()}

    def check_change(self, model, is_created):
        try:
            consent.check_link(model)
        except consent.ConsentGateError as error:
            raise ValidationError(str(error)) from error
