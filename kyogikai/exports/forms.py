"""One way to make a 様式 file, for the screens and the command line alike.

Each function asks the matrix first (policy.forms.may_export), takes its rows from policy/
(scoped and masked for the person it is made for), builds the file in memory and writes one
audit event with the row count and the filters used: never the search words, which may be a
woman's name.
"""

import gc
import io
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

from kyogikai.exports import form1 as form1_builder
from kyogikai.exports import form2 as form2_builder
from kyogikai.exports import form3 as form3_builder
from kyogikai.exports.cells import content_disposition
from kyogikai.exports.pdf import PdfUnavailable
from kyogikai.japanese.fiscal import fiscal_year_range
from kyogikai.japanese.wareki import format_wareki, wareki_year_label
from kyogikai.models import AuditAction, AuditOutcome
from kyogikai.policy import audit
from kyogikai.policy import forms as policy

MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
FORMATS = tuple(MIMETYPES)
NAMES = {"form1": "様式1_ケース進行管理台帳", "form2": "様式2_事業計画書",
         "form3": "様式3_実施状況報告書"}
# The audit log names the record kind each form is read from.
AUDIT_OBJECT = {"form1": "case", "form2": "business_plan", "form3": "annual_report"}

# 様式1 as PDF: WeasyPrint took 26.5 s of CPU for 1,000 cases (bench/forms.py, bench/README.md),
# rounded up here. Above WARN_SECONDS the screens say so before starting and offer the xlsx;
# above MAX_PDF_CASES (about a minute of work, which would hold a server worker that long) they
# offer only the xlsx.
PDF_SECONDS_PER_CASE = 0.03
WARN_SECONDS = 20
MAX_PDF_CASES = 2_000

__all__ = ["ExportFile", "ExportRefused", "FORMATS", "PdfUnavailable", "form1", "form1_year",
           "form2", "form3", "pdf_seconds", "filename"]


class ExportRefused(Exception):
    """The export was not made; the message is Japanese, for the screen or the terminal."""

    def __init__(self, message: str, denied: bool = False):
        super().__init__(message)
        self.denied = denied


@dataclass(frozen=True)
class ExportFile:
    filename: str
    mimetype: str
    data: bytes
    rows: int

    @property
    def content_disposition(self) -> str:
        return content_disposition(self.filename)


def pdf_seconds(cases: int) -> int:
    """About how long a 様式1 PDF of this many cases takes here."""
    return round(cases * PDF_SECONDS_PER_CASE)


def filename(form: str, fmt: str, fiscal_year: int | None, day: date | None = None) -> str:
    """様式1_ケース進行管理台帳_令和7年度.xlsx; a ledger export without a 年度 is named by date."""
    when = wareki_year_label(fiscal_year) if fiscal_year is not None else \
        format_wareki(day or date.today()) + "現在"
    return f"{NAMES[form]}_{when}.{fmt}"


@contextmanager
def _no_collections():
    """The garbage collector paused while a 様式1 xlsx is made: the export keeps batches of
    records alive while it writes, so the collector kept walking the whole application's
    objects (~170,000) to find nothing (~600 objects of garbage for 10,000 cases): 0.3–0.7 s
    of a 10,000-case ledger (bench/forms.py). Sync gunicorn workers serve one request at a
    time, so no other request waits on it; a collector already paused stays paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check(form: str, fmt: str, user, via: str) -> None:
    if fmt not in MIMETYPES:
        raise ExportRefused(_("出力形式は xlsx または pdf を指定してください。"))
    if not policy.may_export(form, user):
        audit.record(AuditAction.export, outcome=AuditOutcome.denied,
                     object_type=AUDIT_OBJECT[form], user_id=getattr(user, "id", None),
                     detail=f"form={form};format={fmt};via={via}")
        raise ExportRefused(_("この様式を出力する権限がありません。"), denied=True)


def _audit(form: str, fmt: str, user, rows: int, detail: str, via: str) -> None:
    audit.record(AuditAction.export, object_type=AUDIT_OBJECT[form],
                 user_id=getattr(user, "id", None),
                 detail=f"form={form};format={fmt};rows={rows};{detail};via={via}")


def form1(cases, *, user, fmt: str, fiscal_year: int | None, reference_date: date,
          period: str, filters: str = "", via: str = "ledger") -> ExportFile:
    """様式1 of ``cases``: a query the policy scoped (the ledger's own, with its filters, search
    and order). ``fiscal_year`` limits the 管理記録 to that 年度; ``filters`` describes for the
    audit what narrowed the list (names and codes, no search words)."""
    _check("form1", fmt, user, via)
    meta = form1_builder.Form1Meta(municipality=policy.municipality(), period=period,
                                   reference_date=reference_date, made_on=date.today())
    rows = policy.form1_rows(cases, user=user, fiscal_year=fiscal_year,
                             reference_date=reference_date)
    out = io.BytesIO()
    if fmt == "xlsx":
        with _no_collections():
            count = form1_builder.write_xlsx(rows, meta, out)
    else:
        count = form1_builder.write_pdf(rows, meta, out)
    _audit("form1", fmt, user, count,
           f"fiscal_year={fiscal_year or ''};reference_date={reference_date.isoformat()}"
           + (f";{filters}" if filters else ""), via)
    return ExportFile(filename("form1", fmt, fiscal_year), MIMETYPES[fmt], out.getvalue(), count)


def year_period(fy: int) -> str:
    start, end = fiscal_year_range(fy)
    return f"{wareki_year_label(fy)}（{format_wareki(start)}～{format_wareki(end)}）"


def form1_year(fy: int, *, user, fmt: str, reference_date: date | None = None,
               via: str = "reports") -> ExportFile:
    """様式1 of a whole 年度: every case under management in it that ``user`` may see."""
    _check("form1", fmt, user, via)
    return form1(policy.fiscal_year_cases(fy, user), user=user, fmt=fmt, fiscal_year=fy,
                 reference_date=reference_date or date.today(), period=year_period(fy),
                 filters="scope=fiscal_year", via=via)


def form2(fy: int, *, user, fmt: str, via: str = "reports") -> ExportFile:
    _check("form2", fmt, user, via)
    data = policy.form2_data(fy, user)
    if data is None:
        raise ExportRefused(_("%(year)sの事業計画書が登録されていません。先に「事業計画書（様式2）」"
                              "で入力してください。", year=wareki_year_label(fy)))
    out = io.BytesIO()
    (form2_builder.write_xlsx if fmt == "xlsx" else form2_builder.write_pdf)(data, out)
    _audit("form2", fmt, user, 1, f"fiscal_year={fy}", via)
    return ExportFile(filename("form2", fmt, fy), MIMETYPES[fmt], out.getvalue(), 1)


def form3(fy: int, *, user, fmt: str, via: str = "reports") -> ExportFile:
    _check("form3", fmt, user, via)
    data = policy.form3_data(fy, user)
    out = io.BytesIO()
    (form3_builder.write_xlsx if fmt == "xlsx" else form3_builder.write_pdf)(data, out)
    _audit("form3", fmt, user, data.figures.women,
           f"fiscal_year={fy};report={'yes' if data.report_exists else 'no'}", via)
    return ExportFile(filename("form3", fmt, fy), MIMETYPES[fmt], out.getvalue(),
                      data.figures.women)
