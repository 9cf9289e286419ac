"""Rows written whole (exports/xlsx.py ``Sheet.rows_xml``, 様式1's fast path) are the bytes
XlsxWriter's own per-cell API writes for the same cells: text, blanks, heights, styles and
merged areas, including text XlsxWriter has to escape or cut."""

import gc
import io
import random
import zipfile

import pytest
from xlsxwriter.worksheet import Worksheet

from kyogikai.exports import xlsx
from kyogikai.exports.xlsx import STRING_MAX, Sheet, workbook

TRICKY = [
    "", "緑町1-2-3", "=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "\tタブ", "\r改行",
    " 先頭の空白", "末尾の空白 ", "\u3000全角空白\u3000", "改行\nあり\n", "\n", "a & b < c > d \" '",
    "制御\x00\x01\x08\x0b\x1f文字", "_x0041_ はエスケープに見える", "_X004a_", "\ufffe\uffff",
    "𠮷野家 🙂", "x" * (STRING_MAX + 10), "𠮷" * (STRING_MAX // 2 + 3), "あ" * 20_000,
    "令和7年4月1日", "主担当\u2028区切り",
]
HEIGHTS = [15.0, 12.0, 14.9, 15.2, 27.0, 39.0, 111.0, 409.0, 7.5]
WIDTHS = [9, 13, 20, 9, 17]
# A block of three rows: columns 0 and 4 merged down the three rows, as 様式1's personal cells
# and 備考.
MERGES = ((0, 0, 2, 0), (0, 4, 2, 4))


def _formats(sheet: Sheet) -> list:
    return [sheet.format(valign="top", border=1, text_wrap=True),
            sheet.format(align="center", border=1)]


def _block(rng: random.Random) -> list[tuple[float, list]]:
    """Three rows of (height, texts); the cells under a merge are blanks."""
    rows = []
    for i in range(3):
        texts = [rng.choice(TRICKY) for _ in WIDTHS]
        if i > 0:
            texts[0] = texts[4] = ""
        rows.append((rng.choice(HEIGHTS), texts))
    return rows


def _per_cell(sheet: Sheet, rows: list, formats: list) -> None:
    """The same block through XlsxWriter's public per-cell API (as 様式1 wrote it before)."""
    for i, (height, texts) in enumerate(rows):
        r = sheet.row(height)
        for col, (text, fmt) in enumerate(zip(texts, formats, strict=True)):
            if i == 0 and col in (0, 4):
                sheet.merge(r, col, col, text, fmt, rows=3)
            elif i == 0 or col not in (0, 4):
                sheet.cell(r, col, text, fmt)


def _book(fast: bool, blocks: int, seed: int) -> dict[str, bytes]:
    """The fast path, or the per-cell one on XlsxWriter's own worksheet class (so that our
    ``<mergeCells>`` writer is compared with upstream's too)."""
    rng = random.Random(seed)
    out = io.BytesIO()
    book = workbook(out)
    with pytest.MonkeyPatch.context() as patch:
        if not fast:
            patch.setattr(xlsx, "StreamingWorksheet", Worksheet)
        sheet = Sheet(book, "台帳", WIDTHS)
    formats = _formats(sheet)
    sheet.cell(sheet.row(), 0, "見出し", formats[1])
    sheet.merge(sheet.row(18), 1, 3, "結合した見出し", formats[1], rows=2)
    sheet.row()
    for _ in range(blocks):
        rows, columns = _block(rng), [rng.choice(formats) for _ in WIDTHS]
        if fast:
            sheet.rows_xml(rows, columns, MERGES)
        else:
            _per_cell(sheet, rows, columns)
    sheet.cell(sheet.row(), 2, "表の後の行", formats[0])  # the stream goes on after them
    book.close()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
        return {name: z.read(name) for name in ("xl/worksheets/sheet1.xml", "xl/styles.xml")}


@pytest.mark.parametrize("seed", range(8))
def test_rows_written_whole_are_the_bytes_of_the_per_cell_api(seed):
    fast, per_cell = _book(True, 12, seed), _book(False, 12, seed)
    assert fast["xl/styles.xml"] == per_cell["xl/styles.xml"]
    assert fast["xl/worksheets/sheet1.xml"] == per_cell["xl/worksheets/sheet1.xml"]
    assert fast["xl/worksheets/sheet1.xml"].count(b"<mergeCell ") == 1 + 2 * 12


def test_rows_go_out_only_in_order():
    book = workbook(io.BytesIO())
    sheet = Sheet(book, "台帳", WIDTHS)
    fmt = _formats(sheet)[0]
    sheet.merge(sheet.row(), 0, 0, "上から結合", fmt, rows=2)
    with pytest.raises(ValueError):  # the merge's blanks of the next row are not written yet
        sheet.rows_xml([(15.0, ["x"])], [fmt])
    sheet.row()
    sheet.rows_xml([(15.0, ["x"])], [fmt])
    with pytest.raises(ValueError):
        sheet.ws.write_rows_xml(0, 0, 0, "", [])
    book.close()


def test_the_collector_is_paused_only_while_the_ledger_is_written():
    from kyogikai.exports.forms import _no_collections

    assert gc.isenabled()
    with pytest.raises(RuntimeError), _no_collections():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()  # back on after a failed export too
    gc.disable()
    try:
        with _no_collections():
            pass
        assert not gc.isenabled()  # paused by someone else: left as it was
    finally:
        gc.enable()
