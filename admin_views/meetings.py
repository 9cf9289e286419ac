"""会議 of the three kinds (要綱 4(2) ア/イ/ウ) and the cases each one discussed."""

from flask_babel import lazy_gettext as _l

from admin_views.ajax import CaseLoader
from admin_views.base import SecureModelView


class MeetingView(SecureModelView):
    resource = "meeting"

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
        "cases": lambda v, c, m, n: "、".join(link.case.number for link in m.case_links),
    }
    form_columns = ("kind", "held_on", "place", "agencies", "members", "agenda", "minutes",
                    "decisions", "next_meeting_on")


class MeetingCaseView(SecureModelView):
    """検討ケース: one row per case put on a meeting's agenda."""

    resource = "meeting_case"

    column_list = ("meeting", "case", "note")
    column_default_sort = ("id", True)
    column_labels = {"meeting": _l("会議"), "case": _l("ケース")}
    form_columns = ("meeting", "case", "note")
    form_ajax_refs = {"case": CaseLoader()}
