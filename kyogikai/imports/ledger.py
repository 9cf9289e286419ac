"""The Excel 台帳 importer (go-live): a city's existing ledger in, with a report of what it refused.

Reads a ledger in the 様式1 layout (three rows per case: 会議日, 主担当機関, 状況等 under 第1回…)
or a flat one-row-per-case sheet; maps its columns (detected from the headings, changeable);
validates every row (和暦 or western dates, フリガナ, duplicate women by name and birth date,
agencies by name); then writes all accepted rows in one transaction, or nothing. Imported free
text passes the same 住所秘匿 check as typed text (policy.masking.check_free_text), asked as a
reader who may see no hidden address; a 住所秘匿 flag becomes a request a second 調整担当者
confirms, as on the screen. Every refusal is a row number and a Japanese reason, never the
person's data, so the report can be printed or mailed internally.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin
from sqlalchemy import func, select

from kyogikai.exports.cells import unneutralise
from kyogikai.imports.workbook import Sheet, cell_name
from kyogikai.japanese.fiscal import fiscal_year, fiscal_year_prefix
from kyogikai.japanese.kana import fold, is_katakana_reading, to_katakana
from kyogikai.japanese.wareki import WarekiError, parse_date, representable
from kyogikai.models import (
    Agency,
    AgencyCategory,
    AuditAction,
    Case,
    CaseReview,
    CaseSerial,
    CaseStatus,
    Companion,
    Level,
    Relationship,
    RoleAssignment,
    RoleFunction,
    Woman,
    db,
)
from kyogikai.policy import audit, masking

FLAT, YOSHIKI1 = "flat", "yoshiki1"
LAYOUTS = {FLAT: _l("一覧形式（1ケース1行）"), YOSHIKI1: _l("様式1（1ケース3行：会議日・主担当機関・状況等）")}
HEADER_SCAN_ROWS = 30
MAX_TEXT = 10_000


@dataclass(frozen=True)
class Field:
    key: str
    label: object
    headings: tuple[str, ...]
    required: bool = False


FIELDS = (
    Field("number", _l("番号"), ("番号", "ケース番号", "台帳番号", "整理番号", "no", "no.")),
    Field("name", _l("氏名"), ("支援女性氏名", "支援対象女性氏名", "女性氏名", "氏名", "名前"),
          required=True),
    Field("furigana", _l("フリガナ"), ("フリガナ", "ふりがな", "よみがな", "カナ", "氏名カナ")),
    Field("alias", _l("通称"), ("通称",)),
    Field("birth_date", _l("生年月日"), ("生年月日(年齢)", "生年月日", "生年月日年齢")),
    Field("postal_code", _l("郵便番号"), ("郵便番号", "〒")),
    Field("address", _l("住所"), ("住所", "現住所", "居所")),
    Field("address_hidden", _l("住所秘匿"), ("住所秘匿", "秘匿", "dv等支援措置", "支援措置")),
    Field("phone", _l("電話番号"), ("電話番号", "電話", "連絡先")),
    Field("companions", _l("同伴家族氏名"), ("同伴家族氏名", "同伴家族", "同伴者")),
    Field("received_on", _l("相談受理年月日"), ("相談受理年月日", "相談受理日", "受理年月日",
                                              "受理日", "受付日"), required=True),
    Field("status", _l("状況"), ("状況", "状態", "支援状況", "ステータス")),
    Field("ended_on", _l("終結・移管年月日"), ("終結・移管年月日", "終結年月日", "終結日",
                                               "移管日")),
    Field("end_reason", _l("終結・移管の理由"), ("終結・移管の理由", "終結理由", "終結・移管理由")),
    Field("risk_level", _l("危険度"), ("危険度",)),
    Field("urgency", _l("緊急度"), ("緊急度",)),
    Field("lead_agency", _l("主担当機関"), ("主担当機関",)),
    Field("main_support_agency", _l("主たる支援機関"), ("主たる支援機関",)),
    Field("note", _l("備考"), ("備考", "メモ")),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
REVIEW_LABELS = {"会議日": "held_on", "主担当機関": "agency", "状況等": "situation"}
TRUE_WORDS = {"はい", "有", "あり", "有り", "○", "◯", "〇", "1", "true", "秘匿", "要"}
FALSE_WORDS = {"いいえ", "無", "なし", "無し", "×", "0", "false", "-", "ー", "不要"}
RELATIONSHIP_WORDS = {
    **{w: Relationship.child for w in ("子", "長男", "長女", "次男", "次女", "三男", "三女",
                                       "息子", "娘", "子ども", "子供")},
    **{w: Relationship.parent for w in ("父", "母", "父母", "実母", "実父")},
    **{w: Relationship.sibling for w in ("兄", "弟", "姉", "妹", "兄弟姉妹")},
    **{w: Relationship.grandparent for w in ("祖父", "祖母", "祖父母")},
    **{w: Relationship.grandchild for w in ("孫",)},
    **{w: Relationship.other for w in ("その他",)},
}
CASE_NUMBER = re.compile(r"([MTSHR])(\d{1,2})-(\d{4,6})")


def normal(text) -> str:
    """A heading or a name as compared: NFKC, no spaces or line breaks, lower-case ASCII."""
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).lower() if text else ""


# ---------------------------------------------------------------- layout and mapping


@dataclass
class Layout:
    """Where the data is: the layout, the heading row, columns per field, review columns."""

    kind: str
    header_row: int
    columns: dict[str, int]  # field key → 1-based column
    first_data_row: int
    label_column: int | None = None  # 様式1: the column saying 会議日 / 主担当機関 / 状況等
    review_columns: list[int] = field(default_factory=list)  # 様式1: 第1回, 第2回, …


def _heading_matches(sheet: Sheet, row: int) -> dict[str, int]:
    found = {}
    for column in range(1, sheet.width + 1):
        text = normal(sheet.value(row, column))
        for f in FIELDS:
            if f.key not in found and text in {normal(h) for h in f.headings}:
                found[f.key] = column
                break
    return found


def detect_layout(sheet: Sheet, kind: str | None = None) -> Layout:
    """Find the heading row (most known headings within the first rows) and the layout."""
    best_row, best = 0, {}
    for row in range(1, min(HEADER_SCAN_ROWS, len(sheet.rows)) + 1):
        found = _heading_matches(sheet, row)
        if len(found) > len(best):
            best_row, best = row, found
    if len(best) < 2:
        raise ValueError(_("見出しの行が見つかりません。1行目付近に「番号」「氏名」「相談受理年月日」"
                           "などの見出しがある台帳を選んでください。"))
    label_column, review_columns = _yoshiki1_columns(sheet, best_row)
    detected = YOSHIKI1 if label_column else FLAT
    kind = kind or detected
    if kind == YOSHIKI1 and not label_column:
        raise ValueError(_("様式1の「会議日・主担当機関・状況等」の列が見つかりません。一覧形式で"
                           "読み込むか、様式1のレイアウトの台帳を選んでください。"))
    first = best_row + 1
    if kind == YOSHIKI1:
        while first <= len(sheet.rows) and normal(sheet.value(first, label_column)) \
                not in REVIEW_LABELS:
            first += 1
    return Layout(kind, best_row, best, first,
                  label_column if kind == YOSHIKI1 else None,
                  review_columns if kind == YOSHIKI1 else [])


def _yoshiki1_columns(sheet: Sheet, header_row: int) -> tuple[int | None, list[int]]:
    label_column = None
    for row in range(header_row + 1, min(header_row + 12, len(sheet.rows)) + 1):
        for column in range(1, sheet.width + 1):
            if normal(sheet.value(row, column)) == "会議日":
                label_column = column
                break
        if label_column:
            break
    if label_column is None:
        return None, []
    reviews = []
    for row in (header_row, header_row + 1):
        for column in range(1, sheet.width + 1):
            if re.fullmatch(r"第\d+回", normal(sheet.value(row, column))):
                reviews.append(column)
    if not reviews:  # no 第n回 headings: every column right of the labels up to 備考
        end = FIELD_BY_KEY["note"].key
        stop = sheet.width + 1
        for key, column in _heading_matches(sheet, header_row).items():
            if key == end and column > label_column:
                stop = column
        reviews = list(range(label_column + 1, stop))
    return label_column, sorted(set(reviews))


def apply_mapping(layout: Layout, mapping: dict[str, int | None]) -> Layout:
    """The person's choices override the detected columns (None: not in this file)."""
    columns = dict(layout.columns)
    for key, column in mapping.items():
        if key not in FIELD_BY_KEY:
            raise ValueError(_("不明な項目です: %(key)s", key=key))
        if column:
            columns[key] = column
        else:
            columns.pop(key, None)
    missing = [str(f.label) for f in FIELDS if f.required and f.key not in columns]
    if missing:
        raise ValueError(_("必須の項目に列が対応付けられていません: %(fields)s",
                           fields="、".join(missing)))
    return Layout(layout.kind, layout.header_row, columns, layout.first_data_row,
                  layout.label_column, layout.review_columns)


