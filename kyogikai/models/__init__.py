"""All models, imported here so Alembic and the app see one complete metadata."""

from kyogikai.models.accounts import (
    ApprovalReason,
    LoginThrottle,
    RecoveryCode,
    ThrottleScope,
    User,
)
from kyogikai.models.attachments import Attachment
from kyogikai.models.audit import AuditAction, AuditEvent, AuditOutcome
from kyogikai.models.base import db
from kyogikai.models.cases import (
    Case,
    CaseReview,
    CaseSerial,
    CaseStatus,
    Level,
    RoleAssignment,
    RoleFunction,
    RoleHistoryError,
    SupportKind,
    SupportRecord,
)
from kyogikai.models.consent import Consent, ConsentAgency, ConsentMethod, ConsentPurpose
from kyogikai.models.council import Agency, AgencyCategory, Council, Member
from kyogikai.models.enums import LabeledEnum, Role
from kyogikai.models.generation import ScopeGeneration
from kyogikai.models.meetings import Meeting, MeetingCase, MeetingKind
from kyogikai.models.notices import Notice, NoticeKind
from kyogikai.models.reports import AnnualReport, BusinessPlan, PlanCostLine, ReportCostLine
from kyogikai.models.women import (
    AddressGeneration,
    Companion,
    Concern,
    NameSearchGram,
    ReferralRoute,
    Relationship,
    SecrecyChange,
    Woman,
)

__all__ = [
    "AddressGeneration", "Agency", "AgencyCategory", "AnnualReport", "ApprovalReason",
    "Attachment", "AuditAction",
    "AuditEvent", "AuditOutcome", "BusinessPlan", "Case", "CaseReview", "CaseSerial", "CaseStatus",
    "Companion", "Concern", "Consent", "ConsentAgency", "ConsentMethod", "ConsentPurpose",
    "Council", "LabeledEnum", "Level", "LoginThrottle", "Meeting", "MeetingCase", "MeetingKind",
    "Member", "NameSearchGram", "Notice", "NoticeKind", "PlanCostLine", "RecoveryCode",
    "ReferralRoute", "Relationship", "ReportCostLine", "Role", "RoleAssignment", "RoleFunction",
    "RoleHistoryError", "ScopeGeneration", "SecrecyChange", "SupportKind", "SupportRecord", "ThrottleScope", "User",
    "Woman", "db",
]
