"""Per case, who saw it and when (調整担当者): the audit events of the case, its woman and her
companions, and of everything that hangs on the case (同意, 管理記録, 支援経過, 役割分担, 検討ケース),
look-ups that showed the case or the woman in a picker included (policy.audit.record_lookup)."""

from flask import abort, request
from flask_admin import expose
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from kyogikai.admin_views.audit import describe
from kyogikai.admin_views.base import SecureView
from kyogikai.models import (
    AuditAction,
    AuditEvent,
    CaseReview,
    Companion,
    Consent,
    MeetingCase,
    RoleAssignment,
    SupportRecord,
    db,
)
from kyogikai.policy import audit, scoping
from kyogikai.policy.matrix import RESOURCE_LABELS


class CaseAccessLogView(SecureView):
    resource = "case_access_log"

    def is_visible(self):
        return False  # reached from a case's details page, not from the menu

    @expose("/")
    def index(self):
        case_id = scoping.parse_id(request.args.get("case_id", ""))
        case = scoping.get_visible("case", case_id) if case_id is not None else None
        if case is None:
            audit.record_not_found("case", case_id)
            abort(404)
        audit.record(AuditAction.view_record, object_type="case_access_log",
                     object_id=case.id)
        related = {
            "case": [case.id],
            "woman": [case.woman_id],
            "companion": select(Companion.id).where(Companion.woman_id == case.woman_id),
            "consent": select(Consent.id).where(Consent.woman_id == case.woman_id),
            "case_review": select(CaseReview.id).where(CaseReview.case_id == case.id),
            "support_record": select(SupportRecord.id).where(SupportRecord.case_id == case.id),
            "role_assignment": select(RoleAssignment.id).where(
                RoleAssignment.case_id == case.id),
            "meeting_case": select(MeetingCase.id).where(MeetingCase.case_id == case.id),
        }
        events = db.session.scalars(
            select(AuditEvent).options(joinedload(AuditEvent.user))
            .where(or_(*(and_(AuditEvent.object_type == kind, AuditEvent.object_id.in_(ids))
                         for kind, ids in related.items())))
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(500)).all()
        return self.render("admin/case_access_log.html", case=case, events=events,
                           labels=RESOURCE_LABELS, describe=describe)