def column_choices(sheet: Sheet, layout: Layout) -> list[tuple[int, str]]:
    """(column, "B: 見出し") for the mapping screen."""
    from openpyxl.utils import get_column_letter

    choices = []
    for column in range(1, sheet.width + 1):
        heading = sheet.value(layout.header_row, column) or ""
        choices.append((column, f"{get_column_letter(column)}: {str(heading)[:30]}"))
    return choices


# ---------------------------------------------------------------- reading rows


@dataclass
class SourceRow:
    """One case as found in the sheet, with the Excel row it starts on."""

    row: int
    values: dict[str, object]
    reviews: list[dict[str, object]] = field(default_factory=list)


def source_rows(sheet: Sheet, layout: Layout) -> list[SourceRow]:
    """The cases of the sheet; refuses merged cells where they would hide whose value is whose."""
    _check_merges(sheet, layout)
    if layout.kind == FLAT:
        found = []
        for row in range(layout.header_row + 1, len(sheet.rows) + 1):
            values = {key: sheet.value(row, column) for key, column in layout.columns.items()}
            if any(v is not None for v in values.values()):
                found.append(SourceRow(row, values))
        return found
    return _yoshiki1_rows(sheet, layout)


def _yoshiki1_blocks(sheet: Sheet, layout: Layout) -> list[list[int]]:
    """Rows grouped into blocks, each starting where the label column says 会議日."""
    blocks, current = [], []
    for row in range(layout.first_data_row, len(sheet.rows) + 1):
        label = normal(sheet.value(row, layout.label_column))
        if label == "会議日" and current:
            blocks.append(current)
            current = []
        current.append(row)
    if current:
        blocks.append(current)
    return blocks


