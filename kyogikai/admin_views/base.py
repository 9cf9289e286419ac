"""The one base every screen stands on: login, the access policy, Japanese display.

Entity views only declare (columns, labels, filters, ``resource``); this module asks policy/ on
every path — which endpoints a role may reach, which buttons and bulk actions it sees — so a new
screen cannot forget a rule. ``can_*`` flags are derived per request and may not be declared.
"""

from datetime import date, datetime
from itertools import chain

from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import Select2Field
from flask_admin.model import typefmt
from flask_admin.model.form import converts
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, func, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import MANYTOONE
from wtforms import validators
from wtforms.validators import ValidationError

from kyogikai.admin_views.formatting import format_local_datetime
from kyogikai.admin_views.forms import BaseForm, WarekiDateField
from kyogikai.japanese.wareki import format_wareki_with_western
from kyogikai.models import AuditAction, AuditOutcome, LabeledEnum, db
from kyogikai.models.integrity import dependents
from kyogikai.models.women import ADDRESS_FIELDS, AddressMixin, name_matches
from kyogikai.policy import audit, masking, scoping
from kyogikai.policy.matrix import (
    CREATE,
    DELETE,
    DETAILS,
    EDIT,
    EXPORT,
    LIST,
    PERSONAL_RESOURCES,
    allowed,
)

# Flask-Admin endpoint → the matrix action it needs. An endpoint not here is refused.
ENDPOINT_ACTIONS = {
    "index_view": LIST,
    "details_view": DETAILS,
    "create_view": CREATE,
    "edit_view": EDIT,
    "delete_view": DELETE,
    "export": EXPORT,
    "action_view": LIST,  # each bulk action is checked again in is_action_allowed
    "ajax_lookup": LIST,
}

# Labels every entity shares; a view's own column_labels extend and override these.
COMMON_LABELS = {
    "created_at": _l("作成日時"),
    "updated_at": _l("更新日時"),
    "note": _l("備考"),
    "agency": _l("関係機関"),
    "case": _l("ケース"),
    "woman": _l("支援対象女性"),
    "meeting": _l("会議"),
    "postal_code": _l("郵便番号"),
    "prefecture": _l("都道府県"),
    "municipality": _l("市区町村"),
    "street": _l("町名・番地"),
    "katagaki": _l("方書（建物名・部屋番号等）"),
    "address_hidden": _l("住所秘匿"),
    "address_hidden_pending": _l("住所秘匿の確認待ち"),
    "address_line": _l("住所"),
    "furigana": _l("フリガナ"),
    "name": _l("氏名"),
    "birth_date": _l("生年月日"),
    "phone": _l("電話番号"),
    "risk_level": _l("危険度"),
    "urgency": _l("緊急度"),
    "lead_agency": _l("主担当機関"),
}

POLICY_FLAGS = ("can_create", "can_edit", "can_delete", "can_export", "can_view_details")


def _format_bool(view, value, name=None):
    return _l("はい") if value else _l("いいえ")


def _format_enum(view, value, name=None):
    return value.label


def _format_date(view, value, name=None):
    if isinstance(value, datetime):  # a datetime is a date too; the dict order is not enough
        return _format_datetime(view, value, name)
    return format_wareki_with_western(value)


def _format_datetime(view, value, name=None):
    return format_local_datetime(value)


def type_formatters() -> dict:
    """Japanese display for every value type a list or details page can hold."""
    formatters = dict(typefmt.BASE_FORMATTERS)
    formatters[bool] = _format_bool
    formatters[date] = _format_date
    formatters[datetime] = _format_datetime
    for enum_cls in LabeledEnum.all_subclasses():
        formatters[enum_cls] = _format_enum
    return formatters


def changed_field_names(model, is_created: bool) -> list[str]:
    """Names of the attributes a save changes (never their values), for the audit trail."""
    state = inspect(model)
    names = []
    for attr in state.mapper.column_attrs:
        if attr.key in ("created_at", "updated_at", "search_text"):
            continue
        history = state.attrs[attr.key].history
        if history.has_changes() and (not is_created or history.added[0] not in (None, "")):
            names.append(attr.key)
    for rel in state.mapper.relationships:
        if state.attrs[rel.key].history.has_changes():
            names.append(rel.key)
    return names


