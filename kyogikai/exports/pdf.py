"""PDF through WeasyPrint, from HTML templates in templates/exports, in Debian's IPAex fonts.

WeasyPrint needs Pango and the fonts from the system (scripts/bootstrap.sh installs them). When
either is missing, ``PdfUnavailable`` says so in Japanese instead of producing a PDF of empty
boxes; the screens then offer the xlsx.
"""

import shutil
import subprocess
from functools import cache
from pathlib import Path

from flask_babel import gettext as _
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kyogikai.japanese.wareki import format_wareki

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "exports"
FONT_FAMILY = "IPAexGothic"  # Debian fonts-ipaexfont; Noto CJK made each PDF ~20x slower


class PdfUnavailable(RuntimeError):
    """PDF output cannot run on this server; the message is for the screen."""


def _yen(value) -> str:
    return f"{value:,}" if isinstance(value, int) else ""


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["wareki"] = lambda d: format_wareki(d) if d else ""
    env.filters["yen"] = _yen
    env.globals["font_family"] = FONT_FAMILY
    return env


@cache
def font_installed() -> bool:
    fc_list = shutil.which("fc-list")  # fontconfig, which WeasyPrint finds fonts through
    if fc_list is None:
        return False
    listed = subprocess.run([fc_list, f":family={FONT_FAMILY}", "family"], check=False,
                            capture_output=True, text=True, timeout=30).stdout
    return FONT_FAMILY in listed


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: Pango's shared libraries are missing
        raise PdfUnavailable(_(
            "この環境では PDF を作成できません（PDF 作成用のライブラリが導入されていません）。"
            "Excel 版を出力してください。")) from error
    if not font_installed():
        raise PdfUnavailable(_(
            "この環境では PDF を作成できません（日本語フォントが導入されていません）。"
            "Excel 版を出力してください。"))
    return weasyprint


def available() -> bool:
    try:
        _weasyprint()
    except PdfUnavailable:
        return False
    return True


def render(template: str, out, **context) -> None:
    """Render ``template`` with ``context`` and write the PDF to ``out`` (path or binary file)."""
    weasyprint = _weasyprint()
    html = environment().get_template(template).render(**context)
    weasyprint.HTML(string=html, base_url=str(TEMPLATES)).write_pdf(out)


def write_html(html: str, out) -> None:
    """A page the app rendered itself, to PDF with the same engine and fonts (the meeting papers:
    the very page the browser prints)."""
    _weasyprint().HTML(string=html, base_url=str(TEMPLATES)).write_pdf(out)
