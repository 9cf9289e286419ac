"""Every screen of the panel, with its Japanese name and menu group, in one list."""

from flask_admin import Admin
from flask_babel import lazy_gettext as _l

from kyogikai.admin_views.access_log import CaseAccessLogView
from kyogikai.admin_views.accounts import UserView
from kyogikai.admin_views.approvals import AccountApprovalView
from kyogikai.admin_views.attachments import AttachmentView
from kyogikai.admin_views.audit import AuditEventView
from kyogikai.admin_views.case_conference import CaseConferenceView
from kyogikai.admin_views.case_page import CasePageView
from kyogikai.admin_views.cases import (
    CaseReviewView,
    CaseView,
    RoleAssignmentView,
    SupportRecordView,
)
from kyogikai.admin_views.consent import ConsentView
from kyogikai.admin_views.council import AgencyView, ConcernView, CouncilView, MemberView
from kyogikai.admin_views.intake import IntakeView
from kyogikai.admin_views.ledger_import import LedgerImportView
from kyogikai.admin_views.meetings import MeetingCaseView, MeetingView
from kyogikai.admin_views.notices import NoticeView
from kyogikai.admin_views.official_forms import OfficialFormsView
from kyogikai.admin_views.own_account import OwnAccountView
from kyogikai.admin_views.papers import MeetingPaperView
from kyogikai.admin_views.practitioner_review import PractitionerReviewView
from kyogikai.admin_views.reports import AnnualReportView, BusinessPlanView
from kyogikai.admin_views.role_editor import RoleEditorView
from kyogikai.admin_views.secrecy import AddressSecrecyView
from kyogikai.admin_views.throttles import LoginThrottleView
from kyogikai.admin_views.women import WomanView
from kyogikai.models import db
from kyogikai.policy.resources import RESOURCES

CASES = _l("ケース管理")
MEETINGS = _l("会議・議事録")
REPORTS = _l("報告書")
SETTINGS = _l("設定・管理")

# (view class, resource, menu group). The model, the menu name and the endpoint (the URL segment)
# come from the resource's declaration in policy/resources.py.
VIEWS = [
    (CaseView, "case", CASES),
    (WomanView, "woman", CASES),
    (ConsentView, "consent", CASES),
    (CaseReviewView, "case_review", CASES),
    (SupportRecordView, "support_record", CASES),
    (RoleAssignmentView, "role_assignment", CASES),
    (MeetingView, "meeting", MEETINGS),
    (MeetingCaseView, "meeting_case", MEETINGS),
    (BusinessPlanView, "business_plan", REPORTS),
    (AnnualReportView, "annual_report", REPORTS),
    (CouncilView, "council", SETTINGS),
    (AgencyView, "agency", SETTINGS),
    (MemberView, "member", SETTINGS),
    (ConcernView, "concern", SETTINGS),
    (UserView, "user", SETTINGS),
    (LoginThrottleView, "login_throttle", SETTINGS),
    (AuditEventView, "audit_event", SETTINGS),
]


# Custom (non-CRUD) screens: (view class, menu name, menu group, endpoint).
CUSTOM_VIEWS = [
    (AddressSecrecyView, _l("住所秘匿の確認"), CASES, "address_secrecy"),
    (CasePageView, _l("ケースのページ"), CASES, "case_page"),
    (RoleEditorView, _l("役割分担の変更"), CASES, "role_editor"),
    (IntakeView, _l("新規受理（女性・同意・ケース）"), CASES, "intake"),
    (CaseConferenceView, _l("個別ケース検討会議の記録"), MEETINGS, "case_conference"),
    (PractitionerReviewView, _l("実務者会議の進行管理"), MEETINGS, "practitioner_review"),
    (LedgerImportView, _l("台帳の取り込み（Excel）"), SETTINGS, "ledger_import"),
    (AccountApprovalView, _l("アカウントの承認"), SETTINGS, "account_approval"),
    (OwnAccountView, _l("アカウント設定"), None, "own_account"),
    (OfficialFormsView, _l("様式の出力（様式1・2・3）"), REPORTS, "forms"),
]


def register_views(admin: Admin) -> None:
    # The generated screens by endpoint: the home page links its figures to their filters.
    admin.list_views = {}
    for view_class, resource, category in VIEWS:
        declared = RESOURCES[resource]
        view = view_class(declared.model, db, name=declared.label, category=category,
                          endpoint=resource)
        admin.add_view(view)
        admin.list_views[resource] = view
    for view_class, name, category, endpoint in CUSTOM_VIEWS:
        admin.add_view(view_class(name=name, category=category, endpoint=endpoint))
    admin.add_view(CaseAccessLogView(name=_l("閲覧記録"), endpoint="case_access_log"))
    # Reached from the navbar (with the unread count), not from the menu.
    admin.add_view(NoticeView(name=_l("お知らせ"), endpoint="notice"))
    admin.add_view(MeetingPaperView(name=_l("会議資料"), endpoint="meeting_paper"))
    admin.add_view(AttachmentView(name=_l("添付ファイル"), endpoint="attachment"))
