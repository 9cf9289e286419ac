"""Cell formatters shared by list and details pages (Flask-Admin column_formatters signature)."""

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

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


def safe(value) -> Markup:
    """``value`` escaped; Markup is already safe HTML and passes as it is (escape would copy
    it into a new Markup, a few thousand times on a list page)."""
    return value if type(value) is Markup else escape(value)


def html(template: str, *values) -> Markup:
    """A constant HTML ``template`` with its ``{}`` slots filled by ``values``, each escaped
    (Markup passes as it is): what Markup.format does, at a fraction of its cost with
    markupsafe's C escape and str.format (a 50-row list builds a few hundred cells)."""
    return Markup(template.format(*map(safe, values)))  # nosec B704  # every value escaped


@lru_cache(maxsize=8192)
def compact_date(value) -> Markup:
    """A list cell: 令和7年4月1日 on one line, the western date in its tooltip (the same few
    thousand dates recur on every page: computed once each)."""
    if not isinstance(value, date):
        return Markup("")
    return html('<span class="date" title="{}">{}</span>', value.isoformat(), format_wareki(value))


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
    if not person.furigana:
        return html('<span class="person-name">{}</span>', person.name)
    return html('<span class="person-name">{}</span><small class="reading">{}</small>',
                person.name, person.furigana)


def clipped(text) -> Markup:
    """Long text (an agency's name) on one line, cut with … and whole in the tooltip."""
    text = "" if text is None else str(text)
    return html('<span class="clip" title="{}">{}</span>', text, text)
