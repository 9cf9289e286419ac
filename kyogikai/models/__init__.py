"""All models, imported here so Alembic and the app see one complete metadata."""

from kyogikai.models.accounts import (
    ApprovalReason,
    LoginThrottle,
    RecoveryCode,
    ThrottleScope,
    User,
)
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
from kyogikai.models.meetings import Meeting, MeetingCase, MeetingKind
from kyogikai.models.reports import AnnualReport, BusinessPlan, PlanCostLine, ReportCostLine
from kyogikai.models.women import (
    Companion,
    Concern,
    NameSearchGram,
    ReferralRoute,
    Relationship,
    SecrecyChange,
    Woman,
)

__all__ = [
    "Agency", "AgencyCategory", "ApprovalReason", "LoginThrottle", "RecoveryCode", "ThrottleScope", "AnnualReport", "AuditAction", "AuditEvent", "AuditOutcome",
    "BusinessPlan", "Case", "CaseReview", "CaseSerial", "CaseStatus", "Companion", "Concern",
    "Consent", "ConsentAgency", "ConsentMethod", "ConsentPurpose", "Council", "LabeledEnum", "Level", "Meeting",
    "MeetingCase", "MeetingKind", "Member", "NameSearchGram", "PlanCostLine", "ReferralRoute",
    "Relationship", "ReportCostLine", "Role", "RoleAssignment", "RoleFunction", "RoleHistoryError", "SupportKind",
    "SecrecyChange", "SupportRecord", "User", "Woman", "db",
]
