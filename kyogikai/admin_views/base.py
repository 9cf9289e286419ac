"""The one base every screen stands on: login, the access policy, Japanese display.

Entity views only declare (columns, labels, filters, ``resource``); this module asks policy/ on
every path — which endpoints a role may reach, which buttons and bulk actions it sees — so a new
screen cannot forget a rule. ``can_*`` flags are derived per request and may not be declared.
"""

from datetime import date, datetime
from functools import lru_cache
from itertools import chain

from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import Select2Field
from flask_admin.helpers import get_redirect_target, is_form_submitted
from flask_admin.model import typefmt
from flask_admin.model.form import converts
from flask_admin.model.template import (
    DeleteRowAction,
    EditPopupRowAction,
    EditRowAction,
    EndpointLinkRowAction,
    TemplateLinkRowAction,
    ViewPopupRowAction,
    ViewRowAction,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy import and_, false, func, inspect, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import MANYTOONE, ONETOMANY, joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, validators
from wtforms.validators import ValidationError

from kyogikai.admin_views import hidden_fields, query_args
from kyogikai.admin_views.formatting import (
    JST,
    compact_date,
    format_local_datetime,
    html,
    safe,
)
from kyogikai.admin_views.forms import BaseForm, FiscalYearField, WarekiDateField
from kyogikai.exports.cells import content_disposition, neutralise
from kyogikai.japanese.wareki import format_wareki_with_western, wareki_year_label
from kyogikai.models import AuditAction, AuditOutcome, LabeledEnum, db
from kyogikai.models.integrity import dependents
from kyogikai.models.women import AddressMixin, name_matches
from kyogikai.policy import audit, masking, scoping, versioning
from kyogikai.policy.matrix import CREATE, DELETE, DETAILS, EDIT, EXPORT, LIST, allowed
from kyogikai.policy.resources import ADDRESS, FREE_TEXT, RESOURCES, resource_of, text_columns

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

BOOKKEEPING = ("version", "updated_by_id")

# Row actions whose markup differs from row to row only by the record's id: a list renders them
# once per request with this placeholder and fills in each row's id (see row_actions_html).
class VersionedDeleteRowAction(TemplateLinkRowAction):
    """A row's delete button that sends the version of the row the list showed."""

    def __init__(self):
        super().__init__("versioned_row_actions.delete_row", admin_lazy_gettext("Delete Record"))


ROW_ID_PLACEHOLDER = "0rowid0"
ROW_VERSION_PLACEHOLDER = "0rowversion0"
# Row buttons that read only the row's id (and the versioned delete, its version too).
ID_ONLY_ROW_ACTIONS = frozenset({EndpointLinkRowAction, ViewRowAction, ViewPopupRowAction,
                                 EditRowAction, EditPopupRowAction, DeleteRowAction,
                                 VersionedDeleteRowAction})
POLICY_FLAGS = ("can_create", "can_edit", "can_delete", "can_export", "can_view_details")


def _format_bool(view, value, name=None):
    return _l("はい") if value else _l("いいえ")


def _as_it_is(view, value, name=None):
    return value


def _format_enum(view, value, name=None):
    return value.label


def _format_date(view, value, name=None):
    if isinstance(value, datetime):  # a datetime is a date too; the dict order is not enough
        return _format_datetime(view, value, name)
    return format_wareki_with_western(value)


def _format_datetime(view, value, name=None):
    return format_local_datetime(value)


def fiscal_year_text(fy) -> str:
    return f"{wareki_year_label(fy)}（{fy}年度）" if isinstance(fy, int) else ""


def _format_date_compact(view, value, name=None):
    if isinstance(value, datetime):
        return _format_datetime(view, value, name)
    return compact_date(value)


def type_formatters(compact: bool = False) -> dict:
    """Japanese display for every value type a list or details page can hold; in a list
    (``compact``) a date is 和暦 alone, its western form in the tooltip, so rows stay one line."""
    # Markup first: most list cells are a column formatter's Markup, which no type formatter
    # changes; Flask-Admin tries each type in order (two dozen isinstance calls per cell).
    formatters = {Markup: _as_it_is, **typefmt.BASE_FORMATTERS}
    formatters[bool] = _format_bool
    formatters[date] = _format_date_compact if compact else _format_date
    formatters[datetime] = _format_datetime
    for enum_cls in LabeledEnum.all_subclasses():
        formatters[enum_cls] = _format_enum
    return formatters


def _changed_columns(record, is_created: bool) -> list[str]:
    state = inspect(record)
    names = []
    for attr in state.mapper.column_attrs:
        if attr.key in ("created_at", "updated_at", "search_text", "version", "updated_by_id"):
            continue
        history = state.attrs[attr.key].history
        if history.has_changes() and (not is_created or history.added[0] not in (None, "")):
            names.append(attr.key)
    return names


def changed_field_names(model, is_created: bool) -> list[str]:
    """Names of the attributes a save changes (never their values), for the audit trail.

    Records edited inline with this one (a woman's companions) are named through it:
    ``companions.phone``, ``companions.deleted``.
    """
    state = inspect(model)
    names = _changed_columns(model, is_created)
    for rel in state.mapper.relationships:
        if state.attrs[rel.key].history.has_changes():
            names.append(rel.key)
        if rel.direction is ONETOMANY and rel.cascade.delete_orphan:
            for child in getattr(model, rel.key):
                child_state = inspect(child)
                if child in db.session.deleted:
                    names.append(f"{rel.key}.deleted")
                else:
                    names += [f"{rel.key}.{name}" for name in _changed_columns(
                        child, child_state.pending or child_state.transient)]
    return list(dict.fromkeys(names))


def unify_line_breaks(record) -> None:
    """A browser sends CRLF; text is kept with LF, so re-sending it unchanged changes nothing."""
    if resource_of(record) is None:
        return
    state = inspect(record)
    for column in text_columns(type(record)):
        history = state.attrs[column.key].history
        value = history.added[0] if history.added else None
        if isinstance(value, str) and "\r" in value:
            unified = value.replace("\r\n", "\n").replace("\r", "\n")
            stored = history.deleted[0] if history.deleted else None
            setattr(record, column.key, stored if unified == stored else unified)


def _required(relationship_attribute) -> bool:
    prop = relationship_attribute.property
    return prop.direction is MANYTOONE and all(not c.nullable for c in prop.local_columns)


def current_role():
    user = current_user._get_current_object()  # one look-up, not one per attribute
    return user.role if user.is_authenticated else None


def deny(name: str, resource: str):
    """Anonymous → the login page; logged in without the right → 403, audited."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    audit.record(AuditAction.denied, outcome=AuditOutcome.denied, object_type=resource,
                 detail=f"endpoint={name}")
    abort(403)


class VersionField(HiddenField):
    """The version of the record the form was drawn from (optimistic locking). It is compared on
    save (``validate_form``) and never written to the record by ``populate_obj``."""

    def populate_obj(self, obj, name):
        pass


def stale_message(model, record_id) -> str:
    last = versioning.last_save(model, record_id)
    who = str(last.user) if last.user is not None else _("他の利用者")
    when = format_local_datetime(last.at) if last.at is not None else "―"
    return _("保存できませんでした。この画面を開いた後に、%(who)s が %(when)s にこの記録を保存して"
             "います。あなたの入力内容は画面に残してあります。最新の内容（別の画面で開けます）と見比べ、"
             "必要なら直してから、もう一度保存してください。", who=who, when=when)


def stale_list_message(record) -> str:
    """A bulk action or a row's delete button on a list drawn before someone saved the row."""
    last = versioning.last_save(type(record), record.id)
    return _("何も変更していません。一覧を表示した後に、%(who)s が %(when)s に「%(record)s」を"
             "保存しています。一覧を開き直して確かめてから、もう一度操作してください。",
             who=str(last.user) if last.user is not None else _("他の利用者"),
             when=format_local_datetime(last.at) if last.at is not None else "―",
             record=str(record))


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

    # The same rails for custom screens as for the generated ones: every query of case content
    # starts scoped, every record is fetched scoped (404 otherwise) and audited, every list is
    # audited, and everything shown goes through masking.

    def scoped_select(self, resource: str | None = None):
        """``SELECT <model> WHERE <the user's scope>`` for a declared resource (default: this
        screen's). Add your own filters, order and options to it."""
        return scoping.scoped_select(resource or self.resource)

    def get_one_or_404(self, resource: str, record_id, record_read: bool = True):
        """The record of ``resource`` with that id, if the user may see it; otherwise a 404,
        the same for a missing and an out-of-scope id, recorded. A read of personal data is
        recorded too (unless the caller records its own event, ``record_read=False``).
        ``record_id`` may be the raw query-string value: anything that is not a plain id
        (「²」, 2^64, 「abc」) is a 404 as well."""
        value = scoping.parse_id(record_id)
        record = scoping.get_visible(resource, value) if value is not None else None
        if record is None:
            audit.record_not_found(resource, value)
            abort(404)
        if request.method == "GET" and record_read:
            audit.record_read(resource, value)
        return record

    def id_arg(self, name: str = "id") -> int:
        """A query-string id that must be a plain id (ASCII digits, in range), else 404."""
        value = scoping.parse_id(request.args.get(name, ""))
        if value is None:
            abort(404)
        return value

    def audit_list(self, resource: str, rows: int, total: int | None = None,
                   detail: str = "") -> None:
        """Record that the user saw a list of ``rows`` records of ``resource``."""
        audit.record_list(resource, rows, total, detail=detail)

    @staticmethod
    def shown(record, name: str):
        """Field ``name`` of ``record`` as the user may see it (住所秘匿 applied)."""
        return masking.shown(record, name)

    @staticmethod
    def masked(text):
        """Any text with the hidden addresses the user may not see replaced by the mask."""
        return masking.mask_free_text(text)


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
    # Flask-Admin's list with each row's version sent along with bulk actions.
    list_template = "admin/model/list_versioned.html"
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
        declared = resource_of(model)
        if declared is None:
            raise TypeError(f"{model.__name__} is not declared in policy/resources.py")
        if "resource" in type(self).__dict__:
            raise TypeError(f"{type(self).__name__} declares resource; it comes from the model's "
                            "declaration in policy/resources.py")
        self.resource = declared.name
        if self.column_type_formatters is None:
            self.column_type_formatters = type_formatters(compact=True)
            self.column_type_formatters_detail = type_formatters()
            self.column_type_formatters_export = type_formatters()
        self.column_choices = {**self._enum_choices(model), **(self.column_choices or {})}
        self.column_labels = {**COMMON_LABELS, **(self.column_labels or {})}
        if "fiscal_year" in model.__table__.columns:
            # 年度 reads 令和7年度（2025年度）wherever it is shown or chosen, never "2025".
            year = {"fiscal_year": lambda v, c, m, n: fiscal_year_text(m.fiscal_year)}
            self.column_formatters = {**year, **(self.column_formatters or {})}
            if self.column_formatters_detail is not None:
                self.column_formatters_detail = {**year, **self.column_formatters_detail}
            self.form_overrides = {"fiscal_year": FiscalYearField, **(self.form_overrides or {})}
        # Optimistic-locking bookkeeping is never a column, a details row or a form field.
        for option in ("column_exclude_list", "column_details_exclude_list",
                       "column_export_exclude_list", "form_excluded_columns"):
            setattr(self, option, [*(getattr(self, option, None) or ()), *BOOKKEEPING])
        super().__init__(model, session, **kwargs)
        self._refuse_oracles()

    def _refuse_oracles(self) -> None:
        """At start-up: a masked column may not be sorted or filtered on (the order or the count
        would spell the hidden text), and an address column may not be searched."""
        problems = []
        for entry in self.column_sortable_list or ():
            path = entry if isinstance(entry, str) else entry[1]
            if isinstance(path, str) and self._rule_of_path(path) in (FREE_TEXT, ADDRESS):
                problems.append(f"sorts by {path}")
        for flt in self.column_filters or ():
            column = flt if isinstance(flt, str) else getattr(flt, "column", None)
            key = column if isinstance(column, str) else getattr(column, "key", None)
            owner = getattr(column, "class_", self.model)
            declared = resource_of(owner) if isinstance(owner, type) else None
            if key and declared and declared.text_rule(key) in (FREE_TEXT, ADDRESS):
                problems.append(f"filters on {key}")
        for entry in self.column_searchable_list or ():
            if isinstance(entry, str) and self._rule_of_path(entry) == ADDRESS:
                problems.append(f"searches {entry}")
        if problems:
            raise TypeError(f"{type(self).__name__}: a masked column " + ", ".join(problems))

    def _rule_of_path(self, path: str):
        model, *relations, key = [self.model, *path.split(".")]
        for name in relations:
            model = getattr(model, name).property.mapper.class_
        declared = resource_of(model)
        return declared.text_rule(key) if declared is not None else None

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
        query_args.refuse_hostile(self, name)
        return super()._handle_view(name, **kwargs)

    @action("delete", admin_lazy_gettext("Delete"),
            admin_lazy_gettext("Are you sure you want to delete selected records?"))
    def action_delete(self, ids):
        """Each selected record another record refers to is refused, saying why; the rest are
        deleted by Flask-Admin. When none may go it is not called at all: it would announce
        「0件のレコードを削除しました。」 as a success. The ids arrive as strings (PostgreSQL
        refuses int = varchar) and go through the scoped query (``selected_records``)."""
        deletable = []
        for record in self.selected_records(ids):
            refused = self.deletion_refused(record)
            if refused:
                flash(refused, "error")
            else:
                deletable.append(inspect(record).identity[0])  # typed, not get_pk_value's str
        if deletable:
            super().action_delete(deletable)

    def get_delete_form(self):
        """Flask-Admin's delete form with Japanese labels: a post without an id is refused with
        「ID: この項目は必須です。」, where Flask-Admin names the field "Id"."""
        upstream = super().get_delete_form()
        return type("DeleteForm", (upstream,), {
            "id": HiddenField(_l("ID"), validators=[validators.InputRequired()]),
            "url": HiddenField(_l("戻り先"))})

    def handle_action(self, return_view=None):
        """A bulk action the role may not run is a 403 (audited), not a silent redirect."""
        name = request.form.get("action", "")
        if name not in self._actions_data or not self.is_action_allowed(name):
            return deny(f"action:{name}", self.resource)
        if versioning.is_versioned(self.model):
            records = self.selected_records(request.form.getlist("rowid"))
            try:
                versioning.check_all(records, versioning.versions_posted(
                    request.form.getlist("rowversion")))
            except versioning.StaleEdit as stale:
                record = next(r for r in records if r.id == stale.record_id)
                flash(stale_list_message(record), "error")
                return redirect(get_redirect_target() or self.get_url(".index_view"))
        return super().handle_action(return_view)

    def is_action_allowed(self, name):
        needed = self.action_permissions.get(name)
        return needed is not None and self.allows(needed) and super().is_action_allowed(name)

    @pass_context
    def row_actions_html(self, context, actions, row):
        """A row's action buttons. Flask-Admin renders them per row, the delete button as a
        WTForms form with its CSRF field: about half of a 50-row list's time. Buttons that
        differ only by the id are rendered once per request (the same macros, the same CSRF
        token) and each row gets that markup with its own id (digits) filled in."""
        row_id = str(self.get_pk_value(row))
        if not (row_id.isascii() and row_id.isdigit()) or any(
                type(action) not in ID_ONLY_ROW_ACTIONS for action in actions):
            return Markup("").join(action.render_ctx(context, row_id, row) for action in actions)
        cache = g.setdefault("row_actions_html", {})
        key = tuple(map(id, actions))
        if key not in cache:
            placeholder = _Placeholder()
            cache[key] = str(Markup("").join(
                action.render_ctx(context, ROW_ID_PLACEHOLDER, placeholder) for action in actions))
        # The fragment is Flask-Admin's own escaped markup; the id and version are integers.
        markup = cache[key].replace(ROW_ID_PLACEHOLDER, row_id)
        if ROW_VERSION_PLACEHOLDER in markup:
            markup = markup.replace(ROW_VERSION_PLACEHOLDER, str(int(row.version)))
        return Markup(markup)  # nosec B704

    @pass_context
    def list_row_html(self, context, row, actions, row_actions, columns, select_label):
        """A whole row of a list without inline-editable columns, as Flask-Admin's ``list_row``
        block draws it (bulk-action checkbox with the row's version, buttons, cells), built in
        Python: the block's per-row template calls cost more than most cells."""
        row_id = escape(self.get_pk_value(row))
        parts = []
        if actions:
            parts.append(html('<td><input type="checkbox" name="rowid" class="action-checkbox" '
                              'value="{}" title="{}" /><input type="hidden" form="action_form" '
                              'name="rowversion" value="{}:{}"></td>',
                              row_id, select_label, row_id, row.version))
        if self.column_display_actions:
            parts.append(html('<td class="list-buttons-column">{}</td>',
                              self.row_actions_html(context, row_actions, row)))
        parts.append(self.list_cells_html(context, row, columns))
        return Markup("").join(parts)

    @pass_context
    def list_cells_html(self, context, row, columns):
        """A row's cells, each value through the masking choke point (``_shown_value``) and
        escaped as the template would: Flask-Admin's per-cell template block costs more than
        most cells. Only for lists without inline-editable columns."""
        reader = masking.request_reader()
        formatters, type_formatters = self.column_formatters, self.column_type_formatters
        cells = "".join([
            f"{_cell_start(name)}"
            f"{safe(self._shown_value(reader, context, row, name, formatters, type_formatters))}"
            "</td>" for name, _label in columns])
        return Markup(cells)  # nosec B704  # each name and value escaped (Markup as it is)

    # Flask-Admin joins the relations named in column_list (column_auto_select_related); these
    # are further loader options a page needs so that rows do not query one by one.
    list_query_options: tuple = ()
    # Searching by a woman's name through the gram index: the model attribute holding her id.
    name_search_column: str | None = None
    search_placeholder_text = None

    # When set, an existing record's form offers only these columns (history stays as decided).
    form_edit_columns: tuple | None = None

    def get_query(self):
        return scoping.scope(super().get_query().options(*self.list_query_options), self.resource,
                             listing=True)

    def get_edit_form(self):
        """The edit form, with the record's version carried in a hidden field."""
        if not self.form_edit_columns:
            form_class = super().get_edit_form()
        else:
            declared = self.form_columns
            self.form_columns = self.form_edit_columns
            try:
                form_class = self.scaffold_form()
            finally:
                self.form_columns = declared
        if versioning.is_versioned(self.model):
            form_class = type(form_class.__name__, (form_class,), {"version_token": VersionField()})
        return form_class

    def validate_form(self, form):
        """A save drawn from an older version of the record is refused (nothing is written), with
        who saved in between and when; the form keeps what was typed and now carries the current
        version, so saving again is a deliberate choice."""
        valid = super().validate_form(form)
        token, obj = getattr(form, "version_token", None), getattr(form, "_obj", None)
        if token is None or obj is None or not is_form_submitted():
            return valid
        try:
            versioning.check(obj, token.data)
        except versioning.StaleEdit:
            flash(stale_message(type(obj), obj.id), "error")
            token.data = str(obj.version)
            return False
        return valid

    def selected_records(self, ids) -> list:
        """The records a bulk action names, through the scoped query (ids arrive as strings)."""
        pk = self.model.__mapper__.primary_key[0]
        try:
            typed = [pk.type.python_type(value) for value in ids]
        except (TypeError, ValueError):
            abort(404)
        return self.get_query().filter(pk.in_(typed)).all() if typed else []

    def get_list_row_actions(self):
        """A versioned row's delete button carries the version the list showed."""
        actions = super().get_list_row_actions()
        if not versioning.is_versioned(self.model):
            return actions
        return [VersionedDeleteRowAction() if isinstance(a, DeleteRowAction) else a
                for a in actions]

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        """The list's order ends with the id, in the sort's direction: rows with equal sort keys
        keep one order on every page, and an export of "this list" (list_as_shown) has exactly
        the order the list shows, whatever order the database would give ties."""
        query, joins = super()._apply_sorting(query, joins, sort_column, sort_desc)
        if sort_column is None:
            default = list(self._get_default_order())
            sort_desc = bool(default and default[-1][2])
        pk = self.model.__mapper__.primary_key[0]
        return query.order_by(pk.desc() if sort_desc else pk), joins

    def _order_by(self, query, joins, sort_joins, sort_field, sort_desc):
        """Sort through a required many-to-one (a case's woman) with an inner join: the same
        rows, but the database can then walk the sort column's index instead of sorting all.
        Ties go by the joined record's id first (then ours, ``_apply_sorting``): the order an
        index on the sort column already has, so SQLite needs no temporary B-tree."""
        if sort_field is None or not sort_joins or not all(map(_required, sort_joins)):
            return super()._order_by(query, joins, sort_joins, sort_field, sort_desc)
        query, joins, alias = self._apply_path_joins(query, joins, sort_joins, inner_join=True)
        joined = sort_field.class_ if alias is None else alias
        column = getattr(joined, sort_field.key)
        tie = getattr(joined, inspect(sort_field.class_).primary_key[0].key)
        return query.order_by(*((column.desc(), tie.desc()) if sort_desc else (column, tie))
                              ), joins

    def get_count_query(self):
        """count(*), not Flask-Admin's count(?) with a bound '*', which SQLite runs far slower;
        none when get_list already knows the count (Flask-Admin then counts nothing)."""
        if g.get("whole_count") is not None:
            return None
        return scoping.scope(db.session.query(func.count()).select_from(self.model), self.resource,
                             listing=True)

    def list_url(self, *conditions) -> str:
        """This list filtered by ``(filter, value)`` pairs — a filter object of
        ``column_filters``, or a column name for the "equals" filter Flask-Admin built for it —
        the way the filter bar itself would link it (the home page's figures link here)."""
        args = {}
        for position, (wanted, value) in enumerate(conditions):
            index = next(i for i, flt in enumerate(self._filters) if flt is wanted or (
                isinstance(wanted, str) and isinstance(flt, FilterEqual)
                and getattr(flt.column, "key", None) == wanted))
            args[f"flt{position}_{self.get_filter_arg(index, self._filters[index])}"] = value
        return url_for(f"{self.endpoint}.index_view", **args)

    def _get_filter_groups(self):
        """Options that come from the database (agencies, 年度) are read per request, once per
        source (the 主担当機関 and 主たる支援機関 filters offer the same agencies). The rest
        (labels, operations, the choices of a status) is the same on every request of this
        app, whose catalog is fixed: translated once and kept (a view belongs to one app)."""
        if "_fixed_filter_groups" not in self.__dict__:
            self._fixed_filter_groups = super()._get_filter_groups()
        read = {}
        groups = {}
        for label, items in (self._fixed_filter_groups or {}).items():
            groups[label] = []
            for item in items:
                flt = self._filters[item["index"]]
                if callable(flt.options):
                    if flt.options not in read:
                        read[flt.options] = [(str(k), str(v))
                                             for k, v in flt.get_options(self)] or None
                    item = {**item, "options": read[flt.options]}
                groups[label].append(item)
        return groups or None

    def search_placeholder(self):
        """「場所・議題で検索」: the labels joined the Japanese way (Flask-Admin joins with ", ")."""
        if self.search_placeholder_text is not None:
            return str(self.search_placeholder_text)
        if not self.column_searchable_list:
            return None
        labels = [str(self.column_labels.get(getattr(c, "key", c), getattr(c, "key", c)))
                  for c in self.column_searchable_list]
        return _("%(fields)sで検索", fields="・".join(labels))

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Private Flask-Admin hook, overridden for two reasons: a woman's name goes through the
        gram index (not LIKE over every row), and for readers who see masks a free-text column
        is searched in its masked form, so the count never tells whether a hidden address
        matched (a nonsense string and a hidden fragment find the same)."""
        terms = query_args.search_terms(search)
        if not terms:
            return query, count_query, joins, count_joins
        if self.name_search_column is not None:
            clause = self.search_clause(" ".join(terms))
        elif self._masked_search_columns() and not masking.may_see_hidden():
            ids = self._ids_matching_masked(terms)
            clause = self.model.id.in_(ids) if ids else false()
        else:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        return query.filter(clause), count_query.filter(clause), joins, count_joins

    def _masked_search_columns(self) -> list[str]:
        free = RESOURCES[self.resource].free_text
        return [field.key for field, path in (self._search_fields or ()) if field.key in free]

    def _ids_matching_masked(self, terms: list[str]) -> list[int]:
        """Rows (in scope) whose searchable text, as this reader sees it, holds every term.
        The database narrows the candidates with LIKE on the stored text; the masked text
        decides. Meant for the small tables with free-text search (会議), not the ledger."""
        fields = [field for field, _path in self._search_fields]
        free = set(self._masked_search_columns())
        query = self.get_query().with_entities(self.model.id, *fields)
        for term in terms:
            query = query.filter(or_(*(field.ilike(f"%{_escape_like(term)}%", escape="\\")
                                       for field in fields)))
        found = []
        for row_id, *values in query:
            shown = [(masking.mask_free_text(v) if f.key in free else v) or ""
                     for f, v in zip(fields, values, strict=True)]
            if all(any(term.casefold() in text.casefold() for text in shown) for term in terms):
                found.append(row_id)
        return found

    def search_clause(self, search: str):
        """Every space-separated term must match the woman's names (gram index, folded)."""
        column = getattr(self.model, self.name_search_column)
        return and_(*(name_matches(column, term) for term in search.split()))

    # Create forms opened from a case page start from it: form field → the resource whose id the
    # query string carries under the same name (``?case=12``). The record is fetched in scope.
    form_prefill: dict[str, str] = {}

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method != "GET":
            return form
        for name, resource in self.form_prefill.items():
            field = getattr(form, name, None)
            record_id = scoping.parse_id(request.args.get(name, ""))
            record = (scoping.get_visible(resource, record_id)
                      if field is not None and record_id is not None else None)
            if record is not None:
                field.data = record
                self.prefilled(form, name, record)
        return form

    def prefilled(self, form, name, record):
        """Hook: fill further fields from a record the form was opened for."""

    def on_model_change(self, form, model, is_created):
        """Every save: policy first (before anything can autoflush the form's changes away),
        then the view's own domain checks, then the model's rules.

        For every record the save touches (the record and those edited inline with it): a field
        the user sees masked keeps its stored value whatever was posted; CRLF is stored as LF;
        a 住所秘匿 checkbox files a request; free text that spells a hidden address is refused.
        """
        with db.session.no_autoflush:
            touched = [*db.session.new, *db.session.dirty]
            for record in touched:
                masking.keep_hidden_values(record)
                unify_line_breaks(record)
                if isinstance(record, AddressMixin):
                    masking.route_flag_edit(record)
            self._refuse_hidden_addresses(form, model, touched)
            g.audit_changed_fields = changed_field_names(model, is_created)
            if not is_created:
                g.saving_record = (type(model), model.id)
                if g.audit_changed_fields:  # a form saved unchanged leaves the version as it was
                    versioning.claim(model)
        self.check_change(model, is_created)
        problems = model.problems() if hasattr(model, "problems") else []
        if problems:
            raise ValidationError("".join(str(p) for p in problems))
        super().on_model_change(form, model, is_created)

    def _refuse_hidden_addresses(self, form, model, touched) -> None:
        """Refuse the save, naming each field that spells a hidden address; the form keeps
        what was typed so the person can replace the address with 「（秘匿住所）」."""
        messages = []
        for record in touched:
            for name in masking.text_problems(record):
                field = form._fields.get(name) if record is model else None
                label = field.label.text if field is not None else self._label(record, name)
                message = masking.refusal_message(label)
                if field is not None:
                    field.errors = [*field.errors, message]
                messages.append(message)
        if messages:
            form._errors = None  # WTForms caches form.errors; the page must show these
            raise ValidationError("".join(dict.fromkeys(messages)))

    def _label(self, record, name: str) -> str:
        declared = resource_of(record)
        prefix = f"{declared.label}の" if declared is not None and record is not None else ""
        return f"{prefix}{self.column_labels.get(name, name)}"

    def check_change(self, model, is_created):
        """Domain rules a view adds (the consent gate …); raise ValidationError to refuse."""

    def after_model_change(self, form, model, is_created):
        super().after_model_change(form, model, is_created)
        fields = g.pop("audit_changed_fields", [])
        if not fields and not is_created:
            return  # saved unchanged: nothing to record as a change
        audit.record(AuditAction.create if is_created else AuditAction.update,
                     object_type=self.resource, object_id=self.get_pk_value(model),
                     detail="fields=" + ",".join(fields))

    def on_model_delete(self, model):
        super().on_model_delete(model)
        audit.record(AuditAction.delete, object_type=self.resource,
                     object_id=self.get_pk_value(model), with_change=True)

    def delete_model(self, model):
        if versioning.is_versioned(model):
            g.saving_record = (type(model), model.id)
        if versioning.is_versioned(model) and request.endpoint == f"{self.endpoint}.delete_view":
            # The row's delete button says which version the list showed (a bulk action's
            # versions are checked in handle_action): a delete without one, or of a row saved
            # since, deletes nothing.
            if versioning.parse_version(request.form.get("version")) is None:
                flash(_("何も削除していません。どの時点の記録を削除するのかが分かりません。"
                        "一覧を開き直してから、もう一度操作してください。"), "error")
                return False
            try:
                versioning.check(model, request.form["version"])
            except versioning.StaleEdit:
                flash(stale_list_message(model), "error")
                return False
        refused = self.deletion_refused(model)
        if refused:
            flash(refused, "error")
            return False
        return super().delete_model(model)

    def deletion_refused(self, model) -> str | None:
        """Why ``model`` may not be deleted (other records refer to it, counted), or None."""
        blocking = dependents(model)
        if not blocking:
            return None
        what = "、".join(f"{label}（{count}件）" for label, count in blocking)
        return _("この記録は他の記録から参照されているため削除できません: %(what)s", what=what)

    def handle_view_exception(self, exc):
        if isinstance(exc, StaleDataError | versioning.StaleEdit) and "saving_record" in g:
            # Two saves raced past validate_form; the database let only the first one through.
            db.session.rollback()
            flash(stale_message(*g.pop("saving_record")), "error")
            return True
        if isinstance(exc, IntegrityError):
            flash(_("同じ内容の記録が既にあるか、関連する記録と矛盾するため保存できませんでした。"),
                  "error")
            return True
        return super().handle_view_exception(exc)

    def get_one(self, id):
        """Through get_query, so row scoping holds here too; a missing id is a plain 404."""
        pk = self.model.__mapper__.primary_key[0]
        value = scoping.parse_id(id)
        record = (self.get_query().filter(pk == value).one_or_none()
                  if value is not None else None)
        if record is None:
            # Missing, out of scope or no id at all: the same 404, recorded, revealing nothing.
            audit.record_not_found(self.resource, value)
            abort(404)
        if request.method == "GET":
            audit.record_read(self.resource, value)
        return record

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        """Flask-Admin's list, plus: the whole scope's count when the policy knows it without
        counting (no search, no filter: ``scoping.whole_count``), the rows chosen by id first
        (``_page_rows``), and the audit row of what was shown."""
        known = None if (search or filters) else scoping.whole_count(self.resource)
        g.whole_count = known  # get_count_query: no count statement then
        try:
            count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                           execute=False, page_size=page_size)
        finally:
            g.pop("whole_count", None)
        if known is not None:
            count = known
        if execute:
            rows = self._page_rows(rows, sort_column, sort_desc, page_size)
        if execute and RESOURCES[self.resource].personal:
            exporting = (request.endpoint or "").endswith(".export")
            audit.record_list(self.resource, len(rows), count, export_format=(
                request.view_args.get("export_type", "") if exporting else ""))
        return count, rows

    def _page_rows(self, query, sort_column, sort_desc, page_size):
        """The page's rows, chosen first by id: ``query`` (scoped, searched, filtered, sorted,
        one page) picks the ids, and only those rows are read whole with what they show.

        The database then sorts ids, not whole rows with their women joined: an agency user's
        page sorted 5,104 joined rows (SQLite 38 ms) where it now sorts 5,104 ids and reads 50
        rows (8 ms), and a far page skips ids in a covering index. One statement still: the ids
        are a subquery. The rows' statement repeats neither the scope nor the search (the ids
        already passed them; repeated, SQLite drove the read from them again); it sorts the
        page's rows as the ids were sorted."""
        if not (self.page_size if page_size is None else page_size):
            return query.all()
        pk = self.model.__mapper__.primary_key[0]
        rows = super().get_query().options(*self.list_query_options)
        for relation in self._auto_joins:
            rows = rows.options(joinedload(relation))
        rows, _joins = self._apply_sorting(rows.filter(pk.in_(query.with_entities(pk).statement)),
                                           {}, sort_column, sort_desc)
        return rows.all()

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
        """Flask-Admin's cell value, through the choke point."""
        return self._shown_value(masking.request_reader(), context, model, name,
                                 column_formatters, column_type_formatters)

    def _shown_value(self, reader, context, model, name, column_formatters,
                     column_type_formatters):
        """One choke point for list, details and export cells: 住所秘匿 is masked here, for
        ``reader`` (the signed-in user's, asked once per row of a list)."""
        if reader.hides_field(model, name):
            return masking.MASK
        value = super()._get_list_value(context, model, name, column_formatters,
                                        column_type_formatters)
        value = reader.value(model, name, value)
        if context is None and isinstance(value, Markup):
            # Export: a cell a list shows as HTML becomes its text in the CSV.
            value = value.replace(Markup("<br>"), " ").striptags()
        return value

    def get_export_value(self, model, name):
        """A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) is neutralised."""
        return neutralise(super().get_export_value(model, name))

    # Private Flask-Admin hook: the CSV writer itself; wrapped for the BOM and the file name.
    def _export_csv(self, return_url):
        """CSV that Excel on a Japanese PC opens without mojibake: UTF-8 with a BOM, and a
        Japanese file name (Flask-Admin's secure_filename would strip it to nothing)."""
        response = super()._export_csv(return_url)
        response.response = chain(["\ufeff"], response.response)
        response.mimetype = "text/csv"
        response.charset = "utf-8"
        response.headers["Content-Disposition"] = content_disposition(self.get_export_name("csv"))
        return response

    def get_export_name(self, export_type="csv"):
        """The screen's Japanese name and today's date in Japan: ケース進行管理台帳_20261128.csv."""
        return f"{self.name}_{datetime.now(JST):%Y%m%d}.{export_type}"

    def edit_form(self, obj=None):
        """Fields the user sees masked are shown as text, not inputs (hidden_fields.py). A
        freshly drawn form carries the record's version."""
        form = super().edit_form(obj)
        token = getattr(form, "version_token", None)
        if token is not None and obj is not None and not is_form_submitted():
            token.data = str(obj.version)
        hidden_fields.show_hidden_as_text(form, obj)
        return form


@lru_cache(maxsize=512)
def _cell_start(column: str) -> str:
    return f'<td class="col-{escape(column)}">'


class _Placeholder:
    """Stands for a row while its actions are rendered once: its version reads as the version
    placeholder, anything else (its key) as the id placeholder (those actions read nothing else
    of the row)."""

    def __getattr__(self, name):
        return ROW_VERSION_PLACEHOLDER if name == "version" else ROW_ID_PLACEHOLDER


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SecureView(PolicyMixin, BaseView):
    """Base of the custom (non-CRUD) screens: declare ``resource`` (a name in
    policy/resources.py, whose grants decide who reaches the screen) and use the helpers of
    PolicyMixin for every query, record, list and value shown.

    Templates rendered with ``self.render`` get ``shown(record, field)`` and ``masked(text)``.
    """

    def __init__(self, *args, **kwargs):
        if self.resource not in RESOURCES:
            raise TypeError(f"{type(self).__name__}.resource {self.resource!r} is not declared "
                            "in policy/resources.py")
        super().__init__(*args, **kwargs)

    def render(self, template, **kwargs):
        kwargs.setdefault("shown", masking.shown)
        kwargs.setdefault("masked", masking.mask_free_text)
        return super().render(template, **kwargs)
