"""XlsxWriter in constant_memory mode, with what the 様式 need of it.

constant_memory writes each row out as soon as the next one starts, so memory stays flat however
long the ledger is (bench/README.md measures it against openpyxl). Two consequences shape this
module: rows are written strictly top to bottom, and a merge spanning several rows is registered
on its first row without the formatted blank cells ``merge_range`` would write below it (they
would push the first row out half-written); the builder writes those blanks itself when it
reaches each row (``Sheet.row``).

A long table (様式1: 36 cells a case) goes through ``Sheet.rows_xml`` instead: its rows are
rendered here as the very XML XlsxWriter writes for them, and handed to its row stream whole.
XlsxWriter's per-cell path (argument checks, a dict per row, attribute escaping per cell) cost
three quarters of a 10,000-case ledger; tests/test_xlsx_rows.py checks that both paths
write the same bytes.
"""

import math
import re
from datetime import date

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from kyogikai.exports.cells import neutralise
from kyogikai.japanese.wareki import format_wareki

FONT = "ＭＳ 明朝"  # what a Japanese office's Excel prints forms in; LibreOffice substitutes
LINE_POINTS = 12.0  # height of one line of 9 pt text
A4 = 9  # Excel's paper code


# What XlsxWriter does to text it writes inline (xmlwriter, worksheet._write_cell): Excel's
# _xHHHH_ escapes for control characters (and for text that looks like one), whitespace kept
# at either end, & < > escaped, at most 32,767 UTF-16 units.
_LOOKS_ESCAPED = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
STRING_MAX = 32767
COLUMN_NAMES = tuple(xl_col_to_name(col) for col in range(64))


def _utf16_truncated(text: str) -> str:
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > STRING_MAX:
            return text[:index]
    return text


def inline_text(text: str) -> str:
    """The ``<t>`` element of a text cell, exactly as XlsxWriter's constant_memory mode."""
    if len(text) > STRING_MAX // 2:
        text = _utf16_truncated(text)
    if "_x" in text:
        text = _LOOKS_ESCAPED.sub(r"_x005F\1", text)
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda match: f"_x{ord(match.group(1)):04X}_", text)
    if "\ufffe" in text or "\uffff" in text:
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<t{space}>{text}</t>"


class StreamingWorksheet(Worksheet):
    """XlsxWriter's worksheet (``add_worksheet(worksheet_class=…)``), taking ready-made rows.

    In constant_memory mode XlsxWriter writes each finished row to ``fh`` and keeps only the
    row in progress; ``write_rows_xml`` sends its own row out first (``_write_single_row``),
    appends the given rows and moves the stream past them, as writing their cells one by one
    would. Upstream names used here are fenced (kyogikai/admin_views/fence.py).
    """

    def __init__(self):
        super().__init__()
        self.merged_xml: list[str] = []
        self.merged_count = 0

    def row_xml(self, row: int, height: float, texts, styles) -> str:
        """``<row>`` with ``texts`` in columns 0, 1, … styled by the xf indices ``styles``
        (an empty text is a formatted blank); ``height`` in points, as ``set_row`` takes it."""
        number = row + 1
        pixels = int(height * 4.0 / 3.0 + 0.5)  # set_row → set_row_pixels
        if pixels == self.default_row_height == self.original_row_height:
            parts = [f'<row r="{number}">']
        else:
            parts = [f'<row r="{number}" ht="{pixels * 0.75:.16g}" customHeight="1">']
        for name, text, style in zip(COLUMN_NAMES, texts, styles, strict=False):
            if text:
                parts.append(f'<c r="{name}{number}" s="{style}" t="inlineStr"><is>'
                             f"{inline_text(neutralise(text))}</is></c>")
            else:
                parts.append(f'<c r="{name}{number}" s="{style}"/>')
        parts.append("</row>")
        return "".join(parts)

    def write_rows_xml(self, first_row: int, last_row: int, last_col: int, xml: str,
                       merges) -> None:
        """Rows ``first_row``…``last_row`` as ``xml`` (see ``row_xml``), and their merged
        areas ((first_row, first_col, last_row, last_col), none overlapping another)."""
        if not self.constant_memory or first_row < self.previous_row:
            raise ValueError("rows go out in order, in constant_memory mode only")
        self._write_single_row(first_row)
        self.fh.write(xml)
        self._check_dimensions(first_row, 0)
        self._check_dimensions(last_row, last_col)
        self.previous_row = last_row + 1
        # Kept as text: 70,000 small lists would be walked by every full garbage collection.
        self.merged_xml.append("".join(_merge_cell(*area) for area in merges))
        self.merged_count += len(merges)

    def _write_merge_cells(self) -> None:
        """``<mergeCells>`` as upstream writes it (its areas first, then ours), in one string."""
        if not self.merge and not self.merged_count:
            return
        self.fh.write(f'<mergeCells count="{len(self.merge) + self.merged_count}">'
                      + "".join(_merge_cell(*area) for area in self.merge)
                      + "".join(self.merged_xml) + "</mergeCells>")


