"""The fence: every private (underscore) name of Flask-Admin, its helpers and XlsxWriter this
project uses.

A private name can change in any release without notice. Each one the project overrides, calls
or reads is listed here with why, and the version it was checked against; tests/test_fence.py
fails when the installed version differs, when a listed name is gone upstream, when the code
uses a private upstream name not listed here, or when an entry is no longer used.

To add one: append a ``Private`` below (where it lives upstream, how we use it, why), and run
``pytest tests/test_fence.py``. After upgrading a fenced package, re-read each of its entries
against the new source, then update ``CHECKED_VERSIONS``.
"""

from typing import NamedTuple

# The releases whose source the entries below were read against.
CHECKED_VERSIONS = {
    "flask-admin": "2.2.1",
    "flask-babel": "4.0.0",
    "wtforms": "3.3.2",
    "xlsxwriter": "3.3.1",
}

# Upstream import name → the distribution whose version is checked.
PACKAGES = {"flask_admin": "flask-admin", "flask_babel": "flask-babel", "wtforms": "wtforms",
            "xlsxwriter": "xlsxwriter"}
# Where the code may touch a package's private names, when not everywhere: XlsxWriter only in
# the exports (its private names, _write, _text, …, are common words in other modules).
USED_IN = {"xlsxwriter": "kyogikai/exports/"}

OVERRIDE, CALL, READ, WRITE = "override", "call", "read", "write"


class Private(NamedTuple):
    """One private upstream name: ``where`` is "module:Class" (or "module" for a module-level
    object), ``name`` the attribute, ``use`` how we touch it, ``reason`` why no public API does."""

    where: str
    name: str
    use: str
    reason: str

    @property
    def package(self) -> str:
        return self.where.split(".", 1)[0].split(":", 1)[0]


SQLA_VIEW = "flask_admin.contrib.sqla.view:ModelView"
MODEL_BASE = "flask_admin.model.base:BaseModelView"
XLSX_SHEET = "xlsxwriter.worksheet:Worksheet"

PRIVATE_NAMES: tuple[Private, ...] = (
    Private("flask_admin.base:BaseView", "_handle_view", OVERRIDE,
            "the one gate before every endpoint: the role × action matrix decides, deny by "
            "default (is_accessible alone cannot tell which endpoint is asked)"),
    Private(MODEL_BASE, "_refresh_cache", OVERRIDE,
            "an empty enum cell shows a dash: the choices map it builds bypasses the formatters"),
    Private(MODEL_BASE, "_column_choices_map", READ,
            "adds the None → 「―」 entry to each enum column's display map"),
    Private(MODEL_BASE, "_get_filter_groups", OVERRIDE,
            "filter options read from the database per request (agencies, 年度), not once"),
    Private(MODEL_BASE, "_filters", READ,
            "the filter objects behind the groups, to ask each for its current options"),
    Private(MODEL_BASE, "_get_list_value", OVERRIDE,
            "the one choke point of list, details and export cells: 住所秘匿 is masked here"),
    Private(MODEL_BASE, "_export_csv", OVERRIDE,
            "CSV with a UTF-8 BOM so that Excel on a Japanese PC opens it without mojibake"),
    Private("flask_admin.actions:ActionsMixin", "_actions_data", READ,
            "an unknown or forbidden bulk action is a 403, not a silent redirect"),
    Private(SQLA_VIEW, "_order_by", OVERRIDE,
            "sort through a required many-to-one with an inner join, so the index is walked"),
    Private(SQLA_VIEW, "_apply_sorting", OVERRIDE,
            "the id as the last sort key, so ties keep one order and 様式1 of the list has the "
            "list's order (no public hook runs between sorting and paging)"),
    Private(SQLA_VIEW, "_auto_joins", READ,
            "the relations a list page joins, for the statement that reads a page's rows whole "
            "after its ids were chosen (get_list builds them into its one query only)"),
    Private(SQLA_VIEW, "_get_default_order", CALL,
            "the default sort's direction, which the id tiebreak follows"),
    Private(SQLA_VIEW, "_apply_path_joins", CALL,
            "builds that join the way Flask-Admin's own sorting does"),
    Private(SQLA_VIEW, "_apply_search", OVERRIDE,
            "name search through the gram index instead of LIKE over every row"),
    Private(SQLA_VIEW, "_search_fields", READ,
            "the searchable columns, so free text a reader sees masked is searched masked "
            "(the search-oracle rule of 住所秘匿)"),
    Private(MODEL_BASE, "_filter_args", READ,
            "filter keys of the view, so an unknown or hostile filter in the URL is a 400, "
            "not a 500"),
    Private(MODEL_BASE, "_get_list_extra_args", CALL,
            "the list's page, sort, search and filters from the request, read as the list and "
            "Flask-Admin's own CSV export read them, so 様式1 holds exactly the ledger as shown"),
    Private(MODEL_BASE, "_get_column_by_idx", CALL,
            "the sort column of that request, as the CSV export maps it"),
    Private(MODEL_BASE, "_form_ajax_refs", READ,
            "a picker served by ajax needs no scoped query_factory of its own"),
    Private("flask_admin.contrib.sqla.form:AdminModelConverter", "_model_select_field", OVERRIDE,
            "every dropdown's choices come from the scoped query (rows are data too)"),
    Private("flask_admin.contrib.sqla.form:AdminModelConverter", "_nullable_common", CALL,
            "the enum converter keeps Flask-Admin's Optional/InputRequired handling"),
    Private("wtforms.fields.simple:StringField", "_value", OVERRIDE,
            "a date field shows 和暦 and gives back exactly what was typed after an error"),
    Private("flask_admin.form:BaseForm", "_obj", WRITE,
            "the record being edited, which Flask-Admin's Unique validator compares against: our "
            "CSRF-protected form base keeps it as Flask-Admin's own BaseForm does"),
    Private("wtforms.form:BaseForm", "_fields", READ,
            "the fields by name of a form and of each inline companion form, to mask a hidden "
            "address in them"),
    Private("flask_babel:Domain", "_translation_directories", WRITE,
            "Flask-Admin's shipped ja catalog is stale: its domain reads ours only"),
    # exports/xlsx.py StreamingWorksheet: 様式1's rows go into the constant_memory row stream
    # whole (the per-cell API cost 3/4 of a 10,000-case ledger); tests/test_xlsx_rows.py checks
    # the bytes against the per-cell API. The plain attributes it also reads and writes
    # (constant_memory, fh, previous_row, merge, default_row_height, original_row_height) are
    # not underscored, so this list cannot hold them: re-read them too after an upgrade.
    Private(XLSX_SHEET, "_write_single_row", CALL,
            "sends XlsxWriter's own row in progress out before ours, as its writers do"),
    Private(XLSX_SHEET, "_check_dimensions", CALL,
            "the sheet's used range (<dimension>) grows over the rows written whole"),
    Private(XLSX_SHEET, "_write_merge_cells", OVERRIDE,
            "70,000 merged areas of a 10,000-case ledger written as one string, same XML"),
    Private("xlsxwriter.format:Format", "_get_xf_index", CALL,
            "the style number a cell refers to, assigned on first use as the cell writer does"),
)
