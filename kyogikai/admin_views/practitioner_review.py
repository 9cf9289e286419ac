"""実務者会議: every open case on one screen (要綱 4(2)イ i), one CaseReview per changed case.

The screen parses and renders; workflows.practitioner_review loads the rows in a fixed number of
queries and writes every changed case in one transaction.
"""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.admin_views.forms import BaseForm, WarekiDateField
from kyogikai.models import Agency, Level, Meeting, MeetingKind, db
from kyogikai.policy import scoping
from kyogikai.workflows import WorkflowError
from kyogikai.workflows import practitioner_review as steps


class NewMeetingForm(BaseForm):
    held_on = WarekiDateField(_l("開催日"))
    place = StringField(_l("場所"))


def _int(value):
    return scoping.parse_id(value) if value else None


def _level(value):
    return Level(value) if value in Level._value2member_map_ else None


class PractitionerReviewView(SecureView):
    resource = "practitioner_review"

    @property
    def extra_js(self):
        return [url_for("static", filename="js/practitioner_review.js")]

    def is_accessible(self):
        return super().is_accessible() and steps.may_record(current_user)

    def _meeting(self) -> Meeting:
        meeting = self.get_one_or_404("meeting", request.args.get("meeting"))
        if meeting.kind is not MeetingKind.practitioner:
            flash(_("実務者会議を選んでください。"), "error")
            return None
        return meeting

    @expose("/", methods=("GET", "POST"))
    def index(self):
        if "meeting" not in request.args:
            return self.render("admin/practitioner_choose.html", meetings=steps.meetings(
                current_user), form=NewMeetingForm(formdata=None), errors={})
        meeting = self._meeting()
        if meeting is None:
            return redirect(url_for(".index"))
        if request.method == "POST":
            return self._save(meeting)
        return self._render(meeting)

    def _render(self, meeting, typed=None, errors=None, messages=()):
        agencies = db.session.scalars(scoping.scoped_select("agency")
                                      .order_by(Agency.name)).all()
        return self.render("admin/practitioner_review.html", meeting=meeting,
                           rows=steps.rows(meeting, current_user), agencies=agencies,
                           levels=list(Level), typed=typed, errors=errors or {},
                           messages=messages)

    def _save(self, meeting):
        if not steps.may_record(current_user):
            return deny("save", self.resource)
        form = request.form
        items = []
        for value in form.getlist("cases"):
            case_id = _int(value)
            if case_id is None:
                continue
            key = f"r-{case_id}-"
            items.append(steps.RowInput(
                case_id=case_id, seen=form.get(key + "seen", ""),
                situation=form.get(key + "situation", "")[:10000],
                lead_agency_id=_int(form.get(key + "lead", "")),
                risk_level=_level(form.get(key + "risk", "")),
                urgency=_level(form.get(key + "urgency", "")),
                needs_conference=form.get(key + "needs") == "1"))
        try:
            reviews = steps.record(meeting, items, current_user)
            db.session.commit()
        except WorkflowError as error:
            db.session.rollback()
            meeting = db.session.get(Meeting, meeting.id)
            return self._render(meeting, typed=form, errors=error.fields,
                                messages=error.messages), 200
        flash(_("%(count)s件のケースの管理記録を保存しました。", count=len(reviews)), "success")
        return redirect(url_for(".index", meeting=meeting.id))

    @expose("/new", methods=("POST",))
    def new(self):
        if not steps.may_record(current_user):
            return deny("new", self.resource)
        form = NewMeetingForm()
        errors = dict(form.errors) if not form.validate() else {}
        if not errors:
            try:
                agencies = [a.id for a in db.session.scalars(scoping.scoped_select("agency"))]
                meeting = steps.create_meeting(form.held_on.data, form.place.data or "",
                                               agencies, current_user)
                db.session.commit()
                return redirect(url_for(".index", meeting=meeting.id))
            except WorkflowError as error:
                db.session.rollback()
                errors = error.fields
        return self.render("admin/practitioner_choose.html",
                           meetings=steps.meetings(current_user), form=form, errors=errors), 200