def _merge_cell(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    return (f'<mergeCell ref="{COLUMN_NAMES[first_col]}{first_row + 1}:'
            f'{COLUMN_NAMES[last_col]}{last_row + 1}"/>')


def workbook(out) -> xlsxwriter.Workbook:
    """A workbook that streams rows, never turns text into formulas or links."""
    return xlsxwriter.Workbook(out, {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    })


def text_units(text: str) -> int:
    """Width in Excel's column units, near enough for row heights: an ASCII character takes one,
    any other (Japanese) two. Counted in C (encode), as it runs for every cell of a ledger."""
    return 2 * len(text) - len(text.encode("ascii", "ignore"))


def lines_needed(text: str, width: float) -> int:
    """How many lines ``text`` wraps to in a column ``width`` units wide."""
    if not text:
        return 1
    usable = max(width - 1.5, 1)
    if "\n" in text:
        return sum(max(1, math.ceil(text_units(part) / usable)) for part in text.split("\n"))
    if 2 * len(text) <= usable:  # fits even if every character is wide: no need to count
        return 1
    return max(1, math.ceil(text_units(text) / usable))


class Sheet:
    """One worksheet written top to bottom; vertical merges fill themselves in."""

    def __init__(self, book: xlsxwriter.Workbook, name: str, widths: list[float]):
        self.book = book
        self.ws = book.add_worksheet(name, worksheet_class=StreamingWorksheet)
        self.widths = widths
        self.next_row = 0
        # column → (last row of a merge covering it, format of its blank cells)
        self._merged_below: dict[int, tuple[int, object]] = {}
        for col, width in enumerate(widths):
            self.ws.set_column(col, col, width)

    def format(self, **props):
        return self.book.add_format({"font_name": FONT, "font_size": 9, **props})

    def row(self, height: float | None = None) -> int:
        """Start the next row; cells a merge from above covers get their formatted blanks."""
        row = self.next_row
        self.next_row += 1
        if height is not None:
            self.ws.set_row(row, height)
        for col, (last_row, fmt) in list(self._merged_below.items()):
            self.ws.write_blank(row, col, None, fmt)
            if row >= last_row:
                del self._merged_below[col]
        return row

    def skip(self, rows: int = 1) -> None:
        for _ in range(rows):
            self.row()

    def rows_xml(self, rows, formats, merges=()) -> None:
        """The next rows in one go, for long tables: (height, texts) each, texts from column 0
        on, in ``formats`` (one per column); ``merges`` as (first row, first col, last row,
        last col), rows counted from the first of these (0)."""
        if self._merged_below:
            raise ValueError("a merge from above is still open")
        first = self.next_row
        ws = self.ws
        styles = [fmt._get_xf_index() for fmt in formats]  # numbered on first use, in order
        xml = "".join(ws.row_xml(first + i, height, texts, styles)
                      for i, (height, texts) in enumerate(rows))
        self.next_row += len(rows)
        ws.write_rows_xml(first, self.next_row - 1, len(formats) - 1, xml,
                          [(first + r0, c0, first + r1, c1) for r0, c0, r1, c1 in merges])

    def cell(self, row: int, col: int, value, fmt=None) -> None:
        """Text is written as text (neutralised), numbers as numbers, dates in 和暦."""
        if isinstance(value, date):
            value = format_wareki(value)
        if value is None or value == "":
            self.ws.write_blank(row, col, None, fmt)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            self.ws.write_string(row, col, neutralise(str(value)), fmt)
        else:
            self.ws.write_number(row, col, value, fmt)

    def merge(self, row: int, first_col: int, last_col: int, value, fmt, rows: int = 1) -> None:
        """A merged area starting on the current row, ``rows`` tall and first_col..last_col wide.

        Registered with no format, so ``merge_range`` writes no blanks itself (a blank without a
        format is no cell); the top-left value and the blanks of this row are written here, and
        those of the rows below by ``row()`` as it reaches them.
        """
        last_row = row + rows - 1
        if (first_col, last_row) != (last_col, row):
            self.ws.merge_range(row, first_col, last_row, last_col, "", None)
        self.cell(row, first_col, value, fmt)
        for col in range(first_col + 1, last_col + 1):
            self.ws.write_blank(row, col, None, fmt)
        if rows > 1:
            for col in range(first_col, last_col + 1):
                self._merged_below[col] = (last_row, fmt)

    def page_setup(self, *, landscape: bool, header: str = "", footer: str = "&C&P / &N",
                   repeat: tuple[int, int] | None = None) -> None:
        """A4, fit to the page width (as many pages tall as needed), print titles repeated."""
        ws = self.ws
        ws.set_paper(A4)
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.75, bottom=0.6)
        if header:
            ws.set_header(header, {"margin": 0.3})
        ws.set_footer(footer, {"margin": 0.3})
        if repeat is not None:
            ws.repeat_rows(*repeat)
