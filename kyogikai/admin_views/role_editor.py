"""The role editor of one case: current holders, the whole history, and the three ways it grows
(a change decided at a meeting, a correction by a new row, the 4(3)③ designation)."""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.admin_views.forms import BaseForm, WarekiDateField
from kyogikai.japanese.wareki import format_wareki
from kyogikai.models import Agency, RoleFunction, db
from kyogikai.policy import scoping
from kyogikai.workflows import WorkflowError, case_story
from kyogikai.workflows import roles as role_steps
from kyogikai.workflows.freshness import case_token

NONE = ""


def _optional_int(value):
    return scoping.parse_id(value) if value not in (None, "", NONE) else None


class ChangeForm(BaseForm):
    function = HiddenField()
    agency = SelectField(_l("担う機関"), coerce=str, validate_choice=False)
    agencies = SelectMultipleField(_l("担う機関（複数可）"), coerce=str, validate_choice=False,
                                   widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput())
    meeting = SelectField(_l("決定した会議"), coerce=str, validate_choice=False)
    valid_from = WarekiDateField(_l("開始日（空欄なら会議の日）"))
    note = TextAreaField(_l("備考"))
    seen = HiddenField()


class CorrectForm(BaseForm):
    row = SelectField(_l("訂正する行"), coerce=str, validate_choice=False)
    cancel = BooleanField(_l("この行を取り消す（担っていなかった）"))
    agency = SelectField(_l("正しい機関"), coerce=str, validate_choice=False)
    valid_from = WarekiDateField(_l("正しい開始日（空欄なら元のまま）"))
    valid_to = WarekiDateField(_l("正しい終了日（空欄なら元のまま）"))
    reason = TextAreaField(_l("訂正の理由"))
    seen = HiddenField()


class DesignateForm(BaseForm):
    designation_agency = SelectField(_l("主たる支援機関に指定する機関"), coerce=str,
                                     validate_choice=False)
    designation_meeting = SelectField(_l("協議が調わなかった会議"), coerce=str,
                                      validate_choice=False)
    designation_on = WarekiDateField(_l("指定日（空欄なら会議の日）"))
    designation_reason = TextAreaField(_l("指定の理由"))
    seen = HiddenField()


