"""Per case, who saw it and when (調整担当者): the case's and the woman's audit events."""

from flask import abort, request
from flask_admin import expose
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from kyogikai.admin_views.base import SecureView
from kyogikai.models import AuditAction, AuditEvent, db
from kyogikai.policy import audit, scoping


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
        events = db.session.scalars(
            select(AuditEvent).options(joinedload(AuditEvent.user))
            .where(or_(and_(AuditEvent.object_type == "case", AuditEvent.object_id == case.id),
                       and_(AuditEvent.object_type == "woman",
                            AuditEvent.object_id == case.woman_id)))
            .order_by(AuditEvent.occurred_at.desc()).limit(500)).all()
        return self.render("admin/case_access_log.html", case=case, events=events)
