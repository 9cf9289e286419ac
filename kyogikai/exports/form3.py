"""様式3 実施状況報告書, headings and numbering as the 要綱 prints them (別紙様式3). The figures of
1(1)–(6) are computed from the 年度's records (models.annual); the text of each part and the cost
lines come from the AnnualReport (policy.forms.form3_data)."""

from datetime import date

from kyogikai.exports import document
from kyogikai.exports.document import Caption, Document, Heading, Table, Text
from kyogikai.exports.form2 import cost_table
from kyogikai.japanese.wareki import format_wareki, wareki_year_label
from kyogikai.models.annual import AnnualFigures, MeetingKindFigures
from kyogikai.models.meetings import MeetingKind
from kyogikai.policy.forms import Form3Data

FORM_LABEL = "(別紙様式3)"
TITLE = "{year} 困難な問題抱える女性支援連携強化モデル事業に関する実施状況報告"  # sic, as printed
RESULTS = ("1", "事業実績内容")
ITEMS = (
    ("(1)", "支援対象女性数（同伴家族含む実人数、属性を内訳として記載）"),
    ("(2)", "地域協議会の構成員、取組実績"),
    ("(3)", "代表者会議の構成員、取組実績"),
    ("(4)", "実務者会議の構成員、取組実績"),
    ("(5)", "個別ケース検討会議の構成員、取組実績"),
    ("(6)", "調整機関の職員、取組実績"),
    ("(7)", "当該モデル事業の実施に当たり工夫したことや効果、課題等（具体的に記載）"),
)
COSTS = ("2", "事業実績額（対象経費の具体的な支出内訳（人件費、会議費、事務等）を記載）")
MEETING_ITEMS = {MeetingKind.representative: 2, MeetingKind.practitioner: 3,
                 MeetingKind.case_conference: 4}
COUNT_HEADERS = ("区分", "人数")


def women_tables(f: AnnualFigures) -> list:
    """1(1): 実人数 and its breakdowns, each a (caption, table) pair; shown on screen too."""
    people = Table(COUNT_HEADERS, (("支援対象女性", f.women), ("同伴家族", f.companions)),
                   numeric=(1,), total=("計（同伴家族含む実人数）", f.total))
    return [
        ("実人数", people),
        (f"年齢（{format_wareki(f.age_on)}現在）", _tally(f.by_age)),
        ("主訴（複数該当あり）", _tally(f.by_concern)),
        ("相談経路", _tally(f.by_route)),
        ("同伴家族の有無", _tally(f.by_companions)),
    ]


def _tally(tallies) -> Table:
    return Table(COUNT_HEADERS, tuple((t.label, t.count) for t in tallies), numeric=(1,))


def women_summary(f: AnnualFigures) -> str:
    return (f"{wareki_year_label(f.fiscal_year)}に支援を行ったケース（{format_wareki(f.start)}から"
            f"{format_wareki(f.end)}までに受理され、その間に終結・移管していないもの）の女性の"
            f"実人数。うち同年度の新規受理は{f.new_cases}件。")


def member_table(f: AnnualFigures) -> Table:
    return Table(("機関名", "区分（要綱4(1)）"), f.member_agencies)


def meeting_table(m: MeetingKindFigures) -> Table:
    return Table(("回", "開催日", "出席機関数"),
                 tuple((f"第{i}回", format_wareki(h.held_on), h.agencies)
                       for i, h in enumerate(m.held, start=1)), numeric=(2,))


def meeting_caption(m: MeetingKindFigures, f: AnnualFigures) -> str:
    until = "" if f.held_until >= f.end else f"（{format_wareki(f.held_until)}まで）"
    return f"開催実績：{m.count}回{until}"


def coordinator_table(f: AnnualFigures) -> Table:
    return Table(("氏名", "所属機関", "職名", "資格等（要綱4(3)①）"),
                 tuple((c.name, c.agency, c.title, "\n".join(c.qualifications) or "―")
                       for c in f.coordinators))


def build(data: Form3Data, today: date | None = None) -> Document:
    f = data.figures
    doc = Document(form_label=FORM_LABEL, dated=format_wareki(data.dated or today or date.today()),
                   municipality=data.municipality,
                   title=TITLE.format(year=wareki_year_label(data.fiscal_year)),
                   sheet_name="様式3 実施状況報告書")
    doc.add(Heading(*RESULTS, 1), Heading(*ITEMS[0], 2), Text(women_summary(f)))
    for caption, table in women_tables(f):
        doc.add(Caption(caption), table)
    if data.women_note:
        doc.add(Caption("補足"), Text(data.women_note))

    council = data.sections[0]
    doc.add(Heading(*ITEMS[1], 2), Caption(f"構成員（{len(f.member_agencies)}機関）"),
            member_table(f))
    if council.members:
        doc.add(Text(council.members))
    doc.add(Caption("取組実績"), Text(council.activities))

    for kind, index in MEETING_ITEMS.items():
        m = f.meetings_of(kind)
        section = data.sections[index - 1]
        doc.add(Heading(*ITEMS[index], 2), Caption("構成員（出席した機関）"),
                Text("、".join(m.agencies) or "（出席の記録なし）"))
        if section.members:
            doc.add(Text(section.members))
        doc.add(Caption(meeting_caption(m, f)))
        if m.held:
            doc.add(meeting_table(m))
        doc.add(Caption("取組実績"), Text(section.activities))

    staff = data.sections[4]
    doc.add(Heading(*ITEMS[5], 2), Caption(f"調整担当者（{len(f.coordinators)}人）"))
    if f.coordinators:
        doc.add(coordinator_table(f))
    if staff.members:
        doc.add(Text(staff.members))
    doc.add(Caption("取組実績"), Text(staff.activities))

    doc.add(Heading(*ITEMS[6], 2), Text(data.ingenuity))
    doc.add(Heading(*COSTS, 1), cost_table(data.cost_lines, data.total_yen))
    return doc


def write_xlsx(data: Form3Data, out) -> None:
    document.write_xlsx(build(data), out)


def write_pdf(data: Form3Data, out) -> None:
    document.write_pdf(build(data), out)
