"""様式の出力: 様式1/2/3 of a whole 年度 as Excel or PDF, and the computed 様式3 shown first.

The ledger's own buttons (「様式1（Excel）」「様式1（PDF）」, admin_views/cases.py) export what the
ledger shows; this screen exports a 年度. Both go through exports.forms, which asks the matrix,
takes its rows from policy/ and audits.
"""

from datetime import date

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from kyogikai.admin_views.base import SecureView, deny
from kyogikai.exports import form3 as form3_layout
from kyogikai.exports import forms as exports
from kyogikai.exports.document import ADDRESSEE
from kyogikai.japanese.fiscal import fiscal_year
from kyogikai.japanese.wareki import WarekiError, format_wareki, parse_date, wareki_year_label
from kyogikai.policy import forms as policy

FIRST_YEAR = 2021  # the 要綱 took effect on 令和3年4月1日
REFERENCE_DATES = (date(1868, 1, 25), date(2200, 12, 31))  # 明治元年 … as far as 年度 are offered


def send(made: exports.ExportFile) -> Response:
    """The file as a download with its Japanese name (RFC 5987)."""
    response = Response(made.data, mimetype=made.mimetype)
    response.headers["Content-Disposition"] = made.content_disposition
    return response


def reference_date_from(text: str | None) -> date:
    """The 様式1 age reference date typed on a screen (default today); WarekiError if unusable."""
    text = (text or "").strip()
    day = parse_date(text) if text else date.today()
    if not REFERENCE_DATES[0] <= day <= REFERENCE_DATES[1]:
        # 9999-12-31 is a date, but the ages and 年度 computed from it overflow.
        raise WarekiError(_("基準日は明治以降、2200年までの日付で入力してください"))
    return day


def pdf_notice(cases: int) -> str:
    """What the screen says before a long PDF, or "" when it is quick."""
    seconds = exports.pdf_seconds(cases)
    if cases > exports.MAX_PDF_CASES:
        return _("%(n)d件の PDF は作成に時間がかかりすぎるため、Excel 版を出力してください"
                 "（PDF は%(max)d件まで）。", n=cases, max=exports.MAX_PDF_CASES)
    if seconds > exports.WARN_SECONDS:
        return _("%(n)d件の PDF の作成には約%(s)d秒かかります。すぐに必要な場合は Excel 版を"
                 "出力してください。", n=cases, s=seconds)
    return ""


def export_or_back(make, back: str):
    """Run one export; a refusal the person can act on is a Japanese message, not an error page;
    a refusal by the matrix is the usual audited 403."""
    try:
        return send(make())
    except exports.ExportRefused as error:
        if error.denied:
            abort(403)  # exports.forms has audited the refusal
        flash(str(error), "error")
    except exports.PdfUnavailable as error:
        flash(str(error), "error")
    return redirect(back)


class OfficialFormsView(SecureView):
    """様式の出力 (報告書 menu)."""

    resource = "forms"

    def _year(self) -> int | None:
        """The 年度 asked for (default this one); None, with a message, when it is not one."""
        text = request.args.get("fiscal_year", "").strip()
        if not text:
            return fiscal_year(date.today())
        # Four digits at most: int() of 4,300 digits and more raises instead of answering.
        if len(text) <= 4 and text.isascii() and text.isdigit() and FIRST_YEAR <= int(text) <= 2200:
            return int(text)
        flash(_("年度を正しく選んでください。"), "error")
        return None

    def years(self) -> list[tuple[int, str]]:
        current = fiscal_year(date.today())
        return [(fy, f"{wareki_year_label(fy)}（{fy}年度）")
                for fy in range(current + 1, FIRST_YEAR - 1, -1)]

    @expose("/")
    def index(self):
        fy = self._year()
        if fy is None:
            return redirect(url_for(".index"))
        may = {form: policy.may_export(form, current_user) for form in policy.FORMS}
        cases = 0
        if may["form1"]:
            cases = policy.fiscal_year_cases(fy, current_user).order_by(None).count()
        plan = policy.business_plan(fy, current_user) if may["form2"] else None
        return self.render(
            "admin/official_forms.html", fiscal_year=fy, years=self.years(), may=may,
            may_preview=policy.may_preview_figures(current_user), cases=cases,
            pdf_notice=pdf_notice(cases), pdf_too_long=cases > exports.MAX_PDF_CASES,
            plan=plan, today=format_wareki(date.today()),
            period=exports.year_period(fy))

    def _back(self, fy: int | None) -> str:
        return url_for(".index", fiscal_year=fy) if fy else url_for(".index")

    @expose("/form1/")
    def form1(self):
        fy = self._year()
        if fy is None:
            return redirect(url_for(".index"))
        fmt = request.args.get("format", "")
        try:
            day = reference_date_from(request.args.get("reference_date"))
        except WarekiError as error:
            flash(_("年齢の基準日: %(error)s", error=str(error)), "error")
            return redirect(self._back(fy))
        if fmt == "pdf" and policy.may_export("form1", current_user):
            cases = policy.fiscal_year_cases(fy, current_user).order_by(None).count()
            if cases > exports.MAX_PDF_CASES:
                flash(pdf_notice(cases), "error")
                return redirect(self._back(fy))
        return export_or_back(lambda: exports.form1_year(
            fy, user=current_user, fmt=fmt, reference_date=day), self._back(fy))

    @expose("/form2/")
    def form2(self):
        fy = self._year()
        if fy is None:
            return redirect(url_for(".index"))
        return export_or_back(lambda: exports.form2(
            fy, user=current_user, fmt=request.args.get("format", "")), self._back(fy))

    @expose("/form3/")
    def form3(self):
        fy = self._year()
        if fy is None:
            return redirect(url_for(".index"))
        return export_or_back(lambda: exports.form3(
            fy, user=current_user, fmt=request.args.get("format", "")), self._back(fy))

    @expose("/form3/preview/")
    def form3_preview(self):
        """The computed 様式3, laid out exactly as the files print it, before any export."""
        if not policy.may_preview_figures(current_user):
            return deny("form3_preview", "annual_report")
        fy = self._year()
        if fy is None:
            return redirect(url_for(".index"))
        data = policy.form3_data(fy, current_user)
        return self.render("admin/form3_preview.html", fiscal_year=fy, years=self.years(),
                           doc=form3_layout.build(data), data=data, addressee=ADDRESSEE,
                           may_export=policy.may_export("form3", current_user),
                           kind=lambda block: type(block).__name__.lower())
