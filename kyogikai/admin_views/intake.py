"""新規受理 on one screen (事務担当): the woman and her companions, the consent and the case.

The screen parses and renders; workflows.intake decides and writes, in one transaction, and the
clerk lands on the new case page. While the name is typed, women already registered under it
are offered (scoped and audited), so nobody is registered twice by accident.
"""

from datetime import date

from flask import flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.admin_views.formatting import birth_with_age
from kyogikai.admin_views.forms import BaseForm, KanaField, SubForm, WarekiDateField
from kyogikai.models import (
    Agency,
    Case,
    Concern,
    ConsentMethod,
    ConsentPurpose,
    Council,
    Level,
    Member,
    ReferralRoute,
    Relationship,
    db,
)
from kyogikai.policy import audit, scoping
from kyogikai.workflows import WorkflowError
from kyogikai.workflows import intake as steps

BLANK = ""
NOTHING_SAVED = _l("保存できませんでした（何も保存していません）。赤字の箇所を直してから、もう一度保存してください。")


def _enum(enum_cls, value):
    return enum_cls(value) if value else None


def _int(value):
    return scoping.parse_id(value) if value else None


class CompanionForm(SubForm):
    """One 同伴家族 row (a sub-form: the outer form carries the CSRF token)."""

    name = StringField(_l("氏名"))
    furigana = KanaField(_l("フリガナ"))
    relationship = SelectField(_l("続柄"), choices=Relationship.choices(),
                               default=Relationship.child.value)
    birth_date = WarekiDateField(_l("生年月日"))
    note = StringField(_l("備考"))


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class IntakeForm(BaseForm):
    woman_id = HiddenField()
    confirm_new = BooleanField(_l("別の方として新しく登録する"))
    name = StringField(_l("氏名"))
    furigana = KanaField(_l("フリガナ"))
    alias = StringField(_l("通称"))
    birth_date = WarekiDateField(_l("生年月日"))
    postal_code = StringField(_l("郵便番号"))
    prefecture = StringField(_l("都道府県"))
    municipality = StringField(_l("市区町村"))
    street = StringField(_l("町名・番地"))
    katagaki = StringField(_l("方書（建物名・部屋番号等）"))
    address_hidden = BooleanField(_l("住所秘匿（DV等支援措置）"),
                                  description=_l("別の調整担当者の確認で設定されます。確認までの間も秘匿して表示します。"))
    phone = StringField(_l("電話番号"))
    referral_route = SelectField(_l("相談経路"),
                                 choices=[(BLANK, "―"), *ReferralRoute.choices()])
    concerns = Checkboxes(_l("主訴"), coerce=str)
    woman_note = TextAreaField(_l("女性の備考"))
    companions = FieldList(FormField(CompanionForm), min_entries=0)
    consent_agencies = Checkboxes(_l("情報共有に同意した機関"), coerce=str)
    consent_purpose = SelectField(_l("目的"), choices=ConsentPurpose.choices(),
                                  default=ConsentPurpose.case_conference.value)
    consent_method = RadioField(_l("方法"), choices=ConsentMethod.choices(),
                                default=ConsentMethod.written.value)
    consent_obtained_on = WarekiDateField(_l("同意取得日"))
    consent_valid_until = WarekiDateField(_l("有効期限"))
    consent_obtained_by = SelectField(_l("同意を得た者"), coerce=str)
    consent_note = StringField(_l("同意の備考"))
    received_on = WarekiDateField(_l("相談受理年月日"))
    risk_level = SelectField(_l("危険度"), choices=[(BLANK, "―"), *Level.choices()])
    urgency = SelectField(_l("緊急度"), choices=[(BLANK, "―"), *Level.choices()])
    lead_agency = SelectField(_l("主担当機関"), coerce=str)
    case_note = TextAreaField(_l("ケースの備考"))


def _default_lead(user) -> str:
    coordinating = db.session.scalar(select(Council.coordinating_agency_id)
                                     .order_by(Council.id).limit(1))
    return str(coordinating or user.agency_id or BLANK)


