"""The steps of an import shared by the command line and the screen: open, map, plan, run, report."""

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from openpyxl.utils import column_index_from_string, get_column_letter

from kyogikai.exports.cells import neutralise
from kyogikai.imports import ledger
from kyogikai.imports.workbook import Sheet, WorkbookRefused, open_workbook
from kyogikai.japanese.wareki import format_wareki


class ImportRefused(Exception):
    """The file, sheet or mapping cannot be imported; the message is Japanese."""


@dataclass
class Prepared:
    sheets: list[Sheet]
    sheet: Sheet
    layout: ledger.Layout
    detected: str


def _resolve_column(sheet: Sheet, layout: ledger.Layout, spec) -> int | None:
    """A column as a person names it: 3, "C", or the heading text; "-" or "" for none."""
    if spec in (None, "", "-"):
        return None
    if isinstance(spec, int):
        column = spec
    elif str(spec).isdigit():
        column = int(spec)
    elif str(spec).isalpha() and str(spec).isascii() and len(str(spec)) <= 3:
        column = column_index_from_string(str(spec).upper())
    else:
        wanted = ledger.normal(spec)
        matches = [c for c in range(1, sheet.width + 1)
                   if ledger.normal(sheet.value(layout.header_row, c)) == wanted]
        if not matches:
            raise ImportRefused(_("見出し「%(heading)s」の列が見つかりません。", heading=spec))
        column = matches[0]
    if not 1 <= column <= max(sheet.width, 1):
        raise ImportRefused(_("列 %(column)s はシートの範囲外です。", column=spec))
    return column


def _field_key(name: str) -> str:
    for f in ledger.FIELDS:
        if name in (f.key, str(f.label)) or ledger.normal(name) == ledger.normal(f.label):
            return f.key
    raise ImportRefused(_("不明な項目です: %(name)s（%(choices)s）", name=name,
                          choices="、".join(str(f.label) for f in ledger.FIELDS)))


def parse_cli_mapping(items) -> dict[str, str]:
    """``--map 氏名=B`` → {"name": "B"}."""
    mapping = {}
    for item in items:
        name, sep, column = item.partition("=")
        if not sep:
            raise ImportRefused(_("--map は「項目=列」の形で指定してください: %(item)s", item=item))
        mapping[_field_key(name.strip())] = column.strip()
    return mapping


def prepare(data: bytes, *, sheet_name: str | None = None, layout: str | None = None,
            mapping: dict | None = None) -> Prepared:
    try:
        sheets = open_workbook(data)
    except WorkbookRefused as error:
        raise ImportRefused(str(error)) from None
    candidates = [s for s in sheets if s.name == sheet_name] if sheet_name else sheets
    if not candidates:
        raise ImportRefused(_("シート「%(name)s」がありません（%(names)s）。", name=sheet_name,
                              names="、".join(s.name for s in sheets)))
    problem = None
    for sheet in candidates:
        try:
            found = ledger.detect_layout(sheet, layout)
            break
        except ValueError as error:
            problem = problem or str(error)
    else:
        raise ImportRefused(problem or _("台帳のシートが見つかりません。"))
    detected = ledger.detect_layout(sheet).kind
    if mapping:
        resolved = {key: _resolve_column(sheet, found, spec) for key, spec in mapping.items()}
        try:
            found = ledger.apply_mapping(found, resolved)
        except ValueError as error:
            raise ImportRefused(str(error)) from None
    elif missing := [str(f.label) for f in ledger.FIELDS if f.required
                     and f.key not in found.columns]:
        raise ImportRefused(_("必須の項目に列が対応付けられていません: %(fields)s",
                              fields="、".join(missing)))
    return Prepared(sheets, sheet, found, detected)


def plan(prepared: Prepared, *, create_agencies: bool, link_existing: bool) -> ledger.Plan:
    try:
        return ledger.plan_import(prepared.sheet, prepared.layout,
                                  create_agencies=create_agencies, link_existing=link_existing)
    except ledger.SheetRefused as error:
        raise ImportRefused(str(error)) from None


def run(plan_: ledger.Plan, user, data: bytes, *, commit: bool) -> ledger.Result:
    return ledger.run_import(plan_, user, ledger.digest(data), commit=commit)


# ---------------------------------------------------------------- telling people


