"""List filters whose options come from the database at request time, with Japanese labels."""

from datetime import date

from flask import has_app_context
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from kyogikai.japanese.fiscal import fiscal_year
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


class FiscalYearFilter(BaseSQLAFilter):
    """年度 (April–March) on an indexed integer column, offered from the oldest year among the
    records the user may see to this one (an agency user is not told of older years)."""

    def __init__(self, column, name, first_year_column, resource: str):
        self.first_year_column = first_year_column
        self.resource = resource
        super().__init__(column, name, options=self.year_options)

    def year_options(self):
        if not has_app_context():
            return []
        current = fiscal_year(date.today())
        first = db.session.scalar(scoping.scope(select(func.min(self.first_year_column)),
                                                self.resource)) or current
        return [(str(fy), wareki_year_label(fy) + f"（{fy}年度）")
                for fy in range(max(current, first), first - 1, -1)]

    def validate(self, value):
        return value.isascii() and value.isdigit() and len(value) == 4

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) == int(value))

    def operation(self):
        return _l("が")


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
