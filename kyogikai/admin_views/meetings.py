"""会議 of the three kinds (要綱 4(2) ア/イ/ウ) and the cases each one discussed."""

from flask import request
from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import ValidationError

from kyogikai.admin_views.ajax import CaseLoader
from kyogikai.admin_views.base import SecureModelView
from kyogikai.admin_views.cases import CasePickerLink, case_link
from kyogikai.policy import consent, scoping

OVERRIDE_HELP = _l("出席機関のうち本人の同意がカバーしていない機関がある場合に限り、調整担当者が緊急の理由"
                   "（例: 生命・身体の保護のため緊急に必要）を記入します。例外は、その時点でカバーされて"
                   "いない機関についてだけ記録されます。")


def _override_reason() -> str:
    """The reason typed for this save (a form field, never stored as typed: see policy.consent)."""
    return request.form.get("override_reason", "")


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
    form_extra_fields = {"override_reason": TextAreaField(
        _l("同意確認の緊急例外の理由（出席機関を加える場合）"), description=OVERRIDE_HELP)}

    def check_change(self, model, is_created):
        """The gate runs only when the date, the kind or the attending agencies change: a
        correction of the minutes is never blocked by cases discussed earlier."""
        try:
            consent.check_meeting(model, reason=_override_reason())
        except consent.ConsentGateError as error:
            raise ValidationError(str(error)) from error


class MeetingCaseView(CasePickerLink, SecureModelView):
    """検討ケース: a case on a meeting's agenda, behind the consent gate (DOMAIN rule 1)."""


    column_list = ("meeting", "case", "consent_override_reason", "note")
    column_details_list = ("meeting", "case", "note", "next_meeting_on",
                           "consent_override_reason", "override_agencies", "consent_override_by",
                           "consent_override_at", "created_at")
    column_default_sort = ("id", True)
    column_labels = {
        "meeting": _l("会議"),
        "case": _l("ケース"),
        "next_meeting_on": _l("このケースの次回会議予定日"),
        "consent_override_reason": _l("同意確認の緊急例外の理由"),
        "override_agencies": _l("緊急例外の対象機関"),
        "consent_override_by": _l("例外を判断した調整担当者"),
        "consent_override_at": _l("例外の判断日時"),
    }
    column_formatters = {
        "case": case_link,
        "override_agencies": lambda v, c, m, n: "、".join(a.name for a in m.override_agencies),
    }
    form_columns = ("meeting", "case", "note", "next_meeting_on")
    form_extra_fields = {"override_reason": TextAreaField(_l("同意確認の緊急例外の理由"),
                                                          description=OVERRIDE_HELP)}
    form_ajax_refs = {"case": CaseLoader()}
    form_prefill = {"case": "case", "meeting": "meeting"}

    def check_change(self, model, is_created):
        """The gate runs when a case is put on a meeting (or moved to another)."""
        if not consent.link_needs_check(model):
            return
        try:
            consent.check_link(model, reason=_override_reason())
        except consent.ConsentGateError as error:
            raise ValidationError(str(error)) from error
