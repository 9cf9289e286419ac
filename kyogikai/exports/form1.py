"""様式1 ケース進行管理台帳, laid out as the 要綱 prints it (別紙様式1), as .xlsx and .pdf.

Columns 番号, 支援女性氏名, 生年月日（年齢）, 住所, 同伴家族氏名, 相談受理年月日, 管理記録 第1回–第4回,
備考; each case takes three rows (会議日, 主担当機関, 状況等). A case with more than four 管理記録
continues in further blocks of three rows (第5回–第8回, …), so nothing is dropped. The rows come
in already scoped and masked (policy.forms.form1_rows); this module only lays them out.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from kyogikai.exports import pdf
from kyogikai.exports.xlsx import LINE_POINTS, Sheet, lines_needed, workbook
from kyogikai.japanese.wareki import format_wareki
from kyogikai.policy.forms import Form1Row, Review

TITLE = "ケース進行管理台帳"
FORM_LABEL = "(別紙様式1)"
MARKS = "秘　取扱注意"
HEADINGS = ("番号", "支援女性氏名", "生年月日（年齢）", "住所", "同伴家族氏名", "相談受理年月日")
RECORD_HEADING = "管理記録"
NOTE_HEADING = "備考"
ROW_LABELS = ("会議日", "主担当機関", "状況等")
REVIEWS_PER_BLOCK = 4
ROUNDS = tuple(f"第{n}回" for n in range(1, REVIEWS_PER_BLOCK + 1))

# Column widths (Excel units): the six personal columns, the row labels, four rounds, 備考.
WIDTHS = [9, 13, 13, 20, 14, 12, 9] + [17] * REVIEWS_PER_BLOCK + [14]
LABEL_COL = len(HEADINGS)
FIRST_ROUND_COL = LABEL_COL + 1
NOTE_COL = FIRST_ROUND_COL + REVIEWS_PER_BLOCK
HEADER_FIRST_ROW = 3  # rows 0–2: form label, title, what the sheet holds


@dataclass(frozen=True)
class Form1Meta:
    """What the sheet says about itself above the table."""

    municipality: str
    period: str  # 令和7年度（…） or 台帳の絞り込み条件
    reference_date: date  # ages are as of this day
    made_on: date

    def description(self, count: int | None = None) -> str:
        parts = [self.period]
        if self.municipality:
            parts.append(f"自治体名：{self.municipality}")
        parts.append(f"年齢は{format_wareki(self.reference_date)}現在")
        parts.append(f"作成日：{format_wareki(self.made_on)}")
        if count is not None:
            parts.append(f"{count}件")
        return "　".join(parts)


@dataclass(frozen=True)
class Block:
    """Three rows of the ledger: a case's first four 管理記録, or a continuation."""

    row: Form1Row
    first_round: int  # 1, 5, 9, …
    reviews: tuple[Review, ...]

    @property
    def continued(self) -> bool:
        return self.first_round > 1


def blocks(row: Form1Row) -> Iterator[Block]:
    """A case's blocks: one, or more when it has more than four 管理記録."""
    reviews = row.reviews
    yield Block(row, 1, reviews[:REVIEWS_PER_BLOCK])
    for start in range(REVIEWS_PER_BLOCK, len(reviews), REVIEWS_PER_BLOCK):
        yield Block(row, start + 1, reviews[start:start + REVIEWS_PER_BLOCK])


def name_text(row: Form1Row) -> str:
    return f"{row.name}\n（{row.furigana}）" if row.furigana else row.name


def birth_text(row: Form1Row) -> str:
    if row.birth_date is None:
        return ""
    age = f"\n（{row.age}歳）" if row.age is not None else ""
    return format_wareki(row.birth_date) + age


def number_text(block: Block) -> str:
    if not block.continued:
        return block.row.number
    last = block.first_round + len(block.reviews) - 1
    return f"{block.row.number}\n（続き：第{block.first_round}回～第{last}回）"


def held_text(block: Block, review: Review) -> str:
    day = format_wareki(review.held_on)
    if not block.continued:
        return day
    n = block.first_round + block.reviews.index(review)
    return f"第{n}回　{day}"


def personal_cells(block: Block) -> tuple[str, ...]:
    """番号 … 相談受理年月日; a continuation repeats only the number and the name."""
    row = block.row
    if block.continued:
        return (number_text(block), row.name, "", "", "", "")
    return (number_text(block), name_text(row), birth_text(row), row.address,
            "\n".join(row.companions), format_wareki(row.received_on))


def review_cells(block: Block) -> list[tuple[str, str, str]]:
    """(会議日, 主担当機関, 状況等) for each of the four rounds; blank rounds stay blank."""
    cells = [(held_text(block, r), r.agency, r.situation) for r in block.reviews]
    return cells + [("", "", "")] * (REVIEWS_PER_BLOCK - len(cells))


# --------------------------------------------------------------------------- xlsx


def header_text(meta: Form1Meta) -> str:
    """The printed page header: 秘 on the left, the title in the middle, 取扱注意 on the right."""
    return (f'&L&"-,Bold"&16秘&C&11{TITLE}　{meta.period}'
            f'&R&"-,Bold"&12取扱注意')