def _yoshiki1_rows(sheet: Sheet, layout: Layout) -> list[SourceRow]:
    found: list[SourceRow] = []
    for block in _yoshiki1_blocks(sheet, layout):
        values = {}
        for key, column in layout.columns.items():
            values[key] = next((sheet.value(r, column) for r in block
                                if sheet.value(r, column) is not None), None)
        reviews = []
        for column in layout.review_columns:
            review = {}
            for row in block:
                key = REVIEW_LABELS.get(normal(sheet.value(row, layout.label_column)))
                if key:
                    review[key] = sheet.value(row, column)
            if any(v is not None for v in review.values()):
                reviews.append({**review, "column": column, "row": block[0]})
        case_cells = {k: v for k, v in values.items() if k != "note"}
        if not any(v is not None for v in case_cells.values()):
            if reviews and found:  # a continuation block: more than four reviews (様式1 of issue 9)
                found[-1].reviews.extend(reviews)
            elif reviews or values.get("note"):
                found.append(SourceRow(block[0], values, reviews))
            continue
        if found and values.get("number") is not None and \
                normal(base_number(values["number"])) == normal(found[-1].values.get("number")):
            found[-1].reviews.extend(reviews)  # 様式1's own continuation: 「R7-0001（続き：…）」
            continue
        found.append(SourceRow(block[0], values, reviews))
    return found


CONTINUED = re.compile(r"\s*[（(]\s*続き\s*[：:][^()（）]*[)）]\s*$")
ROUND = re.compile(r"^\s*第\s*\d+\s*回\s*")


def base_number(value):
    """The case number of a 様式1 continuation block (「R7-0001（続き：第5回～第8回）」)."""
    return CONTINUED.sub("", value) if isinstance(value, str) else value


def _held_on(value):
    """A 会議日 cell of a continuation block says its round first (「第5回　令和7年10月10日」)."""
    return ROUND.sub("", value) if isinstance(value, str) else value


class SheetRefused(ValueError):
    """The sheet cannot be read as a ledger; the message is Japanese."""


def _check_merges(sheet: Sheet, layout: Layout) -> None:
    """Merged cells are fine in the headings, and in 様式1 down one case's three rows; anywhere
    else a merge hides which row a value belongs to, so the file is refused."""
    blocks = {}
    if layout.kind == YOSHIKI1:
        for block in _yoshiki1_blocks(sheet, layout):
            for row in block:
                blocks[row] = block[0]
    bad = []
    for min_row, min_col, max_row, max_col in sheet.merged:
        if max_row < layout.first_data_row:
            continue
        inside_one_case = (layout.kind == YOSHIKI1 and min_col == max_col
                           and blocks.get(min_row) is not None
                           and blocks.get(min_row) == blocks.get(max_row))
        if not inside_one_case:
            bad.append(f"{cell_name(min_row, min_col)}:{cell_name(max_row, max_col)}")
    if bad:
        raise SheetRefused(_(
            "データの行に結合セルがあります（%(cells)s ほか%(count)d箇所）。どの行の値か判断できないため"
            "読み込みません。結合を解除し、各行に値を入れてから保存し直してください。",
            cells="、".join(bad[:3]), count=len(bad)))


