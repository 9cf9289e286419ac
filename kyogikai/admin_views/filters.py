"""List filters whose options come from the database at request time, with Japanese labels."""

from datetime import date

from flask import has_app_context
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from kyogikai.japanese.fiscal import fiscal_year, fiscal_year_range
from kyogikai.japanese.wareki import wareki_year_label
from kyogikai.models import Agency, Case, RoleAssignment, db
from kyogikai.models.cases import held_on_clause
from kyogikai.policy import scoping


def agency_options():
    if not has_app_context():
        return []  # Flask-Admin scaffolds filters at start-up; options are read per request
    rows = db.session.execute(select(Agency.id, Agency.name).order_by(Agency.name)).all()
    return [(str(agency_id), name) for agency_id, name in rows]


class AgencyFilter(FilterEqual):
    """Equality on an agency id column, chosen from the agencies' names."""

    def __init__(self, column, name):
        super().__init__(column, name, options=agency_options)

    def validate(self, value):
        return scoping.parse_id(value) is not None  # 「²」 passes str.isdigit but not int()

    def clean(self, value):
        return scoping.parse_id(value)


# The operation shown between a filter's name and its value: 「年度 ＝ 令和7年度」.
EQUALS = _l("＝")


def year_label(fy: int) -> str:
    """令和7年度（2025）: short enough for the filter's value box."""
    return f"{wareki_year_label(fy)}（{fy}）"


class FiscalYearFilter(BaseSQLAFilter):
    """年度 (April–March) on an indexed integer column, offered from ``first_year()`` (the oldest
    year among the records the user may see) to this one."""

    def __init__(self, column, name, first_year):
        self.first_year = first_year
        super().__init__(column, name, options=self.year_options)

    def year_options(self):
        if not has_app_context():
            return []
        current = fiscal_year(date.today())
        first = self.first_year() or current
        return [(str(fy), year_label(fy)) for fy in range(max(current, first), first - 1, -1)]

    def validate(self, value):
        return value.isascii() and value.isdigit() and len(value) == 4

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) == int(value))

    def operation(self):
        return EQUALS


class FiscalYearDateFilter(BaseSQLAFilter):
    """年度 of a date column (a meeting's date): from April 1 to March 31, on the date index."""

    def __init__(self, column, name, resource: str):
        self.resource = resource
        super().__init__(column, name, options=self.year_options)

    def year_options(self):
        """Next year's 年度 (meetings are planned ahead) back to the oldest the user may see."""
        if not has_app_context():
            return []
        following = fiscal_year(date.today()) + 1
        first = db.session.scalar(scoping.scope(select(func.min(self.column)), self.resource))
        first = fiscal_year(first) if first else following - 1
        return [(str(fy), year_label(fy)) for fy in range(following, first - 1, -1)]

    def validate(self, value):
        return value.isascii() and value.isdigit() and len(value) == 4

    def apply(self, query, value, alias=None):
        start, end = fiscal_year_range(int(value))
        return query.filter(self.get_column(alias).between(start, end))

    def operation(self):
        return EQUALS


class ConditionFilter(BaseSQLAFilter):
    """A named condition as a list filter with one choice, 「該当するもの」: what a figure on the
    home page counts, so that its link lists exactly those rows. ``clause(today)`` is the SQL,
    shared with the figure."""

    def __init__(self, column, name, clause):
        self.clause = clause
        super().__init__(column, name, options=(("1", _l("該当するもの")),))

    def validate(self, value):
        return value == "1"

    def apply(self, query, value, alias=None):
        return query.filter(self.clause(date.today()))

    def operation(self):
        return EQUALS


class RoleHolderFilter(AgencyFilter):
    """Cases whose role ``function`` an agency holds today (from the role history)."""

    def __init__(self, function, name):
        self.function = function
        super().__init__(Case.id, name)

    def apply(self, query, value, alias=None):
        holders = select(RoleAssignment.case_id).where(
            RoleAssignment.function == self.function, RoleAssignment.agency_id == int(value),
            held_on_clause(date.today()))
        return query.filter(Case.id.in_(holders))