class IntakeView(SecureView):
    resource = "intake"

    @property
    def extra_js(self):
        return [url_for("static", filename="js/intake.js")]

    def is_accessible(self):
        return super().is_accessible() and steps.may_intake(current_user)

    def make_form(self, formdata=None):
        today = date.today()
        defaults = {} if formdata is not None else {
            "consent_obtained_on": today, "received_on": today,
            "lead_agency": _default_lead(current_user),
            "consent_obtained_by": str(current_user.member_id or BLANK)}
        form = IntakeForm(formdata=formdata, **defaults)
        agencies = db.session.scalars(scoping.scoped_select("agency").order_by(Agency.id)).all()
        form.consent_agencies.choices = [(str(a.id), a.name) for a in agencies]
        form.lead_agency.choices = [(BLANK, "―")] + [(str(a.id), a.name) for a in agencies]
        form.concerns.choices = [(str(c.id), c.name) for c in db.session.scalars(
            select(Concern).order_by(Concern.sort_order, Concern.id))]
        members = db.session.scalars(select(Member).order_by(Member.name)).all()
        form.consent_obtained_by.choices = [(BLANK, "―")] + [(str(m.id), str(m))
                                                              for m in members]
        return form

    @expose("/", methods=("GET", "POST"))
    def index(self):
        if request.method == "GET":
            woman = None
            if request.args.get("woman"):
                woman = self.get_one_or_404("woman", request.args.get("woman"))
            form = self.make_form()
            if woman is not None:
                form.woman_id.data = str(woman.id)
            return self._render(form, chosen=woman)
        if not steps.may_intake(current_user):
            return deny("save", self.resource)
        form = self.make_form(request.form)
        if not form.validate():
            return self._render(form, errors={}, messages=[NOTHING_SAVED]), 200
        try:
            case = steps.record(self._input(form), current_user)
            db.session.commit()
        except steps.PossibleDuplicate as duplicate:
            db.session.rollback()
            audit.record_lookup("woman", [w.id for w in duplicate.candidates],
                                endpoint="intake")
            return self._render(self.make_form(request.form), errors=duplicate.fields,
                                messages=duplicate.messages,
                                candidates=duplicate.candidates), 200
        except WorkflowError as error:
            db.session.rollback()
            return self._render(self.make_form(request.form), errors=error.fields,
                                messages=error.messages or [NOTHING_SAVED]), 200
        flash(_("受理しました。ケース番号は %(number)s です。", number=case.number), "success")
        return redirect(url_for("case_page.index", id=case.id))

    @staticmethod
    def _input(form) -> steps.IntakeInput:
        picked = request.form.get("pick_woman")  # 「この方で受理する」 on an offered woman
        return steps.IntakeInput(
            woman_id=_int(picked or form.woman_id.data), confirm_new=form.confirm_new.data,
            name=form.name.data or "", furigana=form.furigana.data or "",
            alias=form.alias.data or "", birth_date=form.birth_date.data,
            postal_code=form.postal_code.data or "", prefecture=form.prefecture.data or "",
            municipality=form.municipality.data or "", street=form.street.data or "",
            katagaki=form.katagaki.data or "", address_hidden=form.address_hidden.data,
            phone=form.phone.data or "",
            referral_route=_enum(ReferralRoute, form.referral_route.data),
            concern_ids=[int(c) for c in form.concerns.data or () if c.isdigit()],
            woman_note=form.woman_note.data or "",
            companions=[steps.CompanionInput(
                name=entry.form.name.data or "", furigana=entry.form.furigana.data or "",
                relationship=Relationship(entry.form.relationship.data),
                birth_date=entry.form.birth_date.data, note=entry.form.note.data or "")
                for entry in form.companions],
            consent_agency_ids=[int(a) for a in form.consent_agencies.data or ()
                                if a.isdigit()],
            consent_purpose=ConsentPurpose(form.consent_purpose.data),
            consent_method=_enum(ConsentMethod, form.consent_method.data),
            consent_obtained_on=form.consent_obtained_on.data,
            consent_valid_until=form.consent_valid_until.data,
            consent_obtained_by_id=_int(form.consent_obtained_by.data),
            consent_note=form.consent_note.data or "",
            received_on=form.received_on.data,
            risk_level=_enum(Level, form.risk_level.data),
            urgency=_enum(Level, form.urgency.data),
            lead_agency_id=_int(form.lead_agency.data),
            case_note=form.case_note.data or "")

    def _render(self, form, errors=None, messages=(), candidates=(), chosen=None):
        if chosen is None and form.woman_id.data:
            chosen = scoping.get_visible("woman", _int(form.woman_id.data))
        return self.render("admin/intake.html", form=form, errors=errors or {},
                           messages=messages, candidates=candidates, chosen=chosen,
                           companion_template=CompanionForm(prefix="companions-__index__-"),
                           birth_with_age=birth_with_age)

    @expose("/candidates")
    def candidates(self):
        """Women already registered under the name or reading being typed (JSON, scoped)."""
        found = steps.candidates(request.args.get("name", "")[:100],
                                 request.args.get("furigana", "")[:100], current_user)
        visible_cases = set(db.session.scalars(scoping.scoped_select("case").where(
            Case.woman_id.in_([w.id for w in found]))))
        audit.record_lookup("woman", [w.id for w in found], endpoint="intake.candidates")
        if visible_cases:  # their numbers are shown too
            audit.record_lookup("case", sorted(c.id for c in visible_cases),
                                endpoint="intake.candidates")
        return jsonify([{
            "id": woman.id, "name": woman.name, "furigana": woman.furigana,
            "birth": birth_with_age(woman.birth_date) if woman.birth_date else "",
            "cases": [{"number": c.number, "url": url_for("case_page.index", id=c.id),
                       "status": str(c.status.label)}
                      for c in woman.cases if c in visible_cases],
        } for woman in found])