class RoleEditorView(SecureView):
    resource = "role_editor"

    def is_visible(self):
        return False  # opened from a case page

    def _case(self):
        return self.get_one_or_404("case", request.args.get("case"))

    @expose("/")
    def index(self):
        return self._render(self._case())

    def _render(self, case, forms=None, errors=None):
        story = case_story.load(case, current_user)
        meetings = case_story.open_meetings_for(case, current_user)
        agencies = db.session.scalars(scoping.scoped_select("agency")
                                      .order_by(Agency.name)).all()
        agency_choices = [(str(a.id), a.name) for a in agencies]
        meeting_choices = [(str(m.id), f"{m.kind.label}（{format_wareki(m.held_on)}）")
                           for m in meetings]
        token = case_token(case.id)
        forms = forms or {}
        change_forms = {}
        for function in RoleFunction:
            form = forms.get(function.value)
            if form is None:
                held = story.roles.current.get(function, []) if story.roles else []
                form = ChangeForm(formdata=None, function=function.value, seen=token,
                                  agency=str(held[0].agency_id) if held else NONE,
                                  agencies=[str(r.agency_id) for r in held],
                                  meeting=str(meetings[0].id) if meetings else NONE)
            form.agency.choices = [(NONE, _("（担う機関なし：終了する）"))] + agency_choices
            form.agencies.choices = agency_choices
            form.meeting.choices = meeting_choices
            change_forms[function.value] = form
        correct_form = forms.get("correct") or CorrectForm(formdata=None, seen=token)
        live = [e.row for entries in (story.roles.by_function.values() if story.roles else ())
                for e in entries if e.state in ("current", "ended", "future")]
        correct_form.row.choices = [(NONE, "―")] + [
            (str(r.id), f"#{r.id} {r.function.label}：{r.agency.name}（{format_wareki(r.valid_from)}"
             f"〜{format_wareki(r.valid_to) if r.valid_to else ''}）")
            for r in sorted(live, key=lambda r: r.id, reverse=True)]
        correct_form.agency.choices = [(NONE, _("（元のまま）"))] + agency_choices
        designate_form = forms.get("designate") or DesignateForm(
            formdata=None, seen=token,
            designation_meeting=str(meetings[0].id) if meetings else NONE)
        designate_form.designation_agency.choices = [(NONE, "―")] + agency_choices
        designate_form.designation_meeting.choices = meeting_choices
        return self.render(
            "admin/role_editor.html", case=case, story=story, meetings=meetings,
            change_forms=change_forms, correct_form=correct_form, designate_form=designate_form,
            errors=errors or {}, may_change=role_steps.may_change(current_user),
            may_designate=role_steps.may_designate(current_user), functions=list(RoleFunction))

    def _done(self, case, message):
        db.session.commit()
        flash(message, "success")
        return redirect(url_for(".index", case=case.id))

    def _failed(self, case, error: WorkflowError, forms):
        db.session.rollback()
        case = self._case()
        for message in error.messages:
            flash(message, "error")
        return self._render(case, forms=forms, errors=error.fields), 200

    @expose("/change", methods=("POST",))
    def change(self):
        if not role_steps.may_change(current_user):
            return deny("change", self.resource)
        case = self._case()
        form = ChangeForm()
        try:
            function = RoleFunction(form.function.data)
        except ValueError:
            flash(_("選択肢から選んでください。"), "error")
            return redirect(url_for(".index", case=case.id))
        if not form.validate():
            return self._failed(case, WorkflowError([], form.errors), {function.value: form})
        wanted = (form.agencies.data or []) if not function.single_holder else (
            [form.agency.data] if form.agency.data else [])
        try:
            role_steps.change(case, current_user, function=function,
                              agency_ids=[_optional_int(a) for a in wanted],
                              meeting_id=_optional_int(form.meeting.data),
                              day=form.valid_from.data, note=form.note.data or "",
                              seen=form.seen.data or "",
                              meetings=case_story.open_meetings_for(case, current_user))
        except WorkflowError as error:
            return self._failed(case, error, {function.value: form})
        return self._done(case, _("%(function)sの担い手を記録しました。", function=function.label))

    @expose("/correct", methods=("POST",))
    def correct(self):
        if not role_steps.may_change(current_user):
            return deny("correct", self.resource)
        case = self._case()
        form = CorrectForm()
        if not form.validate():
            return self._failed(case, WorkflowError([], form.errors), {"correct": form})
        try:
            role_steps.correct(case, current_user, row_id=_optional_int(form.row.data),
                               reason=form.reason.data or "", cancel=form.cancel.data,
                               agency_id=_optional_int(form.agency.data),
                               valid_from=form.valid_from.data, valid_to=form.valid_to.data,
                               seen=form.seen.data or "")
        except WorkflowError as error:
            return self._failed(case, error, {"correct": form})
        return self._done(case, _("訂正を記録しました。元の行は履歴に残り、無効として表示されます。"))

    @expose("/designate", methods=("POST",))
    def designate(self):
        if not role_steps.may_designate(current_user):
            return deny("designate", self.resource)
        case = self._case()
        form = DesignateForm()
        if not form.validate():
            return self._failed(case, WorkflowError([], form.errors), {"designate": form})
        try:
            role_steps.designate(case, current_user,
                                 agency_id=_optional_int(form.designation_agency.data),
                                 meeting_id=_optional_int(form.designation_meeting.data),
                                 day=form.designation_on.data,
                                 reason=form.designation_reason.data or "",
                                 seen=form.seen.data or "",
                                 meetings=case_story.open_meetings_for(case, current_user))
        except WorkflowError as error:
            return self._failed(case, error, {"designate": form})
        return self._done(case, _("要綱4(3)③による主たる支援機関の指定を記録しました。"))