def write_xlsx(rows: Iterable[Form1Row], meta: Form1Meta, out) -> int:
    """Write the ledger to ``out`` (a path or a binary file); return the number of cases."""
    book = workbook(out)
    sheet = Sheet(book, TITLE, WIDTHS)
    f = _formats(sheet)
    last_col = len(WIDTHS) - 1

    top = sheet.row()
    sheet.cell(top, 0, FORM_LABEL, f["plain"])
    sheet.cell(top, last_col, MARKS, f["marks"])
    sheet.merge(sheet.row(22), 0, last_col, TITLE, f["title"])
    sheet.merge(sheet.row(), 0, last_col, meta.description(), f["plain"])

    first = sheet.row(18)
    for col, heading in enumerate(HEADINGS):
        sheet.merge(first, col, col, heading, f["head"], rows=2)
    sheet.merge(first, LABEL_COL, NOTE_COL - 1, RECORD_HEADING, f["head"])
    sheet.merge(first, NOTE_COL, NOTE_COL, NOTE_HEADING, f["head"], rows=2)
    second = sheet.row(18)
    sheet.cell(second, LABEL_COL, "", f["head"])
    for i, round_label in enumerate(ROUNDS):
        sheet.cell(second, FIRST_ROUND_COL + i, round_label, f["head"])

    count = 0
    columns = [f["text"]] * LABEL_COL + [f["label"]] + [f["text"]] * (REVIEWS_PER_BLOCK + 1)
    for row in rows:
        count += 1
        for block in blocks(row):
            _write_block(sheet, block, columns)

    sheet.page_setup(landscape=True, header=header_text(meta),
                     repeat=(HEADER_FIRST_ROW, HEADER_FIRST_ROW + 1))
    sheet.ws.freeze_panes(HEADER_FIRST_ROW + 2, 2)
    book.close()
    return count


# The merged areas of a block, rows counted from its first: the six personal columns and 備考.
BLOCK_MERGES = tuple((0, col, 2, col) for col in (*range(LABEL_COL), NOTE_COL))
UNDER_MERGE = ("",) * LABEL_COL


def _write_block(sheet: Sheet, block: Block, formats: list) -> None:
    """Three rows; the hot loop of a 10,000-case ledger, so its rows go out whole
    (``Sheet.rows_xml``). Every cell has the box: the merged personal cells and 備考 span the
    three rows, and each row under them carries formatted blanks so Excel draws the borders."""
    personal = personal_cells(block)
    rounds = review_cells(block)
    note = "" if block.continued else block.row.note
    heights = _heights(personal, rounds, note)
    held, agency, situation = zip(*rounds, strict=True)
    sheet.rows_xml(((heights[0], (*personal, ROW_LABELS[0], *held, note)),
                    (heights[1], (*UNDER_MERGE, ROW_LABELS[1], *agency, "")),
                    (heights[2], (*UNDER_MERGE, ROW_LABELS[2], *situation, ""))),
                   formats, BLOCK_MERGES)


def _heights(personal, rounds, note) -> list[float]:
    """Row heights that show every line: the 状況等 row grows with the longest text, and the
    three rows together are tall enough for the merged personal cells."""
    width = WIDTHS[FIRST_ROUND_COL]
    per_row = [max(lines_needed(cells[i], width) for cells in rounds) for i in range(3)]
    merged = max([lines_needed(value, WIDTHS[col]) for col, value in enumerate(personal)]
                 + [lines_needed(note, WIDTHS[NOTE_COL])])
    if sum(per_row) < merged:
        per_row[2] += merged - sum(per_row)
    return [min(409.0, lines * LINE_POINTS + 3) for lines in per_row]


def _formats(sheet: Sheet) -> dict:
    box = {"border": 1, "text_wrap": True}
    return {
        "plain": sheet.format(),
        "marks": sheet.format(bold=True, align="right", font_size=11),
        "title": sheet.format(bold=True, align="center", valign="vcenter", font_size=14),
        "head": sheet.format(bold=True, align="center", valign="vcenter", bg_color="#EEEEEE",
                             **box),
        "label": sheet.format(align="center", valign="vcenter", **box),
        "text": sheet.format(valign="top", **box),
    }


# --------------------------------------------------------------------------- pdf


def write_pdf(rows: Iterable[Form1Row], meta: Form1Meta, out) -> int:
    """The same ledger as a PDF (A4 landscape, headings repeated on every page)."""
    counted = _Counted(rows)
    pdf.render("form1.html", out, meta=meta, title=TITLE, form_label=FORM_LABEL,
               headings=HEADINGS, record_heading=RECORD_HEADING, note_heading=NOTE_HEADING,
               rounds=ROUNDS, row_labels=ROW_LABELS, blocks=_pdf_blocks(counted))
    return counted.count


def _pdf_blocks(rows: Iterable[Form1Row]) -> Iterator[dict]:
    for row in rows:
        for block in blocks(row):
            yield {"personal": personal_cells(block), "rounds": review_cells(block),
                   "note": "" if block.continued else row.note}


class _Counted:
    """Counts the rows a template consumes, without holding them."""

    def __init__(self, rows: Iterable):
        self._rows = rows
        self.count = 0

    def __iter__(self):
        for row in self._rows:
            self.count += 1
            yield row