def mapping_rows(prepared: Prepared) -> list[tuple[str, str, str]]:
    """(項目, 列, その列の見出し) for every field, mapped or not."""
    rows = []
    for f in ledger.FIELDS:
        column = prepared.layout.columns.get(f.key)
        heading = prepared.sheet.value(prepared.layout.header_row, column) if column else None
        rows.append((str(f.label), get_column_letter(column) if column else "―",
                     str(heading or "")))
    return rows


def describe_mapping(prepared: Prepared) -> str:
    layout = prepared.layout
    lines = [_("シート「%(sheet)s」、%(layout)s、見出しは %(row)d 行目。",
               sheet=prepared.sheet.name, layout=ledger.LAYOUTS[layout.kind], row=layout.header_row)]
    if layout.kind == ledger.YOSHIKI1:
        lines.append(_("管理記録: %(count)d回分の列（%(columns)s）", count=len(layout.review_columns),
                       columns="・".join(get_column_letter(c) for c in layout.review_columns)))
    lines.append(_("列の対応付け:"))
    for label, column, heading in mapping_rows(prepared):
        lines.append(f"  {label}: {column}" + (f"（{heading}）" if heading else ""))
    return "\n".join(lines)


def preview_rows(prepared: Prepared, plan_: ledger.Plan, limit: int = 10) -> list[dict]:
    """The first rows as they would be written; a hidden address is not shown in a preview."""
    rows = []
    for planned in plan_.cases[:limit]:
        woman, case = planned.woman, planned.case
        address = "".join(woman.get(k, "") for k in ("prefecture", "municipality", "street"))
        rows.append({
            "row": planned.source.row,
            "name": f"{woman['name']}（{woman['furigana']}）",
            "birth_date": format_wareki(woman["birth_date"]) if woman["birth_date"] else "",
            "address": _("（住所秘匿）") if woman["address_hidden"] else address,
            "received_on": format_wareki(case["received_on"]),
            "status": str(case["status"].label),
            "reviews": len(planned.reviews),
            "companions": len(planned.companions),
        })
    return rows


def describe_preview(prepared: Prepared, plan_: ledger.Plan) -> str:
    lines = [_("先頭の行（取り込み後の形）:")]
    for row in preview_rows(prepared, plan_, limit=3):
        lines.append(_("  %(row)d行目: %(name)s 生年月日 %(birth)s 受理 %(received)s 状況 %(status)s "
                       "管理記録 %(reviews)d件", row=row["row"], name=row["name"],
                       birth=row["birth_date"] or "―", received=row["received_on"],
                       status=row["status"], reviews=row["reviews"]))
    return "\n".join(lines)


def describe_result(result: ledger.Result, *, committed: bool) -> str:
    plan_ = result.plan
    head = _("取り込みました") if committed else _("検証結果（まだ書き込んでいません）")
    lines = [f"{head}: " + _(
        "%(total)d件中 ケース %(cases)d件・女性 %(women)d人・管理記録 %(reviews)d件・"
        "新規の関係機関 %(agencies)d件、取り込まない行 %(refused)d件。",
        total=plan_.total_rows, cases=result.cases, women=result.women, reviews=result.reviews,
        agencies=result.agencies, refused=len(result.refused))]
    if result.hidden_pending:
        lines.append(_("住所秘匿の女性 %(count)d人は、別の調整担当者の確認待ちです（確認までの間も"
                       "住所は秘匿して表示されます）。", count=result.hidden_pending))
    if plan_.unknown_agencies and not plan_.agencies_to_create:
        lines.append(_("未登録の関係機関: %(names)s", names="、".join(plan_.unknown_agencies)))
    if result.refused:
        lines.append(_("取り込まない行:"))
        for refusal in result.refused:
            number = f"（番号 {refusal.number}）" if refusal.number else ""
            lines.append(f"  {refusal.row}行目{number}: " + "／".join(refusal.reasons))
    return "\n".join(lines)


REPORT_HEADINGS = ("行", "番号", "取り込まなかった理由")


def report_csv(result: ledger.Result) -> str:
    """The refused rows for Excel: UTF-8 with a BOM; no personal data, only rows and reasons."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REPORT_HEADINGS)
    for refusal in result.refused:
        writer.writerow([refusal.row, neutralise(refusal.number),
                         neutralise("／".join(refusal.reasons))])
    return "\ufeff" + buffer.getvalue()


def write_report_csv(result: ledger.Result, path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(report_csv(result))