def _required(relationship_attribute) -> bool:
    prop = relationship_attribute.property
    return prop.direction is MANYTOONE and all(not c.nullable for c in prop.local_columns)


def current_role():
    return current_user.role if current_user.is_authenticated else None


def deny(name: str, resource: str):
    """Anonymous → the login page; logged in without the right → 403, audited."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    audit.record(AuditAction.denied, outcome=AuditOutcome.denied, object_type=resource,
                 detail=f"endpoint={name}")
    abort(403)


class PolicyMixin:
    """Shared by model views and custom views: the policy decides, the view declares."""

    resource: str = ""

    def allows(self, action: str) -> bool:
        return allowed(current_role(), action, self.resource)

    def _flag(self, action: str) -> bool:
        # Outside a request Flask-Admin is scaffolding (details columns, forms): build it all once;
        # inside one, the matrix decides for the person asking.
        return self.allows(action) if has_request_context() else True

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and (self.allows(LIST) or self.allows(DETAILS))

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        return deny(name, self.resource)


class JapaneseModelConverter(AdminModelConverter):
    """Form fields the Japanese way: enum labels, never Python names; dates in 和暦 or western."""

    def _model_select_field(self, prop, multiple, remote_model, **kwargs):
        # Dropdown choices are rows too: a scoped user is offered only what they may see.
        if prop.key not in getattr(self.view, "_form_ajax_refs", {}):
            kwargs.setdefault("query_factory", lambda: scoping.scope_model(
                db.session.query(remote_model), remote_model))
        if not multiple:
            kwargs.setdefault("blank_text", "―")  # else WTForms 3.3 shows the raw "__None"
        return super()._model_select_field(prop, multiple, remote_model, **kwargs)

    @converts("Date")
    def convert_date(self, field_args, **extra):
        field_args.pop("widget", None)
        return WarekiDateField(**field_args)

    @converts("sqlalchemy.sql.sqltypes.Enum")
    def convert_enum(self, column, field_args, **extra):
        enum_cls = getattr(column.type, "enum_class", None)
        if enum_cls is None or not issubclass(enum_cls, LabeledEnum):
            return super().convert_enum(column, field_args, **extra)
        accepted = [member.value for member in enum_cls]
        if column.nullable:
            field_args["allow_blank"] = True
            field_args["blank_text"] = "―"
            accepted.append(None)
        self._nullable_common(column, field_args)
        field_args["choices"] = enum_cls.choices()
        field_args["validators"].append(
            validators.AnyOf(accepted, message=_l("選択肢から選んでください。"))
        )
        # Members, not strings, so that domain code comparing with ``is`` sees what it expects.
        # An unknown code stays a string and fails AnyOf with a Japanese message.
        field_args["coerce"] = lambda v: enum_cls._value2member_map_.get(v, v)
        return Select2Field(**field_args)


class SecureModelView(PolicyMixin, ModelView):
    """Base of every generated CRUD screen."""

    form_base_class = BaseForm
    model_form_converter = JapaneseModelConverter
    can_set_page_size = True
    page_size = 50
    page_size_options = (20, 50, 100)
    export_types = ["csv"]
    column_type_formatters = None  # built per class in __init__, once every enum is imported
    column_type_formatters_detail = None
    # Extra endpoints a subclass exposes, with the matrix action each needs.
    endpoint_actions: dict[str, str] = {}
    # Bulk actions → the matrix action each needs (Flask-Admin's built-in one is "delete").
    action_permissions: dict[str, str] = {"delete": DELETE}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declared = [flag for flag in POLICY_FLAGS if flag in cls.__dict__]
        if declared:
            raise TypeError(f"{cls.__name__} declares {declared}; access comes from policy.matrix")

    def __init__(self, model, session, **kwargs):  # session: the Flask-SQLAlchemy db object
        if self.column_type_formatters is None:
            self.column_type_formatters = type_formatters()
            self.column_type_formatters_detail = type_formatters()
            self.column_type_formatters_export = type_formatters()
        self.column_choices = {**self._enum_choices(model), **(self.column_choices or {})}
        self.column_labels = {**COMMON_LABELS, **(self.column_labels or {})}
        super().__init__(model, session, **kwargs)

    def _refresh_cache(self):
        super()._refresh_cache()
        # An empty enum cell shows a dash, not Python's "None" (the choices map bypasses the
        # type formatters).
        for choices_map in self._column_choices_map.values():
            choices_map[None] = "―"

    @staticmethod
    def _enum_choices(model) -> dict:
        """Labels for list cells and filter options of every LabeledEnum column."""
        choices = {}
        for column in model.__table__.columns:
            enum_cls = getattr(column.type, "enum_class", None)
            if enum_cls is not None and issubclass(enum_cls, LabeledEnum):
                choices[column.key] = enum_cls.choices()
        return choices

    # Flags derived per request from the matrix.
    @property
    def can_create(self):
        return self._flag(CREATE)

    @property
    def can_edit(self):
        return self._flag(EDIT)

    @property
    def can_delete(self):
        return self._flag(DELETE)

    @property
    def can_export(self):
        return self._flag(EXPORT)

    @property
    def can_view_details(self):
        return self._flag(DETAILS)

    def _handle_view(self, name, **kwargs):
        action = {**ENDPOINT_ACTIONS, **self.endpoint_actions}.get(name)
        if not current_user.is_authenticated or action is None or not self.allows(action):
            return deny(name, self.resource)
        return super()._handle_view(name, **kwargs)

    @action("delete", admin_lazy_gettext("Delete"),
            admin_lazy_gettext("Are you sure you want to delete selected records?"))
    def action_delete(self, ids):
        """Flask-Admin passes the ids as strings; PostgreSQL (psycopg 3) refuses int = varchar."""
        pk_type = self.model.__mapper__.primary_key[0].type.python_type
        try:
            typed = [pk_type(value) for value in ids]
        except (TypeError, ValueError):
            abort(404)
        return super().action_delete(typed)

    def handle_action(self, return_view=None):
        """A bulk action the role may not run is a 403 (audited), not a silent redirect."""
        name = request.form.get("action", "")
        if name not in self._actions_data or not self.is_action_allowed(name):
            return deny(f"action:{name}", self.resource)
        return super().handle_action(return_view)

    def is_action_allowed(self, name):
        needed = self.action_permissions.get(name)
        return needed is not None and self.allows(needed) and super().is_action_allowed(name)

    # Flask-Admin joins the relations named in column_list (column_auto_select_related); these
    # are further loader options a page needs so that rows do not query one by one.
    list_query_options: tuple = ()
    # Searching by a woman's name through the gram index: the model attribute holding her id.
    name_search_column: str | None = None
    search_placeholder_text = None

    # Free-text columns → the people (woman, companions) whose hidden addresses must not show
    # in them if someone typed one in (minutes, 状況等, notes).
    masked_text_fields: dict = {}
    # When set, an existing record's form offers only these columns (history stays as decided).
    form_edit_columns: tuple | None = None

    def get_query(self):
        return scoping.scope(super().get_query().options(*self.list_query_options), self.resource)

    def get_edit_form(self):
        if not self.form_edit_columns:
            return super().get_edit_form()
        declared = self.form_columns
        self.form_columns = self.form_edit_columns
        try:
            return self.scaffold_form()
        finally:
            self.form_columns = declared

    def _order_by(self, query, joins, sort_joins, sort_field, sort_desc):
        """Sort through a required many-to-one (a case's woman) with an inner join: the same
        rows, but the database can then walk the sort column's index instead of sorting all."""
        if sort_field is None or not sort_joins or not all(map(_required, sort_joins)):
            return super()._order_by(query, joins, sort_joins, sort_field, sort_desc)
        query, joins, alias = self._apply_path_joins(query, joins, sort_joins, inner_join=True)
        column = sort_field if alias is None else getattr(alias, sort_field.key)
        return query.order_by(column.desc() if sort_desc else column), joins

    def get_count_query(self):
        """count(*), not Flask-Admin's count(?) with a bound '*', which SQLite runs far slower."""
        return scoping.scope(db.session.query(func.count()).select_from(self.model), self.resource)

    def _get_filter_groups(self):
        """Options that come from the database (agencies, 年度) are read per request."""
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                flt = self._filters[item["index"]]
                if callable(flt.options):
                    item["options"] = [(str(k), str(v)) for k, v in flt.get_options(self)] or None
        return groups

    def search_placeholder(self):
        if self.search_placeholder_text is not None:
            return str(self.search_placeholder_text)
        return super().search_placeholder()

    def _apply_search(self, query, count_query, joins, count_joins, search):
        if self.name_search_column is None:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        clause = self.search_clause(search)
        return query.filter(clause), count_query.filter(clause), joins, count_joins

    def search_clause(self, search: str):
        """Every space-separated term must match the woman's names (gram index, folded)."""
        column = getattr(self.model, self.name_search_column)
        return and_(*(name_matches(column, term) for term in search.split()))

    def on_model_change(self, form, model, is_created):
        """Every save: policy first (before anything can autoflush the form's changes away),
        then the view's own domain checks, then the model's rules."""
        with db.session.no_autoflush:
            self._keep_masked_text(model)
            for obj in list(db.session.new) + list(db.session.dirty):
                if isinstance(obj, AddressMixin):
                    masking.route_flag_edit(obj)
            g.audit_changed_fields = changed_field_names(model, is_created)
        self.check_change(model, is_created)
        problems = model.problems() if hasattr(model, "problems") else []
        if problems:
            raise ValidationError("".join(str(p) for p in problems))
        super().on_model_change(form, model, is_created)

    def check_change(self, model, is_created):
        """Domain rules a view adds (the consent gate …); raise ValidationError to refuse."""

    def _keep_masked_text(self, model):
        """Free text sent back exactly as it was shown masked keeps its real content."""
        state = inspect(model)
        for name, owners in self.masked_text_fields.items():
            history = state.attrs[name].history
            if history.deleted and history.added:
                old = history.deleted[0]
                if history.added[0] == masking.mask_text(old, owners(model)) != old:
                    setattr(model, name, old)

    def after_model_change(self, form, model, is_created):
        super().after_model_change(form, model, is_created)
        fields = g.pop("audit_changed_fields", [])
        audit.record(AuditAction.create if is_created else AuditAction.update,
                     object_type=self.resource, object_id=self.get_pk_value(model),
                     detail="fields=" + ",".join(fields))

    def on_model_delete(self, model):
        super().on_model_delete(model)
        audit.record(AuditAction.delete, object_type=self.resource,
                     object_id=self.get_pk_value(model), with_change=True)

    def delete_model(self, model):
        blocking = dependents(model)
        if blocking:
            what = "、".join(f"{label}（{count}件）" for label, count in blocking)
            flash(_("この記録は他の記録から参照されているため削除できません: %(what)s", what=what),
                  "error")
            return False
        return super().delete_model(model)

    def handle_view_exception(self, exc):
        if isinstance(exc, IntegrityError):
            flash(_("同じ内容の記録が既にあるか、関連する記録と矛盾するため保存できませんでした。"),
                  "error")
            return True
        return super().handle_view_exception(exc)

    def get_one(self, id):
        """Through get_query, so row scoping holds here too; a missing id is a plain 404."""
        pk = self.model.__mapper__.primary_key[0]
        try:
            value = pk.type.python_type(id)
        except (TypeError, ValueError):
            abort(404)
        record = self.get_query().filter(pk == value).one_or_none()
        if record is None:
            # Missing or out of scope: the same 404, recorded, revealing nothing.
            audit.record(AuditAction.denied, outcome=AuditOutcome.denied,
                         object_type=self.resource, object_id=value,
                         detail=f"endpoint={request.endpoint};not_found_or_out_of_scope")
            abort(404)
        if request.method == "GET" and self.resource in PERSONAL_RESOURCES:
            audit.record(AuditAction.view_record, object_type=self.resource, object_id=value,
                         detail=f"endpoint={request.endpoint}")
        return record

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=execute, page_size=page_size)
        if execute and self.resource in PERSONAL_RESOURCES:
            exporting = (request.endpoint or "").endswith(".export")
            audit.record(AuditAction.export if exporting else AuditAction.view_list,
                         object_type=self.resource,
                         detail=f"rows={len(rows)};total={count}"
                         + (f";format={request.view_args.get('export_type')}" if exporting else ""))
        return count, rows

    def list_as_shown(self):
        """The list as the person sees it now (scope, search, filters and order from the request's
        arguments) as an unexecuted query without paging, with its count: what an export of
        "this list" holds. Reads the arguments through Flask-Admin's private
        ``_get_list_extra_args`` and ``_get_column_by_idx``, as its own CSV export does, so the
        two can never read them differently."""
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        count, query = self.get_list(None, sort[0] if sort else None, args.sort_desc, args.search,
                                     args.filters, execute=False, page_size=0)
        return count, query, args

    def describe_filters(self, filters) -> list[dict]:
        """The active filters as (label, operation, value code, value label), for a file that
        says what it holds and an audit event that says how it was narrowed."""
        described = []
        for index, _name, value in filters or ():
            flt = self._filters[index]
            options = dict((str(k), str(v)) for k, v in (flt.get_options(self) or ()))
            described.append({"label": str(flt.name), "operation": str(flt.operation()),
                              "value": str(value), "shown": options.get(str(value), str(value))})
        return described

    def _get_list_value(self, context, model, name, column_formatters, column_type_formatters):
        """One choke point for list, details and export cells: 住所秘匿 is masked here."""
        if name in masking.MASKED_NAMES and masking.is_masked(model):
            return masking.MASK
        value = super()._get_list_value(context, model, name, column_formatters,
                                        column_type_formatters)
        if name in self.masked_text_fields:
            value = masking.mask_text(value, self.masked_text_fields[name](model))
        if context is None and isinstance(value, Markup):
            # Export: a cell a list shows as HTML becomes its text in the CSV.
            value = value.replace(Markup("<br>"), " ").striptags()
        return value

    def _export_csv(self, return_url):
        """CSV that Excel on a Japanese PC opens without mojibake: UTF-8 with a BOM."""
        response = super()._export_csv(return_url)
        response.response = chain(["\ufeff"], response.response)
        response.mimetype = "text/csv"
        response.charset = "utf-8"
        return response

    def get_export_name(self, export_type="csv"):
        return f"{self.endpoint}_{date.today():%Y%m%d}.{export_type}"

    def edit_form(self, obj=None):
        """Masked addresses stay masked in the form; the mask is never saved back."""
        form = super().edit_form(obj)
        for name, owners in self.masked_text_fields.items():
            field = getattr(form, name, None)
            original = getattr(obj, name, None)
            if field is not None and original and field.data == original:
                masked = masking.mask_text(original, owners(obj))
                if masked != original:
                    field.data = masked
                    field.render_kw = {**(field.render_kw or {}), "readonly": True}
        for record, fields in self._address_forms(form, obj):
            if masking.is_masked(record):
                for name in ADDRESS_FIELDS:
                    if name in fields and fields[name].data:
                        fields[name].data = masking.MASK
                        fields[name].render_kw = {**(fields[name].render_kw or {}),
                                                  "readonly": True}
        return form

    @staticmethod
    def _address_forms(form, obj):
        """(record, its fields) for the main record and each inline companion."""
        found = [(obj, form._fields)] if obj is not None else []
        for field in form:
            for entry in getattr(field, "entries", ()):
                record = getattr(entry, "object_data", None)
                if record is not None and hasattr(entry, "form"):
                    found.append((record, entry.form._fields))
        return found


class SecureView(PolicyMixin, BaseView):
    """Base of the custom (non-CRUD) screens."""