# ---------------------------------------------------------------- validation


@dataclass
class Refusal:
    row: int
    number: str
    reasons: list[str]


@dataclass
class PlannedCase:
    source: SourceRow
    woman: dict
    companions: list[tuple[str, Relationship]]
    case: dict
    reviews: list[dict]
    agency_names: set[str]
    existing_woman_id: int | None = None
    kept_number: tuple[str, int, int] | None = None  # number, fiscal year, serial
    same_as_row: int | None = None  # the same woman as an earlier row of this file


@dataclass
class Plan:
    """What an import would do: the cases it writes, the rows it refuses, agencies it creates."""

    layout: Layout
    cases: list[PlannedCase]
    refused: list[Refusal]
    unknown_agencies: list[str]  # named in the file, not registered
    agencies_to_create: list[str]  # confirmed, and needed by an accepted row
    linked_women: int = 0
    total_rows: int = 0

    @property
    def accepted(self) -> int:
        return len(self.cases)


def _text(value, limit: int | None = MAX_TEXT, label="") -> str:
    """A cell as text (None: no limit); too long a one is refused, naming ``label``."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unneutralise(str(value).strip())  # our own 様式1's 「'=…」 is the text 「=…」
    if limit is not None and len(text) > limit:
        raise ValueError(_("%(label)sが%(limit)d文字を超えています", label=label, limit=limit)
                         if label else _("%(limit)d文字を超えています", limit=limit))
    return text


def _date(value, label) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):  # a datetime too
        try:
            return representable(value.date() if isinstance(value, datetime) else value)
        except WarekiError as error:
            raise ValueError(f"{label}: {error}") from None
    if isinstance(value, int | float):
        raise ValueError(_("%(label)s が数値です。日付として入力してください", label=label))
    text = re.sub(r"[（(]\s*(満)?\s*\d+\s*歳?\s*[)）]\s*$", "", str(value)).strip()
    text = re.sub(r"\s*[（(]\s*\d{4}-\d{2}-\d{2}\s*[)）]\s*$", "", text).strip()  # our own 和暦 (ISO)
    try:
        return parse_date(text)
    except WarekiError as error:
        raise ValueError(f"{label}: {error}") from None


def _level(value, label) -> Level | None:
    text = normal(value)
    if not text:
        return None
    for member in Level:
        if text in (normal(member.label), member.value):
            return member
    raise ValueError(_("%(label)s「%(value)s」は 高・中・低 のいずれかにしてください",
                       label=label, value=_text(value, 20)))


def _status(value) -> CaseStatus | None:
    text = normal(value)
    if not text:
        return None
    for member in CaseStatus:
        if text in (normal(member.label), member.value):
            return member
    choices = "・".join(str(m.label) for m in CaseStatus)
    raise ValueError(_("状況「%(value)s」は %(choices)s のいずれかにしてください",
                       value=_text(value, 20), choices=choices))


def _flag(value) -> bool:
    text = normal(value)
    if not text or text in FALSE_WORDS:
        return False
    if text in TRUE_WORDS:
        return True
    raise ValueError(_("住所秘匿「%(value)s」は はい・いいえ（有・無）で入力してください",
                       value=_text(value, 20)))


def _name_and_reading(name_cell, reading_cell) -> tuple[str, str]:
    """The name, and its katakana reading from the フリガナ column or from the name cell itself
    (「青木 明美（アオキ アケミ）」 or a line of kana above or below the name)."""
    name = _text(name_cell, 100)
    reading = _text(reading_cell, 200)
    if not reading:
        if match := re.fullmatch(r"(.+?)\s*[（(]\s*([^()（）]+?)\s*[)）]", name):
            name, reading = match[1].strip(), match[2]
        elif "\n" in name:
            lines = [line.strip() for line in name.splitlines() if line.strip()]
            kana = [line for line in lines if is_katakana_reading(line)]
            others = [line for line in lines if not is_katakana_reading(line)]
            if len(kana) == 1 and len(others) == 1:
                name, reading = others[0], kana[0]
    name = " ".join(name.split())
    if not name:
        raise ValueError(_("氏名がありません"))
    if not reading:
        raise ValueError(_("フリガナがありません（フリガナの列を対応付けるか、氏名の後に"
                           "「（アオキ アケミ）」のように添えてください）"))
    if not is_katakana_reading(reading):
        raise ValueError(_("フリガナはカタカナかひらがなで入力してください"))
    return name, to_katakana(reading)


PREFECTURE = re.compile(r"(東京都|北海道|(?:京都|大阪)府|.{2,3}県)")
MUNICIPALITY = re.compile(r"((?:.+?郡)?.+?[市区町村])")


def split_address(text: str) -> dict[str, str]:
    """A one-line Japanese address into the structured fields (the one-line form is rebuilt)."""
    text = unicodedata.normalize("NFKC", text).strip()
    result = {"postal_code": "", "prefecture": "", "municipality": "", "street": "",
              "katagaki": ""}
    if match := re.match(r"〒?\s*(\d{3})-?(\d{4})\s*", text):
        result["postal_code"] = f"{match[1]}-{match[2]}"
        text = text[match.end():]
    if match := PREFECTURE.match(text):
        result["prefecture"] = match[1]
        text = text[match.end():]
    if match := MUNICIPALITY.match(text):
        result["municipality"] = match[1]
        text = text[match.end():]
    street, _sep, katagaki = text.strip().partition(" ")
    result["street"], result["katagaki"] = street.strip(), katagaki.strip()
    limits = {"postal_code": 8, "prefecture": 10, "municipality": 50, "street": 200,
              "katagaki": 200}
    for key, limit in limits.items():
        if len(result[key]) > limit:
            raise ValueError(_("住所が長すぎます"))
    return result


def _postal_code(value) -> str:
    text = normal(value).lstrip("〒")
    if not text:
        return ""
    if isinstance(value, int | float):
        text = f"{int(value):07d}"
    if match := re.fullmatch(r"(\d{3})-?(\d{4})", text):
        return f"{match[1]}-{match[2]}"
    raise ValueError(_("郵便番号は 123-4567 の形で入力してください"))


def _phone(value) -> str:
    if isinstance(value, int | float):
        raise ValueError(_("電話番号が数値として保存されています（先頭の0が失われます）。"
                           "文字列として入力してください"))
    text = unicodedata.normalize("NFKC", _text(value, 30)).strip()
    if text and not re.fullmatch(r"[0-9()\-+ ]+", text):
        raise ValueError(_("電話番号は数字とハイフンで入力してください"))
    return text


def _companions(value) -> list[tuple[str, Relationship]]:
    text = _text(value, 1000)
    found = []
    for part in re.split(r"[、,，\n／/]", text):
        part = part.strip()
        if not part:
            continue
        relationship = Relationship.other
        if match := re.fullmatch(r"(.+?)\s*[（(]\s*([^()（）]+?)\s*[)）]", part):
            part, word = match[1].strip(), normal(match[2])
            relationship = RELATIONSHIP_WORDS.get(word)
            if relationship is None:
                raise ValueError(_("同伴家族の続柄「%(word)s」が分かりません（子・父母・兄弟姉妹・"
                                   "祖父母・孫・その他）", word=match[2]))
        if len(part) > 100:
            raise ValueError(_("同伴家族の氏名が長すぎます"))
        found.append((" ".join(part.split()), relationship))
    return found


def _agency_key(name: str) -> str:
    return normal(name)


class _Validator:
    def __init__(self, layout: Layout, link_existing: bool):
        self.layout = layout
        self.link_existing = link_existing
        self.agencies = {_agency_key(a.name): a for a in db.session.scalars(select(Agency))}
        self.numbers = set(db.session.scalars(select(Case.number)))
        self.seen_people: dict[tuple[str, date], int] = {}
        self.seen_numbers: dict[str, int] = {}

    def plan(self, rows: list[SourceRow], create_agencies: bool) -> Plan:
        cases, refused, unknown = [], [], {}
        existing = self._existing_women(rows)
        for source in rows:
            reasons, planned = self._validate(source, existing)
            if planned is not None:
                for name in planned.agency_names:
                    if _agency_key(name) not in self.agencies:
                        unknown.setdefault(_agency_key(name), name)
                        if not create_agencies:
                            reasons.append(_("関係機関「%(name)s」が登録されていません（新規登録を"
                                             "確認するか、登録済みの機関名に直してください）",
                                             name=name))
            number = _text(source.values.get("number"), None)[:20]  # as a refusal names it
            if reasons:
                refused.append(Refusal(source.row, number, reasons))
            else:
                cases.append(planned)
        needed = {_agency_key(n) for c in cases for n in c.agency_names}
        to_create = [name for key, name in unknown.items() if create_agencies and key in needed]
        linked = sum(1 for c in cases if c.existing_woman_id or c.same_as_row)
        return Plan(self.layout, cases, refused, list(unknown.values()), to_create, linked,
                    len(rows))

    def _existing_women(self, rows: list[SourceRow]) -> dict[tuple[str, date], Woman]:
        births = set()
        for source in rows:
            try:
                birth = _date(source.values.get("birth_date"), "")
            except ValueError:
                continue
            if birth:
                births.add(birth)
        found = {}
        for chunk in [sorted(births)[i:i + 500] for i in range(0, len(births), 500)]:
            for woman in db.session.scalars(select(Woman).where(Woman.birth_date.in_(chunk))):
                found.setdefault((fold(woman.name), woman.birth_date), woman)
        return found

    def _validate(self, source: SourceRow, existing) -> tuple[list[str], PlannedCase | None]:
        values, reasons = source.values, []

        def take(key, parse):
            try:
                return parse(values.get(key))
            except ValueError as error:
                reasons.append(str(error))
                return None

        name_reading = take("name", lambda v: _name_and_reading(v, values.get("furigana")))
        birth = take("birth_date", lambda v: _date(v, _("生年月日")))
        received = take("received_on", lambda v: _date(v, _("相談受理年月日")))
        if received is None and not any(_("相談受理年月日") in r for r in reasons):
            reasons.append(_("相談受理年月日がありません"))
        ended = take("ended_on", lambda v: _date(v, _("終結・移管年月日")))
        today = date.today()
        for label, day in ((_("生年月日"), birth), (_("相談受理年月日"), received),
                           (_("終結・移管年月日"), ended)):
            if day and day > today:
                reasons.append(_("%(label)s が未来の日付です", label=label))
        if birth and received and birth > received:
            reasons.append(_("生年月日が相談受理年月日より後です"))
        # A 様式1 made for someone who may not see a hidden address holds the mask instead:
        # the address is not known, and it is to be hidden. One made for a 調整担当者 holds it
        # after the mark: it is kept, and it is to be hidden.
        written = values.get("address")
        masked = isinstance(written, str) and masking.MASK in written
        marked = isinstance(written, str) and written.strip().startswith(masking.HIDDEN_MARK)
        address = {} if masked else take("address", lambda v: split_address(_text(
            v.strip().removeprefix(masking.HIDDEN_MARK) if marked else v, 500)) if v else {})
        postal = take("postal_code", _postal_code)
        hidden = take("address_hidden", _flag) or masked or marked
        phone = take("phone", _phone)
        companions = take("companions", _companions) or []
        status = take("status", _status)
        risk = take("risk_level", lambda v: _level(v, _("危険度")))
        urgency = take("urgency", lambda v: _level(v, _("緊急度")))
        def text(key, limit=MAX_TEXT):
            return take(key, lambda v: _text(v, limit, FIELD_BY_KEY[key].label))

        texts = {key: text(key) for key in ("note", "end_reason", "alias")}
        lead = text("lead_agency", 200)
        main = text("main_support_agency", 200)
        reviews = []
        for review in source.reviews:
            label = _("管理記録（%(cell)s）", cell=cell_name(review["row"], review["column"]))
            try:
                held = _date(_held_on(review.get("held_on")), _("会議日"))
                situation = _text(review.get("situation"))
                agency = _text(review.get("agency"), 200)
            except ValueError as error:
                reasons.append(f"{label}: {error}")
                continue
            if held is None:
                reasons.append(_("%(label)s: 会議日がありません", label=label))
                continue
            if held > today:
                reasons.append(_("%(label)s: 会議日が未来の日付です", label=label))
            reviews.append({"reviewed_on": held, "situation": situation, "agency": agency})
        number = text("number", 20) or ""
        kept = None
        if number:
            if number in self.numbers:
                reasons.append(_("番号 %(number)s のケースは既に登録されています（取り込み済み）",
                                 number=number))
            elif number in self.seen_numbers:
                reasons.append(_("番号 %(number)s がこのファイルの %(row)d 行目と重複しています",
                                 number=number, row=self.seen_numbers[number]))
            elif received and (match := CASE_NUMBER.fullmatch(unicodedata.normalize(
                    "NFKC", number).upper())):
                fy = fiscal_year(received)
                if f"{match[1]}{int(match[2])}" == fiscal_year_prefix(fy):
                    kept = (f"{match[1]}{int(match[2])}-{int(match[3]):04d}", fy, int(match[3]))
                    if kept[0] in self.numbers:
                        reasons.append(_("番号 %(number)s のケースは既に登録されています（取り込み済み）",
                                         number=kept[0]))
        existing_id = same_as_row = None
        if name_reading and birth:
            key = (fold(name_reading[0]), birth)
            if key in self.seen_people and not self.link_existing:
                reasons.append(_("同じ氏名・生年月日の女性がこのファイルの %(row)d 行目にもいます"
                                 "（同一人物なら「同一人物として紐付ける」を選んでください）",
                                 row=self.seen_people[key]))
            elif key in self.seen_people:
                same_as_row = self.seen_people[key]
            elif key in existing:
                if self.link_existing:
                    existing_id = existing[key].id
                else:
                    reasons.append(_("同じ氏名・生年月日の女性が既に登録されています（同一人物なら"
                                     "「同一人物として紐付ける」を選んでください）"))
        if reasons:
            return reasons, None
        if number:
            self.seen_numbers[number] = source.row
        if birth:
            self.seen_people.setdefault((fold(name_reading[0]), birth), source.row)
        if status is None:
            status = CaseStatus.closed if ended else CaseStatus.received
        note = texts["note"]
        if number and kept is None:
            note = "\n".join(filter(None, [note, _("旧台帳番号: %(number)s", number=number)]))
        case = {"received_on": received, "status": status, "ended_on": ended,
                "end_reason": texts["end_reason"], "risk_level": risk, "urgency": urgency,
                "note": note, "lead_agency": lead, "main_support_agency": main}
        probe = Case(**{k: v for k, v in case.items() if not k.endswith("agency")})
        problems = [str(p) for p in probe.problems()]
        if problems:
            return problems, None
        woman = {"name": name_reading[0], "furigana": name_reading[1], "alias": texts["alias"],
                 "birth_date": birth, "phone": phone, **(address or {}), "address_hidden": hidden}
        if postal:
            woman["postal_code"] = postal
        agency_names = {n for n in (lead, main, *(r["agency"] for r in reviews)) if n}
        return [], PlannedCase(source, woman, companions, case, reviews, agency_names,
                               existing_id, kept, same_as_row)


def plan_import(sheet: Sheet, layout: Layout, *, create_agencies: bool = False,
                link_existing: bool = False) -> Plan:
    """Validate every row; nothing is written."""
    return _Validator(layout, link_existing).plan(source_rows(sheet, layout), create_agencies)


# ---------------------------------------------------------------- writing


@dataclass
class Result:
    plan: Plan
    cases: int
    women: int
    reviews: int
    agencies: int
    hidden_pending: int
    refused: list[Refusal]


# Read as someone who may see no hidden address: imported text is checked like a clerk's.
_NOBODY = AnonymousUserMixin()
TEXT_LABELS = {"note": _l("備考"), "end_reason": _l("終結・移管の理由"), "situation": _l("状況等")}


def run_import(plan: Plan, user, file_digest: str, *, commit: bool) -> Result:
    """Write every accepted row in one transaction (or, with commit=False, roll it back: the
    preview of exactly what would be written). Rows whose free text spells a hidden address are
    refused and the rest written again, until nothing more is refused."""
    refused = list(plan.refused)
    cases = list(plan.cases)
    try:
        for _attempt in range(5):
            outcome = _write(plan, cases, user)
            if not isinstance(outcome, list):
                break
            # Rows whose text spells a hidden address: refused; the rest written again.
            db.session.rollback()
            bad = {id(c) for c, _r in outcome}
            refused += [Refusal(c.source.row, _text(c.source.values.get("number"), 20), r)
                        for c, r in outcome]
            cases = [c for c in cases if id(c) not in bad]
        else:  # pragma: no cover - each attempt removes at least one row
            raise RuntimeError("the 住所秘匿 check did not settle")
    except BaseException:
        db.session.rollback()  # all or nothing
        raise
    refused.sort(key=lambda r: r.row)
    result = Result(plan, outcome["cases"], outcome["women"], outcome["reviews"],
                    outcome["agencies"], outcome["hidden"], refused)
    if commit:
        audit.record(AuditAction.create, object_type="case", user_id=user.id, with_change=True,
                     detail=f"import=ledger;cases={result.cases};women={result.women};"
                            f"reviews={result.reviews};agencies={result.agencies};"
                            f"refused={len(refused)};sha256={file_digest[:16]}")
        db.session.commit()
    else:
        db.session.rollback()
    return result


def _write(plan: Plan, cases: list[PlannedCase], user):
    agencies = {_agency_key(a.name): a for a in db.session.scalars(select(Agency))}
    created = 0
    for name in plan.agencies_to_create:
        if _agency_key(name) not in agencies:
            agency = Agency(name=name, category=AgencyCategory.other,
                            note=str(_("台帳の取り込みで登録（区分は要確認）")))
            db.session.add(agency)
            agencies[_agency_key(name)] = agency
            created += 1
    # Numbers kept from the ledger: the 年度 counters move past them before any new number.
    _raise_serials([c.kept_number for c in cases if c.kept_number])
    db.session.flush()
    counts = {"cases": 0, "women": 0, "reviews": 0, "agencies": created, "hidden": 0}
    written: list[tuple[PlannedCase, Case]] = []
    women_by_row: dict[int, Woman] = {}
    # New numbers are drawn in order of receipt, so serials follow the ledger's dates.
    ordered = sorted(cases, key=lambda c: (c.case["received_on"], c.source.row))
    with db.session.no_autoflush:
        for planned in cases:  # in file order: a later row may be the same woman
            _woman(planned, women_by_row, user, counts)
        for planned in ordered:
            woman = women_by_row[planned.source.row]
            values = dict(planned.case)
            lead = agencies.get(_agency_key(values.pop("lead_agency") or ""))
            main = agencies.get(_agency_key(values.pop("main_support_agency") or ""))
            case = Case(woman=woman, lead_agency=lead, **values)
            if planned.kept_number:
                case.number, case.fiscal_year, case.serial = planned.kept_number
            db.session.add(case)
            if main is not None:  # the 主たる支援機関 is role history (models.roles)
                db.session.add(RoleAssignment(
                    case=case, agency=main, function=RoleFunction.main_support,
                    valid_from=case.received_on, recorded_by_id=user.id,
                    note=str(_("台帳の取り込みで作成"))))
            latest = max(planned.reviews, key=lambda r: r["reviewed_on"], default=None)
            for review in planned.reviews:
                # The ledger follows the latest 管理記録: the 危険度・緊急度 of the Excel row are
                # the ledger's current values, so they go with the latest review.
                db.session.add(CaseReview(
                    case=case, reviewed_on=review["reviewed_on"], situation=review["situation"],
                    lead_agency=agencies.get(_agency_key(review["agency"])),
                    risk_level=values["risk_level"] if review is latest else None,
                    urgency=values["urgency"] if review is latest else None))
                counts["reviews"] += 1
            written.append((planned, case))
            counts["cases"] += 1
    db.session.flush()
    refused = [(planned, reasons) for planned, case in written
               if (reasons := _hidden_address_reasons(case))]
    if refused:
        return refused
    for planned, case in written:
        audit.record(AuditAction.create, object_type="case", object_id=case.id,
                     user_id=user.id, detail=f"import=ledger;row={planned.source.row}",
                     with_change=True)
    return counts


def _woman(planned: PlannedCase, women_by_row: dict, user, counts: dict) -> Woman:
    """The case's woman: an existing one, one made for an earlier row, or a new one."""
    if planned.existing_woman_id:
        woman = db.session.get(Woman, planned.existing_woman_id)
        women_by_row[planned.source.row] = woman
        return woman
    if planned.same_as_row:
        woman = women_by_row[planned.same_as_row]
        women_by_row[planned.source.row] = woman
        return woman
    fields = dict(planned.woman)
    hidden = fields.pop("address_hidden")
    woman = Woman(**fields)
    for name, relationship in planned.companions:
        woman.companions.append(Companion(name=name, relationship_to_woman=relationship))
    db.session.add(woman)
    women_by_row[planned.source.row] = woman
    counts["women"] += 1
    if hidden:
        woman.address_hidden = True
        masking.route_flag_edit(woman, user)  # a request that a second coordinator confirms
        counts["hidden"] += 1
    return woman


def _hidden_address_reasons(case: Case) -> list[str]:
    texts = [("note", case.note), ("end_reason", case.end_reason)]
    texts += [("situation", review.situation) for review in case.reviews]
    reasons = []
    for key, text in texts:
        try:
            masking.check_free_text(text, user=_NOBODY, label=TEXT_LABELS[key])
        except masking.HiddenAddressInText as error:
            reasons.append(str(error))
    return list(dict.fromkeys(reasons))


def _raise_serials(kept: list[tuple[str, int, int]]) -> None:
    """Numbers kept from the ledger: the per-年度 counter continues after the highest one."""
    highest: dict[int, int] = {}
    for _number, fy, serial in kept:
        highest[fy] = max(highest.get(fy, 0), serial)
    for fy, serial in highest.items():
        row = db.session.get(CaseSerial, fy)
        if row is None:
            current = db.session.scalar(select(func.coalesce(func.max(Case.serial), 0))
                                        .where(Case.fiscal_year == fy)) or 0
            db.session.add(CaseSerial(fiscal_year=fy, last_serial=max(serial, current)))
        elif row.last_serial < serial:
            row.last_serial = serial


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
