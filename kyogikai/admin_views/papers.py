"""会議資料 (4(3)②ア 議事録の作成、資料の保管): one meeting on A4, to print or keep as PDF.

Everything on it comes through the policy: the meeting is fetched scoped (404 otherwise) and
its read audited; the cases, 管理記録 and 役割分担 are the reader's scoped rows only; every text
a person typed is masked for readers who may not see hidden addresses.
"""

from io import BytesIO

from flask import Response, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.exports import pdf
from kyogikai.exports.cells import content_disposition
from kyogikai.japanese.wareki import format_wareki
from kyogikai.models import AuditAction, CaseReview, MeetingCase, RoleAssignment, db
from kyogikai.models.base import utcnow
from kyogikai.models.roles import live
from kyogikai.policy import audit
from kyogikai.policy.matrix import EXPORT


class MeetingPaperView(SecureView):
    resource = "meeting"

    def is_visible(self):
        return False  # opened from a meeting's page and from notices

    def paper(self, meeting_id) -> dict:
        """What the paper shows, for this reader."""
        meeting = self.get_one_or_404("meeting", meeting_id)
        links = db.session.scalars(
            self.scoped_select("meeting_case").where(MeetingCase.meeting_id == meeting.id)
            .options(selectinload(MeetingCase.case)).order_by(MeetingCase.id)).all()
        reviews = db.session.scalars(
            self.scoped_select("case_review").where(CaseReview.meeting_id == meeting.id)).all()
        # As decided, corrections applied: a corrected or cancelled row is void (models.roles).
        roles = live(db.session.scalars(
            self.scoped_select("role_assignment").where(RoleAssignment.meeting_id == meeting.id)
            .order_by(RoleAssignment.case_id, RoleAssignment.function, RoleAssignment.id)).all())
        cases = []
        for link in sorted(links, key=lambda link: link.case.number):
            case = link.case
            cases.append({"link": link, "case": case,
                          "reviews": [r for r in reviews if r.case_id == case.id],
                          "roles": [r for r in roles if r.case_id == case.id]})
        self.audit_list("meeting_case", len(links), detail="meeting_paper")
        return {"meeting": meeting, "cases": cases, "printed_at": utcnow(),
                "printed_by": current_user.display_name or current_user.login}

    @expose("/")
    def index(self):
        paper = self.paper(request.args.get("id", ""))
        pdf_url = (url_for(".as_pdf", id=paper["meeting"].id)
                   if self.allows(EXPORT) and pdf.available() else None)
        return self.render("papers/meeting.html", for_screen=True, pdf_url=pdf_url, **paper)

    @expose("/pdf")
    def as_pdf(self):
        """The same page as a PDF, through the 様式 exports' builder (WeasyPrint, IPAex): an
        export, for the roles the matrix lets export meetings (others print the page)."""
        if not self.allows(EXPORT):
            return deny("pdf", self.resource)
        paper = self.paper(request.args.get("id", ""))
        meeting = paper["meeting"]
        html = render_template("papers/meeting.html", for_screen=False,
                               font_family=pdf.FONT_FAMILY, shown=self.shown,
                               masked=self.masked, **paper)
        out = BytesIO()
        try:
            pdf.write_html(html, out)
        except pdf.PdfUnavailable:
            flash(_("この環境では PDF を作成できません。印刷用の画面から印刷してください。"), "error")
            return redirect(url_for(".index", id=meeting.id))
        audit.record(AuditAction.export, object_type="meeting", object_id=meeting.id,
                     detail=f"meeting_paper;format=pdf;cases={len(paper['cases'])}")
        name = f"会議資料_{meeting.kind.label}_{format_wareki(meeting.held_on)}.pdf"
        response = Response(out.getvalue(), mimetype="application/pdf")
        response.headers["Content-Disposition"] = content_disposition(name)
        return response
