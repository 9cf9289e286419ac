"""XlsxWriter in constant_memory mode, with what the 様式 need of it.

constant_memory writes each row out as soon as the next one starts, so memory stays flat however
long the ledger is (bench/README.md measures it against openpyxl). Two consequences shape this
module: rows are written strictly top to bottom, and a merge spanning several rows is registered
on its first row without the formatted blank cells ``merge_range`` would write below it (they
would push the first row out half-written); the builder writes those blanks itself when it
reaches each row (``Sheet.row``).
"""

import math
from datetime import date

import xlsxwriter

from kyogikai.exports.cells import neutralise
from kyogikai.japanese.wareki import format_wareki

FONT = "ＭＳ 明朝"  # what a Japanese office's Excel prints forms in; LibreOffice substitutes
LINE_POINTS = 12.0  # height of one line of 9 pt text
A4 = 9  # Excel's paper code


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
    if "\n" not in text:
        return max(1, math.ceil(text_units(text) / usable))
    return sum(max(1, math.ceil(text_units(part) / usable)) for part in text.split("\n"))


class Sheet:
    """One worksheet written top to bottom; vertical merges fill themselves in."""

    def __init__(self, book: xlsxwriter.Workbook, name: str, widths: list[float]):
        self.book = book
        self.ws = book.add_worksheet(name)
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
