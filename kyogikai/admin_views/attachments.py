"""添付ファイル on a case, meeting or consent: upload, download, delete (policy.attachments).

Any page shows a record's attachments with ``{{ attachments_panel('case', case) }}`` from
``admin/_attachments.html``; the panel asks ``attachment_panel`` below for the reader's scoped
rows and what the reader may do.
"""

from flask import Response, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from kyogikai.admin_views import query_args
from kyogikai.admin_views.base import SecureView, deny
from kyogikai.exports.cells import content_disposition
from kyogikai.models import Attachment, db
from kyogikai.policy import attachments, audit, masking, scoping
from kyogikai.policy.matrix import CREATE, DELETE, LIST, allowed

UPLOAD_ENDPOINT = "attachment.upload"
RECENT = 100


def upload_limit() -> int:
    """The request limit of the upload route: the file's own limit is checked while it is
    written (a Japanese message); a little room above it for the form around the file."""
    return attachments.max_bytes() + 5 * 1024 * 1024


def attachment_panel(kind: str, record) -> dict:
    """A record's attachments as the reader may see them, and what the reader may do."""
    role = current_user.role if current_user.is_authenticated else None
    if kind not in attachments.OWNERS or record is None or not allowed(role, LIST, "attachment"):
        return {"visible": False}
    column = getattr(Attachment, attachments.OWNERS[kind])
    rows = db.session.scalars(
        scoping.scoped_select("attachment").where(column == record.id)
        .options(selectinload(Attachment.uploaded_by)).order_by(Attachment.uploaded_at)).all()
    if rows:
        audit.record_list("attachment", len(rows), detail=f"owner={kind}:{record.id}")
    return {"visible": True, "kind": kind, "id": record.id, "rows": rows,
            "may_upload": allowed(role, CREATE, "attachment"),
            "may_delete": allowed(role, DELETE, "attachment"), "accept": attachments.ACCEPT,
            "max_mb": attachments.max_bytes() // (1024 * 1024), "label_of": attachments.label_of,
            "name_of": lambda row: masking.shown(row, "filename"),
            "next": request.full_path.rstrip("?")}


def _back(default: str) -> str:
    """Where a form asked to return: a path on this server only."""
    return query_args.same_site_path(request.form.get("next")) or default


class AttachmentView(SecureView):
    resource = "attachment"

    def is_visible(self):
        return False  # attachments are shown on their record's page

    @expose("/")
    def index(self):
        rows = db.session.scalars(self.scoped_select().order_by(Attachment.uploaded_at.desc())
                                  .options(selectinload(Attachment.uploaded_by))
                                  .limit(RECENT)).all()
        self.audit_list(self.resource, len(rows))
        return self.render("admin/attachments.html", rows=rows, label_of=attachments.label_of)

    @expose("/upload", methods=("POST",))
    def upload(self):
        if not self.allows(CREATE):
            return deny("upload", self.resource)
        kind = request.form.get("kind", "")
        if kind not in attachments.OWNERS:
            return deny("upload", self.resource)
        owner = self.get_one_or_404(kind, request.form.get("id", ""))
        back = _back(url_for(f"{kind}.details_view", id=owner.id))
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("ファイルを選んでください。"), "error")
            return redirect(back)
        try:
            attachment = attachments.attach(kind, owner, upload.stream, upload.filename,
                                            current_user)
            db.session.commit()
        except attachments.AttachmentRefused as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(back)
        flash(_("「%(name)s」を添付しました。", name=masking.shown(attachment, "filename")),
              "success")
        return redirect(back)

    @expose("/download")
    def download(self):
        attachment = self.get_one_or_404(self.resource, request.args.get("id", ""),
                                         record_read=False)
        path = attachments.path_of(attachment)
        if not path.is_file():
            flash(_("ファイルが見つかりません。システム管理者に連絡してください。"), "error")
            return redirect(url_for("admin.index"))
        attachments.record_download(attachment)
        response = Response(path.read_bytes(), mimetype=attachment.media_type)
        response.headers["Content-Disposition"] = content_disposition(
            str(masking.shown(attachment, "filename")))
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response

    @expose("/delete", methods=("POST",))
    def delete(self):
        if not self.allows(DELETE):
            return deny("delete", self.resource)
        attachment = self.get_one_or_404(self.resource, request.form.get("id", ""))
        kind, owner_id = attachment.owner_kind, attachment.owner_id
        name, stored_name = masking.shown(attachment, "filename"), attachment.stored_name
        attachments.remove(attachment)
        db.session.commit()
        attachments.discard_file(stored_name)
        flash(_("「%(name)s」を削除しました。", name=name), "success")
        return redirect(_back(url_for(f"{kind}.details_view", id=owner_id)))
