"""The case page: one per case, everything about it, and where the work on it starts.

Reached from the ledger (number, view icon, the generic details page), search results, pickers
and every screen that names a case. Reads go through workflows.case_story (scoped, audited,
part by part within the matrix); the two small actions of the page post back here.
"""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import HiddenField, SelectField, TextAreaField

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.admin_views.forms import BaseForm, WarekiDateField
from kyogikai.models import CaseStatus, db
from kyogikai.models.cases import ENDED_STATUSES
from kyogikai.policy import scoping
from kyogikai.policy.matrix import EDIT, allowed
from kyogikai.workflows import WorkflowError, case_actions, case_story
from kyogikai.workflows.freshness import case_token


class EndCaseForm(BaseForm):
    status = SelectField(_l("状況"), choices=[(s.value, s.label) for s in ENDED_STATUSES])
    ended_on = WarekiDateField(_l("終結・移管年月日"))
    end_reason = TextAreaField(_l("終結・移管の理由"))
    seen = HiddenField()


class WithdrawForm(BaseForm):
    withdrawn_on = WarekiDateField(_l("撤回日"))


class CasePageView(SecureView):
    resource = "case_page"

    def is_visible(self):
        return False  # one page per case: reached from the ledger and every case link

    @expose("/")
    def index(self):
        case = self.get_one_or_404("case", self.id_arg())
        return self._render(case)

    def _render(self, case, end_form=None):
        story = case_story.load(case, current_user)
        end_form = end_form or EndCaseForm(formdata=None, seen=case_token(case.id))
        return self.render("admin/case_page.html", story=story, case=case, end_form=end_form,
                           withdraw_form=WithdrawForm(formdata=None), statuses=CaseStatus,
                           return_url=url_for(".index", id=case.id))

    @expose("/end", methods=("POST",))
    def end(self):
        """終結・移管 from the case page."""
        if not allowed(current_user.role, EDIT, "case"):
            return deny("end", self.resource)
        case = self.get_one_or_404("case", request.args.get("id"))
        form = EndCaseForm()
        if form.validate():
            try:
                case_actions.end_case(case, current_user, status=CaseStatus(form.status.data),
                                      ended_on=form.ended_on.data, reason=form.end_reason.data,
                                      seen=form.seen.data or "")
                db.session.commit()
            except WorkflowError as error:
                db.session.rollback()
                case = self.get_one_or_404("case", request.args.get("id"))
                for message in error.messages + [m for ms in error.fields.values() for m in ms]:
                    flash(message, "error")
                return self._render(case, end_form=form), 200
            flash(_("ケースを%(status)sとして記録しました。", status=case.status.label), "success")
            return redirect(url_for(".index", id=case.id))
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return self._render(case, end_form=form), 200

    @expose("/withdraw", methods=("POST",))
    def withdraw(self):
        """A consent withdrawn for one agency (the woman still agrees for the others)."""
        if not allowed(current_user.role, EDIT, "consent"):
            return deny("withdraw", self.resource)
        case = self.get_one_or_404("case", request.args.get("id"))
        consent = self.get_one_or_404("consent", request.form.get("consent"))
        agency_id = scoping.parse_id(request.form.get("agency", ""))
        form = WithdrawForm()
        if consent.woman_id != case.woman_id or agency_id is None:
            flash(_("対象の同意が見つかりません。"), "error")
            return redirect(url_for(".index", id=case.id))
        if form.validate():
            try:
                case_actions.withdraw_consent(consent, agency_id, form.withdrawn_on.data,
                                              current_user)
                db.session.commit()
                flash(_("この機関についての同意の撤回を記録しました。"), "success")
                return redirect(url_for(".index", id=case.id))
            except WorkflowError as error:
                db.session.rollback()
                for message in error.messages + [m for ms in error.fields.values() for m in ms]:
                    flash(message, "error")
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for(".index", id=case.id))
