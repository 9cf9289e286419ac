"""Opening an Excel file someone hands us, safely: refuse what is hostile before reading cells.

Checked from the zip directory and a streamed XML pass (defusedxml, no DTD at all) before
openpyxl loads anything: not an .xlsx, encrypted or old .xls, macros (.xlsm, vbaProject.bin),
embedded objects, external links, zip bombs (size and ratio), XML bombs (entities), rows beyond
a limit (a sheet of 50 MB of blank rows stops at the limit), formulas (a ledger is values), and
merged cells beyond a limit. Every refusal is a Japanese sentence saying what to do instead.
"""

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from posixpath import normpath

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 150  # uncompressed / compressed, per member; real sheets stay far below
MAX_MEMBERS = 2000
MAX_ROWS = 20_000  # rows per sheet, blank ones included
MAX_COLUMNS = 100
MAX_CELLS = 500_000  # per sheet: 20,000 rows of 25 filled columns
MAX_MERGED = 30_000
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and old .xls
ACTIVE_PARTS = ("vbaproject.bin", "xl/activex/", "xl/embeddings/", "xl/externallinks/",
                "xl/macrosheets/", "xl/dialogsheets/")
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


class WorkbookRefused(Exception):
    """The file is refused as a whole; the message is Japanese and says what to do."""


@dataclass
class Sheet:
    """One worksheet as values: ``rows[i][j]`` is Excel row i+1, column j+1 (None when empty)."""

    name: str
    rows: list[list]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_row, min_col, max_row, max_col

    def value(self, row: int, column: int):
        """1-based, as Excel numbers them."""
        if 1 <= row <= len(self.rows) and 1 <= column <= len(self.rows[row - 1]):
            return self.rows[row - 1][column - 1]
        return None

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


def cell_name(row: int, column: int) -> str:
    return f"{get_column_letter(column)}{row}"


def _check_members(archive: zipfile.ZipFile) -> list[str]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise WorkbookRefused(_("ファイルの構成要素が多すぎます。Excel で新しいブックに値だけを貼り付けて保存し直してください。"))
    names = [info.filename.lower() for info in infos]
    content_types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
    if "macroEnabled" in content_types or "vbaProject" in content_types \
            or any(name.endswith("vbaproject.bin") for name in names):
        raise WorkbookRefused(_("マクロを含むファイル（.xlsm など）は読み込めません。"
                              "Excel で「Excel ブック (*.xlsx)」として保存し直してください。"))
    for name in names:
        if name.startswith("/") or normpath(name).startswith(".."):
            raise WorkbookRefused(_("壊れたファイルです（不正なパスを含みます）。"))
        if any(part in name for part in ACTIVE_PARTS) or name.endswith(".bin"):
            raise WorkbookRefused(_(
                "埋め込みオブジェクトまたは外部リンクを含むファイルは読み込めません。"
                "Excel で値だけを新しいブックに貼り付け、「Excel ブック (*.xlsx)」として保存し直してください。"))
    return [info.filename for info in infos]


def _is_sheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


