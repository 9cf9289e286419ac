"""Cell formatters shared by list and details pages (Flask-Admin column_formatters signature)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

from kyogikai.japanese.age import age_on
from kyogikai.japanese.wareki import format_wareki, format_wareki_with_western

JST = ZoneInfo("Asia/Tokyo")


def format_local_datetime(value: datetime) -> str:
    """Stored in UTC (SQLite hands it back naive); shown in Japan time, 和暦 with the western."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = aware.astimezone(JST)
    return f"{format_wareki_with_western(local.date())} {local:%H:%M}"


def wareki_or_blank(value) -> str:
    return format_wareki_with_western(value) if isinstance(value, date) else ""


def compact_date(value) -> Markup:
    """A list cell: 令和7年4月1日 on one line, the western date in its tooltip."""
    if not isinstance(value, date):
        return Markup("")
    return Markup('<span class="date" title="{}">{}</span>').format(value.isoformat(),
                                                                    format_wareki(value))


def birth_with_age(birth: date | None, today: date | None = None, compact: bool = False):
    """様式1's 生年月日(年齢): 和暦 (western)（N歳）, age by 年齢計算ニ関スル法律; in a list, the
    western date goes to the tooltip so the row stays one line."""
    if birth is None:
        return ""
    today = today or date.today()
    shown = compact_date(birth) if compact else wareki_or_blank(birth)
    if today < birth:
        return shown
    return shown + f"（{age_on(birth, today)}歳）"


def name_with_furigana(person) -> Markup:
    """Name with its reading in small type under it (a list cell, two short lines)."""
    if person is None:
        return Markup("")
    reading = (Markup('<small class="reading">{}</small>').format(person.furigana)
               if person.furigana else "")
    return Markup('<span class="person-name">{}</span>{}').format(person.name, reading)


def clipped(text) -> Markup:
    """Long text (an agency's name) on one line, cut with … and whole in the tooltip."""
    text = "" if text is None else str(text)
    return Markup('<span class="clip" title="{}">{}</span>').format(text, text)
