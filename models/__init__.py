"""All models, imported here so Alembic and the app see one complete metadata."""

from models.accounts import User
from models.audit import AuditAction, AuditEvent, AuditOutcome
from models.base import db
from models.cases import (
    Case,
    CaseReview,
    CaseSerial,
    CaseStatus,
    Level,
    RoleAssignment,
    RoleFunction,
    SupportKind,
    SupportRecord,
)
from models.consent import Consent, ConsentMethod, ConsentPurpose
from models.council import Agency, AgencyCategory, Council, Member
from models.enums import LabeledEnum, Role
from models.meetings import Meeting, MeetingCase, MeetingKind
from models.reports import AnnualReport, BusinessPlan, PlanCostLine, ReportCostLine
from models.women import (
    Companion,
    Concern,
    NameSearchGram,
    ReferralRoute,
    Relationship,
    SecrecyChange,
    Woman,
)

__all__ = [
    "Agency", "AgencyCategory", "AnnualReport", "AuditAction", "AuditEvent", "AuditOutcome",
    "BusinessPlan", "Case", "CaseReview", "CaseSerial", "CaseStatus", "Companion", "Concern",
    "Consent", "ConsentMethod", "ConsentPurpose", "Council", "LabeledEnum", "Level", "Meeting",
    "MeetingCase", "MeetingKind", "Member", "NameSearchGram", "PlanCostLine", "ReferralRoute",
    "Relationship", "ReportCostLine", "Role", "RoleAssignment", "RoleFunction", "SupportKind",
    "SecrecyChange", "SupportRecord", "User", "Woman", "db",
]
