"""様式2 and 様式3 are letters to the 厚生労働省子ども家庭局長: a date, the addressee, the
自治体名, a title and numbered parts holding text and small tables. One ``Document`` describes such
a letter; ``write_xlsx`` and ``write_pdf`` print it, so the two files always say the same."""

from dataclasses import dataclass, field

from kyogikai.exports import pdf
from kyogikai.exports.xlsx import LINE_POINTS, Sheet, lines_needed, workbook

ADDRESSEE = "厚生労働省子ども家庭局長"


@dataclass(frozen=True)
class Heading:
    number: str  # "1", "(1)"
    text: str
    level: int  # 1 for 1, 2, 3; 2 for (1)…(7)


@dataclass(frozen=True)
class Caption:
    """A short bold line inside a part: 構成員, 取組内容, 年齢（…現在）."""

    text: str


@dataclass(frozen=True)
class Text:
    text: str

    @property
    def shown(self) -> str:
        """An empty part says so rather than leaving a gap the reader must interpret."""
        return self.text or "（記載なし）"


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple, ...]
    numeric: tuple[int, ...] = ()  # columns right-aligned as numbers
    total: tuple | None = None  # a closing 合計 row


@dataclass
class Document:
    form_label: str  # (別紙様式2)
    dated: str  # 令和7年4月1日
    municipality: str
    title: str
    sheet_name: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> "Document":
        self.blocks.extend(blocks)
        return self


# --------------------------------------------------------------------------- xlsx

# A: part number (1, 2, 3), B: item number ((1)…), C–F: text and tables.
WIDTHS = [4, 5, 30, 14, 14, 22]
CONTENT_FIRST, LAST = 2, len(WIDTHS) - 1


def write_xlsx(doc: Document, out) -> None:
    book = workbook(out)
    sheet = Sheet(book, doc.sheet_name, WIDTHS)
    f = _formats(sheet)

    sheet.cell(sheet.row(), 0, doc.form_label, f["plain"])
    r = sheet.row()
    sheet.merge(r, 3, LAST, doc.dated, f["right"])
    sheet.skip()
    sheet.merge(sheet.row(), 0, 3, ADDRESSEE, f["plain"])
    sheet.skip()
    sheet.merge(sheet.row(), 3, LAST, doc.municipality, f["right"])
    sheet.skip()
    height = lines_needed(doc.title, sum(WIDTHS) / 1.25) * 16 + 4
    sheet.merge(sheet.row(height), 0, LAST, doc.title, f["title"])
    sheet.skip()
    for block in doc.blocks:
        _write_block(sheet, block, f)
    sheet.page_setup(landscape=False)
    book.close()


def _text_width(first_col: int) -> float:
    return sum(WIDTHS[first_col:])


def _write_block(sheet: Sheet, block, f: dict) -> None:
    if isinstance(block, Heading):
        number_col = 0 if block.level == 1 else 1
        r = sheet.row(lines_needed(block.text, _text_width(number_col + 1)) * LINE_POINTS + 4)
        sheet.cell(r, number_col, block.number, f["heading"])
        sheet.merge(r, number_col + 1, LAST, block.text, f["heading"])
    elif isinstance(block, Caption):
        sheet.merge(sheet.row(), CONTENT_FIRST, LAST, block.text, f["caption"])
    elif isinstance(block, Text):
        text = block.shown
        lines = lines_needed(text, _text_width(CONTENT_FIRST))
        sheet.merge(sheet.row(min(409.0, lines * LINE_POINTS + 4)), CONTENT_FIRST, LAST, text,
                    f["text"])
    elif isinstance(block, Table):
        _write_grid(sheet, block, f)
        sheet.skip()


def _write_grid(sheet: Sheet, table: Table, f: dict) -> None:
    """Columns from C; the last one stretches to F when the table has fewer than four."""
    spans = _spans(len(table.headers))
    _table_row(sheet, table.headers, spans, lambda i: f["head"])
    for row in table.rows:
        _table_row(sheet, row, spans, lambda i: f["number"] if i in table.numeric else f["cell"])
    if table.total is not None:
        _table_row(sheet, table.total, spans,
                   lambda i: f["total_number"] if i in table.numeric else f["total"])


def _spans(n: int) -> list[tuple[int, int]]:
    cols = [(CONTENT_FIRST + i, CONTENT_FIRST + i) for i in range(n)]
    cols[-1] = (cols[-1][0], LAST)
    return cols


def _table_row(sheet: Sheet, values, spans, fmt_for) -> None:
    lines = max(lines_needed(str(v), sum(WIDTHS[a:b + 1])) for v, (a, b) in zip(
        values, spans, strict=True))
    r = sheet.row(min(409.0, lines * LINE_POINTS + 4))
    for i, (value, (first, last)) in enumerate(zip(values, spans, strict=True)):
        sheet.merge(r, first, last, value, fmt_for(i))


def _formats(sheet: Sheet) -> dict:
    box = {"border": 1, "text_wrap": True, "valign": "top", "font_size": 10}
    return {
        "plain": sheet.format(font_size=10.5),
        "right": sheet.format(font_size=10.5, align="right"),
        "title": sheet.format(font_size=12, bold=True, align="center", valign="vcenter",
                              text_wrap=True),
        "heading": sheet.format(font_size=10.5, bold=True, valign="top", text_wrap=True),
        "caption": sheet.format(font_size=10, bold=True),
        "text": sheet.format(font_size=10, text_wrap=True, valign="top"),
        "head": sheet.format(bold=True, align="center", bg_color="#EEEEEE", **box),
        "cell": sheet.format(**box),
        "number": sheet.format(align="right", num_format="#,##0", **box),
        "total": sheet.format(bold=True, **box),
        "total_number": sheet.format(bold=True, align="right", num_format="#,##0", **box),
    }


# --------------------------------------------------------------------------- pdf


def write_pdf(doc: Document, out) -> None:
    pdf.render("document.html", out, doc=doc, addressee=ADDRESSEE, kind=_kind)


def _kind(block) -> str:
    return type(block).__name__.lower()
