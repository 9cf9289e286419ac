"""個別ケース検討会議 on one form (調整担当者).

The screen parses and renders; workflows.case_conference decides and writes everything in one
transaction. While agencies, cases and the date are picked, the consent gate answers in place
(``/gate``), naming the agencies not covered and asking for the override's reason right there.
A refused save shows why next to what was typed, and keeps all of it.
"""

from datetime import date

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import (
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from kyogikai.admin_views.ajax import case_number_prefix, looks_like_case_number
from kyogikai.admin_views.base import SecureView, deny
from kyogikai.admin_views.forms import BaseForm, SubForm, WarekiDateField
from kyogikai.japanese.wareki import WarekiError, format_wareki, parse_date
from kyogikai.models import Agency, Case, CaseStatus, Level, Member, RoleFunction, db
from kyogikai.models import roles as history
from kyogikai.models.cases import ENDED_STATUSES
from kyogikai.models.women import name_matches
from kyogikai.policy import audit, scoping
from kyogikai.workflows import WorkflowError
from kyogikai.workflows import case_conference as steps
from kyogikai.workflows.freshness import case_tokens

BLANK = ""
NOTHING_SAVED = _l("保存できませんでした（何も保存していません）。赤字の箇所を直してから、もう一度保存してください。")
SINGLE = [f for f in RoleFunction if f.single_holder]


def _int(value):
    return scoping.parse_id(value) if value else None


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CaseForm(SubForm):
    """What the meeting decided about one case (a sub-form; the outer form carries CSRF)."""

    case_id = HiddenField()
    seen = HiddenField()
    risk_level = SelectField(_l("危険度"), choices=[(BLANK, "―"), *Level.choices()])
    urgency = SelectField(_l("緊急度"), choices=[(BLANK, "―"), *Level.choices()])
    situation = TextAreaField(_l("状況等"))
    support_policy = TextAreaField(_l("支援方針"))
    status = SelectField(_l("状況"), choices=CaseStatus.choices())
    end_reason = StringField(_l("終結・移管の理由"))
    lead_agency = SelectField(_l("主担当機関"), coerce=str, validate_choice=False)
    direct_support = SelectMultipleField(_l("主たる直接支援機能（複数可）"), coerce=str,
                                         validate_choice=False)
    coordination = SelectField(_l("取りまとめ機能"), coerce=str, validate_choice=False)
    case_management = SelectField(_l("ケース管理・調整機能"), coerce=str, validate_choice=False)
    main_support = SelectField(_l("主たる支援機関"), coerce=str, validate_choice=False)
    next_meeting_on = WarekiDateField(_l("次回の会議予定日"))
    override_reason = TextAreaField(_l("同意確認の緊急例外の理由（調整担当者）"),
                                    description=_l("例: 生命・身体の保護のため緊急に必要"))


class ConferenceForm(BaseForm):
    held_on = WarekiDateField(_l("開催日"))
    place = StringField(_l("場所"))
    agencies = Checkboxes(_l("出席機関"), coerce=str)
    members = Checkboxes(_l("出席者"), coerce=str)
    agenda = TextAreaField(_l("議題"))
    cases = FieldList(FormField(CaseForm), min_entries=0)
    decisions = TextAreaField(_l("決定事項（各機関の役割分担、次回会議の日程等）"))
    minutes = TextAreaField(_l("議事録"))


class CaseConferenceView(SecureView):
    resource = "case_conference"

    @property
    def extra_js(self):
        return [url_for("static", filename="js/case_conference.js")]

    def is_accessible(self):
        return super().is_accessible() and steps.may_record(current_user)

    # ------------------------------------------------------------------ choices and panels

    def _agencies(self):
        return db.session.scalars(scoping.scoped_select("agency").order_by(Agency.id)).all()

    def _with_choices(self, form):
        agencies = self._agencies()
        agency_choices = [(str(a.id), a.name) for a in agencies]
        form.agencies.choices = agency_choices
        members = db.session.scalars(select(Member).options(joinedload(Member.agency))
                                     .order_by(Member.agency_id, Member.name)).all()
        form.members.choices = [(str(m.id), f"{m.name}（{m.agency.name}）") for m in members]
        form.member_agency = {str(m.id): str(m.agency_id) for m in members}
        for entry in form.cases:
            self._case_choices(entry.form, agency_choices)
        return form

    @staticmethod
    def _case_choices(case_form, agency_choices):
        case_form.lead_agency.choices = [(BLANK, "―")] + agency_choices
        case_form.direct_support.choices = agency_choices
        for function in SINGLE:
            getattr(case_form, function.value).choices = [(BLANK, _("（なし）"))] + agency_choices

    @staticmethod
    def _prefill(case: Case, token: str) -> dict:
        """A case's panel starts from its current state: the ledger's values and role holders."""
        held = history.holders_on(history.rows_of(case.id), date.today())
        data = {
            "case_id": str(case.id), "seen": token,
            "risk_level": case.current_risk_level.value if case.current_risk_level else BLANK,
            "urgency": case.current_urgency.value if case.current_urgency else BLANK,
            "status": case.status.value,
            "lead_agency": str(case.current_lead_agency_id or BLANK),
            "direct_support": [str(r.agency_id) for r in held.get(RoleFunction.direct_support,
                                                                   [])],
        }
        for function in SINGLE:
            rows = held.get(function, [])
            data[function.value] = str(rows[0].agency_id) if rows else BLANK
        return data

    def _panel_cases(self, form) -> dict[int, Case]:
        ids = [_int(entry.form.case_id.data) for entry in form.cases]
        return {case.id: case for case in db.session.scalars(
            scoping.scoped_select("case").where(Case.id.in_([i for i in ids if i]))
            .options(joinedload(Case.woman), joinedload(Case.current_lead_agency)))}

    # ------------------------------------------------------------------ the page

    @expose("/", methods=("GET", "POST"))
    def index(self):
        if request.method == "POST":
            return self._save()
        form = ConferenceForm(formdata=None)
        first = request.args.get("case")
        if first:
            case = self.get_one_or_404("case", first)
            form.cases.append_entry(self._prefill(case, case_tokens([case.id])[case.id]))
        return self._render(self._with_choices(form))

    def _render(self, form, errors=None, messages=()):
        return self.render("admin/case_conference.html", form=form, errors=errors or {},
                           messages=messages, panel_cases=self._panel_cases(form),
                           ended=[s.value for s in ENDED_STATUSES])

    def _save(self):
        if not steps.may_record(current_user):
            return deny("save", self.resource)
        form = self._with_choices(ConferenceForm(request.form))
        if not form.validate():
            return self._render(form, errors=_flatten(form.errors), messages=[NOTHING_SAVED]), 200
        try:
            meeting = steps.record(self._input(form), current_user)
            db.session.commit()
        except WorkflowError as error:
            db.session.rollback()
            form = self._with_choices(ConferenceForm(request.form))
            return self._render(form, errors=error.fields,
                                messages=error.messages or [NOTHING_SAVED]), 200
        flash(_("個別ケース検討会議（%(day)s）を記録しました。", day=format_wareki(meeting.held_on)),
              "success")
        if len(form.cases.entries) == 1:
            return redirect(url_for("case_page.index", id=_int(form.cases[0].case_id.data)))
        return redirect(url_for("meeting.details_view", id=meeting.id))

    @staticmethod
    def _input(form) -> steps.ConferenceInput:
        cases = []
        for entry in form.cases:
            sub = entry.form
            roles = {RoleFunction.direct_support: [_int(a) for a in sub.direct_support.data or ()
                                                   if _int(a)]}
            for function in SINGLE:
                value = _int(getattr(sub, function.value).data)
                roles[function] = [value] if value else []
            cases.append(steps.CaseInput(
                case_id=_int(sub.case_id.data), seen=sub.seen.data or "",
                risk_level=Level(sub.risk_level.data) if sub.risk_level.data else None,
                urgency=Level(sub.urgency.data) if sub.urgency.data else None,
                situation=sub.situation.data or "", support_policy=sub.support_policy.data or "",
                status=CaseStatus(sub.status.data) if sub.status.data else None,
                end_reason=sub.end_reason.data or "", lead_agency_id=_int(sub.lead_agency.data),
                roles=roles, next_meeting_on=sub.next_meeting_on.data,
                override_reason=sub.override_reason.data or ""))
        return steps.ConferenceInput(
            held_on=form.held_on.data, place=form.place.data or "",
            agency_ids=[_int(a) for a in form.agencies.data or () if _int(a)],
            member_ids=[_int(m) for m in form.members.data or () if _int(m)],
            agenda=form.agenda.data or "", cases=cases,
            decisions=form.decisions.data or "", minutes=form.minutes.data or "")

    # ------------------------------------------------------------------ live helpers

    @expose("/cases")
    def cases(self):
        """Open cases matching a number prefix or a name (scoped, audited), for the picker."""
        term = (request.args.get("q") or "").strip()[:100]
        if not term:
            return jsonify([])
        clause = (case_number_prefix(term) if looks_like_case_number(term)
                  else name_matches(Case.woman_id, term))
        found = db.session.scalars(
            scoping.scoped_select("case").where(clause, Case.status.not_in(ENDED_STATUSES))
            .options(joinedload(Case.woman)).order_by(Case.id.desc()).limit(10)).all()
        audit.record_lookup("case", [c.id for c in found], endpoint="case_conference.cases")
        return jsonify([{"id": c.id, "label": f"{c.number} {c.woman.name}（{c.woman.furigana}）"}
                        for c in found])

    @expose("/panel")
    def panel(self):
        """The form part of one case, prefilled with its current state (HTML)."""
        case = self.get_one_or_404("case", request.args.get("case"))
        index = request.args.get("index", "")
        if not (len(index) <= 3 and index.isascii() and index.isdigit()):
            abort(404)
        sub = CaseForm(prefix=f"cases-{int(index)}-",
                       data=self._prefill(case, case_tokens([case.id])[case.id]))
        self._case_choices(sub, [(str(a.id), a.name) for a in self._agencies()])
        return self.render("admin/_conference_case.html", sub=sub, index=int(index),
                           case=case, errors={}, ended=[s.value for s in ENDED_STATUSES])

    @expose("/gate")
    def gate(self):
        """The consent gate's answer for the meeting being typed (JSON)."""
        try:
            held_on = parse_date(request.args.get("held_on", "")) if request.args.get(
                "held_on", "").strip() else None
        except WarekiError:
            held_on = None
        agency_ids = [_int(a) for a in request.args.getlist("agencies")]
        case_ids = [_int(c) for c in request.args.getlist("cases")]
        answer = steps.gate(held_on, agency_ids, case_ids, current_user)
        return jsonify({"held_on": held_on.isoformat() if held_on else None, "cases": {
            str(case_id): [a.name for a in missing] for case_id, missing in answer.items()}})


def _flatten(errors, prefix="") -> dict:
    """WTForms' nested errors → {"cases-0-situation": [...], ...}."""
    flat = {}
    for name, value in errors.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "-"))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for index, item in enumerate(value):
                flat.update(_flatten(item, f"{key}-{index}-"))
        else:
            flat[key] = [str(v) for v in value]
    return flat
