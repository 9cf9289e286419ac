"""Every screen of the panel, with its Japanese name and menu group, in one list."""

from flask_admin import Admin
from flask_babel import lazy_gettext as _l

from kyogikai.admin_views.access_log import CaseAccessLogView
from kyogikai.admin_views.accounts import UserView
from kyogikai.admin_views.audit import AuditEventView
from kyogikai.admin_views.cases import (
    CaseReviewView,
    CaseView,
    RoleAssignmentView,
    SupportRecordView,
)
from kyogikai.admin_views.consent import ConsentView
from kyogikai.admin_views.council import AgencyView, ConcernView, CouncilView, MemberView
from kyogikai.admin_views.meetings import MeetingCaseView, MeetingView
from kyogikai.admin_views.official_forms import OfficialFormsView
from kyogikai.admin_views.reports import AnnualReportView, BusinessPlanView
from kyogikai.admin_views.secrecy import AddressSecrecyView
from kyogikai.admin_views.women import WomanView
from kyogikai.models import (
    Agency,
    AnnualReport,
    AuditEvent,
    BusinessPlan,
    Case,
    CaseReview,
    Concern,
    Consent,
    Council,
    Meeting,
    MeetingCase,
    Member,
    RoleAssignment,
    SupportRecord,
    User,
    Woman,
    db,
)

CASES = _l("ケース管理")
MEETINGS = _l("会議")
REPORTS = _l("報告書")
SETTINGS = _l("設定・管理")

# (view class, model, menu name, menu group, endpoint); the endpoint is the URL segment.
VIEWS = [
    (CaseView, Case, _l("ケース進行管理台帳"), CASES, "case"),
    (WomanView, Woman, _l("支援対象女性"), CASES, "woman"),
    (ConsentView, Consent, _l("本人同意"), CASES, "consent"),
    (CaseReviewView, CaseReview, _l("管理記録"), CASES, "case_review"),
    (SupportRecordView, SupportRecord, _l("支援経過"), CASES, "support_record"),
    (RoleAssignmentView, RoleAssignment, _l("役割分担"), CASES, "role_assignment"),
    (MeetingView, Meeting, _l("会議"), MEETINGS, "meeting"),
    (MeetingCaseView, MeetingCase, _l("検討ケース"), MEETINGS, "meeting_case"),
    (BusinessPlanView, BusinessPlan, _l("事業計画書（様式2）"), REPORTS, "business_plan"),
    (AnnualReportView, AnnualReport, _l("実施状況報告書（様式3）"), REPORTS, "annual_report"),
    (CouncilView, Council, _l("地域協議会"), SETTINGS, "council"),
    (AgencyView, Agency, _l("関係機関"), SETTINGS, "agency"),
    (MemberView, Member, _l("構成員・担当者"), SETTINGS, "member"),
    (ConcernView, Concern, _l("主訴区分"), SETTINGS, "concern"),
    (UserView, User, _l("利用者アカウント"), SETTINGS, "user"),
    (AuditEventView, AuditEvent, _l("監査ログ"), SETTINGS, "audit_event"),
]


# Custom (non-CRUD) screens: (view class, menu name, menu group, endpoint).
CUSTOM_VIEWS = [
    (AddressSecrecyView, _l("住所秘匿の確認"), CASES, "address_secrecy"),
    (OfficialFormsView, _l("様式の出力（様式1・2・3）"), REPORTS, "forms"),
]


def register_views(admin: Admin) -> None:
    for view_class, model, name, category, endpoint in VIEWS:
        admin.add_view(view_class(model, db, name=name, category=category, endpoint=endpoint))
    for view_class, name, category, endpoint in CUSTOM_VIEWS:
        admin.add_view(view_class(name=name, category=category, endpoint=endpoint))
    admin.add_view(CaseAccessLogView(name=_l("閲覧記録"), endpoint="case_access_log"))
