"""Excel 台帳 files as cities keep them (fictional people), and hostile ones, for the importer tests.

Each ledger generator returns (bytes, expected) where expected maps an Excel row number to a
fragment of the reason it must be refused for; rows not listed must come in.
"""

import io
import random
import zipfile
from datetime import date, timedelta

from openpyxl import Workbook
from openpyxl.styles import Alignment

from kyogikai.japanese.wareki import format_wareki

SURNAMES = [("青木", "アオキ"), ("石田", "イシダ"), ("上野", "ウエノ"), ("遠藤", "エンドウ"),
            ("岡本", "オカモト"), ("加藤", "カトウ"), ("木村", "キムラ"), ("工藤", "クドウ"),
            ("小林", "コバヤシ"), ("佐藤", "サトウ"), ("清水", "シミズ"), ("鈴木", "スズキ"),
            ("関口", "セキグチ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("中村", "ナカムラ")]
GIVEN = [("明美", "アケミ"), ("裕子", "ユウコ"), ("直美", "ナオミ"), ("恵", "メグミ"),
         ("由美", "ユミ"), ("真理", "マリ"), ("陽子", "ヨウコ"), ("綾", "アヤ"), ("舞", "マイ"),
         ("千尋", "チヒロ"), ("美咲", "ミサキ"), ("愛", "アイ"), ("香織", "カオリ")]
AGENCIES = ["テスト市 女性支援課", "テスト警察署"]
STATUSES = ["受理", "支援中", "見守り", "終結"]
FLAT_HEADINGS = ["番号", "氏名", "フリガナ", "生年月日", "住所", "住所秘匿", "電話番号",
                 "同伴家族", "相談受理年月日", "状況", "終結日", "終結理由", "危険度", "緊急度",
                 "主担当機関", "備考"]


def _person(i: int, rng: random.Random):
    surname, surname_kana = SURNAMES[i % len(SURNAMES)]
    given, given_kana = GIVEN[(i // len(SURNAMES)) % len(GIVEN)]
    birth = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 40 * 365))
    return f"{surname} {given}{i}", f"{surname_kana} {given_kana}", birth


def _case_values(i: int, rng: random.Random) -> dict:
    name, kana, birth = _person(i, rng)
    received = date(2023, 4, 1) + timedelta(days=rng.randrange(0, 700))
    status = STATUSES[i % len(STATUSES)]
    ended = received + timedelta(days=90) if status == "終結" else None
    return {
        "番号": f"旧-{i:04d}",
        "氏名": name, "フリガナ": kana,
        # Both spellings staff use: 和暦 text and a real Excel date.
        "生年月日": format_wareki(birth) if i % 2 else birth,
        "住所": f"架空県テスト市緑町{i % 9 + 1}丁目{i % 30 + 1}番地",
        "住所秘匿": "有" if i % 10 == 3 else "",
        "電話番号": f"090-0000-{i:04d}",
        "同伴家族": f"{name.split()[0]} 陽太（長男）" if i % 4 == 0 else "",
        "相談受理年月日": received if i % 3 else f"R{received.year - 2018}.{received.month}.{received.day}"
        if received >= date(2019, 5, 1) else received,
        "状況": status,
        "終結日": ended,
        "終結理由": "転居のため終結" if ended else "",
        "危険度": ["高", "中", "低"][i % 3],
        "緊急度": ["中", "低", "高"][i % 3],
        "主担当機関": AGENCIES[i % 2],
        "備考": "定期的に面接" if i % 5 else "",
    }


def flat_ledger(count: int = 1000, seed: int = 12) -> tuple[bytes, dict[int, str]]:
    """A one-row-per-case ledger with a handful of rows that must be refused, each for a reason."""
    rng = random.Random(seed)
    book = Workbook()
    sheet = book.active
    sheet.title = "ケース台帳"
    sheet.append(["ケース進行管理台帳（令和7年度）　秘"])
    sheet.append(FLAT_HEADINGS)
    expected = {}
    for i in range(1, count + 1):
        values = _case_values(i, rng)
        excel_row = i + 2
        problem = i % 97
        if problem == 5:
            values["相談受理年月日"] = "令和7年2月30日"
            expected[excel_row] = "存在しない日付"
        elif problem == 11:
            values["フリガナ"] = ""
            expected[excel_row] = "フリガナがありません"
        elif problem == 17:
            values["フリガナ"] = "Aoki"
            expected[excel_row] = "カタカナかひらがな"
        elif problem == 23:
            values["主担当機関"] = "どこにもない相談所"
            expected[excel_row] = "登録されていません"
        elif problem == 29:
            values["状況"] = "調査中"
            expected[excel_row] = "状況「調査中」"
        elif problem == 31:
            values["状況"], values["終結日"], values["終結理由"] = "終結", None, ""
            expected[excel_row] = "終結・移管には"
        elif problem == 37:
            values["相談受理年月日"] = None
            expected[excel_row] = "相談受理年月日がありません"
        elif problem == 41:
            values["電話番号"] = 9000001234
            expected[excel_row] = "先頭の0"
        elif problem == 43:
            values["生年月日"] = "平成元年1月1日"  # 平成 began on 1989-01-08
            expected[excel_row] = "その元号にその日付はありません"
        elif problem == 47:
            values["危険度"] = "最大"
            expected[excel_row] = "高・中・低"
        elif problem == 53:  # another woman's hidden address (row of i=3), typed into a note
            values["備考"] = "前回の面接場所: テスト市緑町4丁目4番地"
            expected[excel_row] = "秘匿された住所"
        sheet.append([values[h] for h in FLAT_HEADINGS])
    # The same woman (name and birth date) twice, and a case number twice.
    first = sheet.cell(row=3, column=1).row
    duplicate = [c.value for c in sheet[first]]
    duplicate[0] = "旧-9999"
    sheet.append(duplicate)
    expected[sheet.max_row] = "同じ氏名・生年月日"
    return _bytes(book), expected


def yoshiki1_ledger(count: int = 30, seed: int = 3) -> tuple[bytes, dict[int, str]]:
    """The 要綱's 様式1: two heading rows with merged cells, three rows per case (会議日, 主担当
    機関, 状況等) whose case cells are merged downwards, 和暦 dates and 生年月日（年齢）."""
    rng = random.Random(seed)
    book = Workbook()
    sheet = book.active
    sheet.title = "様式1"
    headings = ["番号", "支援女性氏名", "生年月日（年齢）", "住所", "同伴家族氏名", "相談受理年月日",
                "管理記録", None, None, None, None, "備考"]
    sheet.append(headings)
    sheet.append([None] * 7 + ["第1回", "第2回", "第3回", "第4回"])
    for column in (1, 2, 3, 4, 5, 6, 12):
        sheet.merge_cells(start_row=1, start_column=column, end_row=2, end_column=column)
    sheet.merge_cells(start_row=1, start_column=7, end_row=1, end_column=11)
    expected = {}
    for i in range(1, count + 1):
        values = _case_values(i, rng)
        top = 3 + (i - 1) * 3
        birth = values["生年月日"]
        birth_text = (birth if isinstance(birth, str) else format_wareki(birth)) + "（40歳）"
        name = f"{values['氏名']}\n{values['フリガナ']}"  # the reading on a line of its own
        received = values["相談受理年月日"]
        received = format_wareki(received) if not isinstance(received, str) else received
        case_cells = [f"R{5 + i % 2}-{i:04d}", name, birth_text, values["住所"],
                      values["同伴家族"], received]
        reviews = []
        for k in range(i % 5):
            held = date(2024, 4, 1) + timedelta(days=90 * k + rng.randrange(0, 20))
            reviews.append((format_wareki(held), AGENCIES[k % 2], f"状況の確認 {k + 1}回目"))
        for offset, label in enumerate(("会議日", "主担当機関", "状況等")):
            row = case_cells if offset == 0 else [None] * 6
            cells = [review[offset] for review in reviews[:4]] + [None] * (4 - len(reviews[:4]))
            sheet.append([*row, label, *cells, values["備考"] if offset == 0 else None])
        for column in (1, 2, 3, 4, 5, 6, 12):
            sheet.merge_cells(start_row=top, start_column=column, end_row=top + 2,
                              end_column=column)
            sheet.cell(row=top, column=column).alignment = Alignment(wrap_text=True)
        if i == 7:  # a review with a situation but no meeting date
            sheet.cell(row=top, column=8).value = None
            sheet.cell(row=top + 2, column=8).value = "日付のない記録"
            expected[top] = "会議日がありません"
    return _bytes(book), expected


def _bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- hostile files


def small_ledger() -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.append(["番号", "氏名", "フリガナ", "相談受理年月日"])
    sheet.append(["1", "青木 明美", "アオキ アケミ", "令和7年4月1日"])
    return book


def with_formula() -> bytes:
    book = small_ledger()
    book.active["E2"] = "=HYPERLINK(\"http://example.invalid\",\"x\")"
    book.active["E3"] = "=1+1"
    return _bytes(book)


def _rewrite(data: bytes, changes: dict[str, bytes], extra: dict[str, bytes] | None = None,
             compression=zipfile.ZIP_DEFLATED) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as target:
        for info in source.infolist():
            target.writestr(info.filename, changes.get(info.filename, source.read(info.filename)))
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def with_macro() -> bytes:
    """An .xlsm: the macro-enabled content type and a vbaProject.bin."""
    data = _bytes(small_ledger())
    types = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml").decode()
    types = types.replace("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                          "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    return _rewrite(data, {"[Content_Types].xml": types.encode()},
                    {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 fake vba"})


def with_xml_bomb() -> bytes:
    """Billion laughs: a DTD whose entities expand to gigabytes, used in a cell's text."""
    entities = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
    data = _bytes(small_ledger())
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    doctype = '<!DOCTYPE worksheet [<!ENTITY l0 "lol">' + entities + "]>"
    body = sheet.replace("青木 明美", "&l9;")
    assert "&l9;" in body and not body.startswith("<?xml")
    return _rewrite(data, {"xl/worksheets/sheet1.xml": (doctype + body).encode()})


def with_blank_rows(megabytes: int = 50) -> bytes:
    """A small ledger followed by ~50 MB of empty rows in the sheet XML."""
    data = _bytes(small_ledger())
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    row = '<row r="{}" spans="1:4" ht="15"/>'
    blank = []
    size, r = 0, 3
    while size < megabytes * 1024 * 1024:
        piece = row.format(r)
        blank.append(piece)
        size += len(piece)
        r += 1
    sheet = sheet.replace("</sheetData>", "".join(blank) + "</sheetData>")
    return _rewrite(data, {"xl/worksheets/sheet1.xml": sheet.encode()})


def with_merged_cells_everywhere() -> bytes:
    book = small_ledger()
    sheet = book.active
    for r in range(3, 400):
        sheet.append([str(r), f"氏名{r}", "アオキ", "令和7年4月1日"])
    for r in range(2, 400, 2):
        sheet.merge_cells(start_row=r, start_column=1, end_row=r + 1, end_column=4)
    return _bytes(book)


def encrypted_or_xls() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048


def not_excel() -> bytes:
    return "番号,氏名\n1,青木\n".encode()


def _damaged(field: str, value: int) -> bytes:
    """A small ledger whose [Content_Types].xml entry in the central directory says ``field``
    is ``value`` (a damaged or unusual archive: zipfile raises something other than
    BadZipFile)."""
    data = bytearray(_bytes(small_ledger()))
    entry = data.index(b"[Content_Types].xml", data.index(b"PK\x01\x02")) - 46
    offset, size = {"flags": (8, 2), "method": (10, 2), "header_offset": (42, 4)}[field]
    data[entry + offset:entry + offset + size] = value.to_bytes(size, "little")
    return bytes(data)


def with_encrypted_member() -> bytes:
    return _damaged("flags", 0x0001)


def with_unknown_compression() -> bytes:
    return _damaged("method", 99)


def with_directory_offset_beyond() -> bytes:
    """The end record places the central directory past the file: members then lie before
    its start."""
    data = bytearray(_bytes(small_ledger()))
    end = data.rindex(b"PK\x05\x06") + 16
    offset = int.from_bytes(data[end:end + 4], "little") + 100_000
    data[end:end + 4] = offset.to_bytes(4, "little")
    return bytes(data)


def with_broken_deflate() -> bytes:
    """Every member's compressed data overwritten: zlib fails while it inflates."""
    data = bytearray(_bytes(small_ledger()))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    for info in archive.infolist():
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        data[start:start + info.compress_size] = b"\xff" * info.compress_size
    return bytes(data)
