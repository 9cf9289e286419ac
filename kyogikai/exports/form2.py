"""様式2 事業計画書, headings and numbering as the 要綱 prints them (別紙様式2), from the 年度's
BusinessPlan (policy.forms.form2_data)."""

from datetime import date

from kyogikai.exports import document
from kyogikai.exports.document import Caption, Document, Heading, Table, Text
from kyogikai.japanese.wareki import format_wareki, wareki_year_label
from kyogikai.policy.forms import Form2Data

FORM_LABEL = "(別紙様式2)"
TITLE = "{year} 困難な問題抱える女性支援連携強化モデル事業に関する事業計画書"  # sic, as printed
PERIOD = ("1", "事業の実施時期")
CONTENT = ("2", "事業計画の内容")
ITEMS = (
    ("(1)", "支援対象女性見込み数（同伴家族含む実人員）"),
    ("(2)", "地域協議会の構成員、取組内容"),
    ("(3)", "代表者会議の構成員、取組内容"),
    ("(4)", "実務者会議の構成員、取組内容"),
    ("(5)", "個別ケース検討会議の構成員、取組内容"),
    ("(6)", "調整機関の職員、取組内容"),
)
COSTS = ("3", "事業所要額（対象経費の具体的な内訳を記載）")
COST_HEADERS = ("費目", "金額（円）", "備考")


def build(data: Form2Data, today: date | None = None) -> Document:
    doc = Document(form_label=FORM_LABEL, dated=format_wareki(data.dated or today or date.today()),
                   municipality=data.municipality,
                   title=TITLE.format(year=wareki_year_label(data.fiscal_year)),
                   sheet_name="様式2 事業計画書")
    doc.add(Heading(*PERIOD, 1), Text(_period(data)), Heading(*CONTENT, 1))
    expected = f"{data.expected_women}人" if data.expected_women is not None else ""
    doc.add(Heading(*ITEMS[0], 2), Text(expected))
    for (number, heading), section in zip(ITEMS[1:], data.sections, strict=True):
        members = "職員" if number == "(6)" else "構成員"
        doc.add(Heading(number, heading, 2), Caption(members), Text(section.members),
                Caption("取組内容"), Text(section.activities))
    doc.add(Heading(*COSTS, 1), cost_table(data.cost_lines, data.total_yen))
    return doc


def _period(data: Form2Data) -> str:
    if data.period_from and data.period_to:
        return f"{format_wareki(data.period_from)}から{format_wareki(data.period_to)}まで"
    if data.period_from:
        return f"{format_wareki(data.period_from)}から"
    return ""


def cost_table(lines, total: int) -> Table:
    return Table(COST_HEADERS, tuple((line.item, line.amount_yen, line.note) for line in lines),
                 numeric=(1,), total=("合計", total, ""))


def write_xlsx(data: Form2Data, out) -> None:
    document.write_xlsx(build(data), out)


def write_pdf(data: Form2Data, out) -> None:
    document.write_pdf(build(data), out)