def _check_sizes(archive: zipfile.ZipFile) -> None:
    """After the sheets' row scan (which names the real problem of a sheet of blank rows)."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if not _is_sheet(info.filename) and info.file_size > 1024 * 1024 \
                and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise WorkbookRefused(_("展開すると極端に大きくなるファイルです（圧縮爆弾の疑い）。読み込みません。"))
    if total > MAX_UNCOMPRESSED_BYTES:
        raise WorkbookRefused(_("展開後のサイズが大きすぎます。不要な行・列・シートを削除して保存し直してください。"))


@dataclass
class _SheetScan:
    rows: int = 0
    formulas: list[str] = field(default_factory=list)
    merged: int = 0


def _scan_xml(archive: zipfile.ZipFile, name: str) -> _SheetScan:
    """Stream one part through defusedxml: no DTD, no entities; for sheets, count as we go."""
    scan = _SheetScan()
    is_sheet = _is_sheet(name)
    cells = 0
    try:
        with archive.open(name) as stream:
            for _event, element in iterparse(stream, events=("end",), forbid_dtd=True):
                if not is_sheet:
                    continue
                tag = element.tag
                if tag == f"{MAIN}row":
                    scan.rows += 1
                    if scan.rows > MAX_ROWS:
                        raise WorkbookRefused(_(
                            "シートの行数が多すぎます（空行を含めて%(max)s行まで）。"
                            "データのない行を削除して保存し直してください。", max=f"{MAX_ROWS:,}"))
                    element.clear()
                elif tag == f"{MAIN}c":
                    cells += 1
                    if cells > MAX_CELLS:
                        raise WorkbookRefused(_("シートのセルが多すぎます。不要な行・列を削除して保存し直してください。"))
                    if element.find(f"{MAIN}f") is not None and len(scan.formulas) < 5:
                        scan.formulas.append(element.get("r", "?"))
                    elif element.find(f"{MAIN}f") is not None:
                        scan.formulas.append("…")
                elif tag == f"{MAIN}mergeCell":
                    scan.merged += 1
                    if scan.merged > MAX_MERGED:
                        raise WorkbookRefused(_("結合セルが多すぎます。結合を解除して保存し直してください。"))
    except DefusedXmlException:
        raise WorkbookRefused(_("安全でない XML（DTD・実体宣言）を含むファイルです。読み込みません。")) from None
    except WorkbookRefused:
        raise
    except Exception:  # any parse failure of a part is a broken file
        raise WorkbookRefused(_("ファイルが壊れているため読み込めません。")) from None
    return scan


def open_workbook(data: bytes) -> list[Sheet]:
    """Every worksheet of an .xlsx as values, or WorkbookRefused with the reason."""
    if len(data) > MAX_FILE_BYTES:
        raise WorkbookRefused(_("ファイルが大きすぎます（%(mb)d MB まで）。",
                                mb=MAX_FILE_BYTES // (1024 * 1024)))
    if data.startswith(OLE_MAGIC):
        raise WorkbookRefused(_("パスワード付きのファイル、または古い形式（.xls）のファイルは読み込めません。"
                              "パスワードを外し、「Excel ブック (*.xlsx)」として保存し直してください。"))
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise WorkbookRefused(_("Excel ファイル（.xlsx）ではありません。"))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = _check_members(archive)
            formulas = []
            for name in filter(_is_sheet, names):
                formulas += _scan_xml(archive, name).formulas
            _check_sizes(archive)
            for name in names:
                if name.endswith((".xml", ".rels")) and not _is_sheet(name):
                    _scan_xml(archive, name)
    except WorkbookRefused:
        raise
    except Exception:  # a damaged archive: BadZipFile, KeyError, zlib.error, NotImplementedError
        # (compression method), RuntimeError (encrypted member), ValueError (offsets) …
        raise WorkbookRefused(_("Excel ファイル（.xlsx）ではないか、壊れています。")) from None
    if formulas:
        raise WorkbookRefused(_(
            "数式を含むセルがあります（%(cells)s）。台帳は値で取り込みます。すべて選択してコピーし、"
            "「値の貼り付け」で数式を値に変えてから保存し直してください。",
            cells="、".join(dict.fromkeys(formulas[:6]))))
    try:
        book = load_workbook(io.BytesIO(data), read_only=False, data_only=False,
                             keep_vba=False, keep_links=False, rich_text=False)
    except Exception:  # openpyxl raises many kinds for a malformed file
        raise WorkbookRefused(_("ファイルが壊れているため読み込めません。")) from None
    sheets = []
    for worksheet in book.worksheets:
        if worksheet.max_column > MAX_COLUMNS:
            raise WorkbookRefused(_("シート「%(name)s」の列が多すぎます（%(max)d列まで）。",
                                    name=worksheet.title, max=MAX_COLUMNS))
        rows = [[_plain(c.value) for c in row] for row in worksheet.iter_rows()]
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        merged = [(r.min_row, r.min_col, r.max_row, r.max_col)
                  for r in worksheet.merged_cells.ranges]
        sheets.append(Sheet(worksheet.title, rows, merged))
    book.close()
    return sheets


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain(value):
    """Cell values as Python plain values: text without control characters, dates as dates."""
    if isinstance(value, str):
        value = _CONTROL.sub("", value).strip()
        return value or None
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    return value
