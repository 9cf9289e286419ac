"""Cell formatters shared by list and details pages (Flask-Admin column_formatters signature)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

from kyogikai.japanese.age import age_on
from kyogikai.japanese.wareki import format_wareki_with_western

JST = ZoneInfo("Asia/Tokyo")


def format_local_datetime(value: datetime) -> str:
    """Stored in UTC (SQLite hands it back naive); shown in Japan time, 和暦 with the western."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = aware.astimezone(JST)
    return f"{format_wareki_with_western(local.date())} {local:%H:%M}"


def wareki_or_blank(value) -> str:
    return format_wareki_with_western(value) if isinstance(value, date) else ""


def birth_with_age(birth: date | None, today: date | None = None) -> str:
    """様式1's 生年月日(年齢): 和暦 (western)（N歳）, age by 年齢計算ニ関スル法律."""
    if birth is None:
        return ""
    today = today or date.today()
    if today < birth:
        return wareki_or_blank(birth)
    return f"{format_wareki_with_western(birth)}（{age_on(birth, today)}歳）"


def name_with_furigana(person) -> Markup:
    if person is None:
        return Markup("")
    if not person.furigana:
        return Markup("{}").format(person.name)
    return Markup('{}<br><small class="text-muted">{}</small>').format(person.name, person.furigana)
