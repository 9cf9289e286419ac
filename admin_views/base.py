"""The one base every screen stands on: login, the access policy, Japanese display.

Entity views only declare (columns, labels, filters, ``resource``); this module asks policy/ on
every path — which endpoints a role may reach, which buttons and bulk actions it sees — so a new
screen cannot forget a rule. ``can_*`` flags are derived per request and may not be declared.
"""

from datetime import date, datetime

from flask import abort, has_request_context, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import Select2Field
from flask_admin.model import typefmt
from flask_admin.model.form import converts
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import validators

from admin_views.forms import BaseForm
from japanese.wareki import format_wareki_with_western
from models import AuditAction, AuditOutcome, LabeledEnum
from policy import audit
from policy.matrix import CREATE, DELETE, DETAILS, EDIT, EXPORT, LIST, allowed

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

POLICY_FLAGS = ("can_create", "can_edit", "can_delete", "can_export", "can_view_details")


def _format_bool(view, value, name=None):
    return _l("はい") if value else _l("いいえ")


def _format_enum(view, value, name=None):
    return value.label


def _format_date(view, value, name=None):
    return format_wareki_with_western(value)


def _format_datetime(view, value, name=None):
    return value.strftime("%Y-%m-%d %H:%M")


def type_formatters() -> dict:
    """Japanese display for every value type a list or details page can hold."""
    formatters = dict(typefmt.BASE_FORMATTERS)
    formatters[bool] = _format_bool
    formatters[date] = _format_date
    formatters[datetime] = _format_datetime
    for enum_cls in LabeledEnum.all_subclasses():
        formatters[enum_cls] = _format_enum
    return formatters


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


class LabeledEnumConverter(AdminModelConverter):
    """Select fields for LabeledEnum columns show the Japanese label, never the Python name."""

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
        field_args["coerce"] = lambda v: v.value if isinstance(v, LabeledEnum) else v
        return Select2Field(**field_args)


class SecureModelView(PolicyMixin, ModelView):
    """Base of every generated CRUD screen."""

    form_base_class = BaseForm
    model_form_converter = LabeledEnumConverter
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
        self.column_choices = {**self._enum_choices(model), **(self.column_choices or {})}
        super().__init__(model, session, **kwargs)

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

    def is_action_allowed(self, name):
        needed = self.action_permissions.get(name)
        return needed is not None and self.allows(needed) and super().is_action_allowed(name)

    def get_one(self, id):
        """Through get_query, so row scoping holds here too; a missing id is a plain 404."""
        pk = self.model.__mapper__.primary_key[0]
        try:
            value = pk.type.python_type(id)
        except (TypeError, ValueError):
            abort(404)
        record = self.get_query().filter(pk == value).one_or_none()
        if record is None:
            abort(404)
        return record


class SecureView(PolicyMixin, BaseView):
    """Base of the custom (non-CRUD) screens."""


class HomeView(PolicyMixin, AdminIndexView):
    resource = "dashboard"

    @expose("/")
    def index(self):
        return self.render("admin/home.html", today=date.today())
