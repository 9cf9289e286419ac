"""お知らせ: each person's inbox of notices (policy.notices writes them), read and unread."""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.models import Notice, NoticeKind, db
from kyogikai.models.base import utcnow
from kyogikai.policy import notices, scoping
from kyogikai.policy.matrix import EDIT

PAGE_SIZE = 50
MEETING_KINDS = {NoticeKind.meeting_invited, NoticeKind.meeting_changed,
                 NoticeKind.meeting_cancelled}
ROLE_KINDS = {NoticeKind.role_assigned, NoticeKind.role_relieved}


class NoticeView(SecureView):
    resource = "notice"

    def is_visible(self):
        return False  # the navbar links here, with the unread count

    @expose("/")
    def index(self):
        notices.sweep_expired()
        unread_only = request.args.get("unread") == "1"
        page = scoping.parse_id(request.args.get("page", "1")) or 1
        query = self.scoped_select()
        if unread_only:
            query = query.where(Notice.read_at.is_(None))
        total = db.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = db.session.scalars(query.order_by(Notice.created_at.desc(), Notice.id.desc())
                                  .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        self.audit_list(self.resource, len(rows), total)
        return self.render("admin/notices.html", rows=rows, total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), unread_only=unread_only,
                           subject=notices.subject, numbers=notices.case_numbers,
                           may_edit=self.allows(EDIT))

    @expose("/<notice_id>")
    def show(self, notice_id):
        notice = self.get_one_or_404(self.resource, notice_id)
        if self.allows(EDIT) and notice.read_at is None:
            notices.mark_read(notice)
            db.session.commit()
        return self.render("admin/notice.html", notice=notice, subject=notices.subject(notice),
                           numbers=notices.case_numbers(notice), links=self._links(notice),
                           is_meeting=notice.kind in MEETING_KINDS,
                           is_role=notice.kind in ROLE_KINDS, may_edit=self.allows(EDIT))

    @expose("/<notice_id>/unread", methods=("POST",))
    def unread(self, notice_id):
        if not self.allows(EDIT):
            return deny("unread", self.resource)
        notice = self.get_one_or_404(self.resource, notice_id)
        notice.read_at = None
        db.session.commit()
        return redirect(url_for(".index"))

    @expose("/read-all", methods=("POST",))
    def read_all(self):
        if not self.allows(EDIT):
            return deny("read_all", self.resource)
        mine = self.scoped_select().where(Notice.read_at.is_(None)).with_only_columns(Notice.id)
        db.session.execute(update(Notice).where(Notice.id.in_(mine)).values(read_at=utcnow()))
        db.session.commit()
        flash(_("すべてのお知らせを既読にしました。"), "success")
        return redirect(url_for(".index"))

    @staticmethod
    def _links(notice) -> list[tuple[str, str]]:
        """Where the reader may go from here: only records the reader may see."""
        links = []
        if notice.meeting_id is not None and scoping.get_visible("meeting", notice.meeting_id):
            links.append((_("会議の記録を開く"),
                          url_for("meeting.details_view", id=notice.meeting_id)))
            links.append((_("会議資料（印刷用）を開く"),
                          url_for("meeting_paper.index", id=notice.meeting_id)))
        if notice.case_id is not None and scoping.get_visible("case", notice.case_id):
            links.append((_("ケースを開く"), url_for("case.details_view", id=notice.case_id)))
        if notice.consent_id is not None and scoping.get_visible("consent", notice.consent_id):
            links.append((_("本人同意を開く"),
                          url_for("consent.details_view", id=notice.consent_id)))
        return links
