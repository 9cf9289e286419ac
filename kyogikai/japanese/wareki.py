"""Japanese era (和暦) dates as written on municipal forms and case files.

明治 starts on 1868-10-23 (Gregorian for 慶応4年9月8日, the day of the 改元の詔) rather than
the retroactive 1868-01-25: records never use 明治 for days before the proclamation. Dates are
handled in the proleptic Gregorian calendar, so days before 1873 (when Japan left the lunisolar
calendar) are converted arithmetically, not historically.
"""

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import NamedTuple

__all__ = [
    "ERAS",
    "Era",
    "WarekiError",
    "format_wareki",
    "format_wareki_with_western",
    "format_wareki_year",
    "wareki_year_label",
    "parse_date",
]


class Era(NamedTuple):
    """One row of the era table; a tuple so callers may unpack it."""

    name: str
    initial: str
    start: date


ERAS: tuple[Era, ...] = (
    Era("明治", "M", date(1868, 10, 23)),
    Era("大正", "T", date(1912, 7, 30)),
    Era("昭和", "S", date(1926, 12, 25)),
    Era("平成", "H", date(1989, 1, 8)),
    Era("令和", "R", date(2019, 5, 1)),
)


class WarekiError(ValueError):
    """Invalid or unconvertible date; the message is Japanese so forms can show it as is."""


_MSG_FORMAT = "日付の形式が正しくありません（例: 2025-04-01、2025/4/1、令和7年4月1日、R7.4.1）"
_MSG_NO_SUCH_DAY = "存在しない日付です"
_MSG_YEAR_ZERO = "元号の年は元年（1年）以上で入力してください"
_MSG_BEFORE_MEIJI = "明治より前の日付は和暦で表せません"

_BY_NAME = {era.name: era for era in ERAS}
_BY_INITIAL = {era.initial: era for era in ERAS}
_ERA_NAMES = "|".join(_BY_NAME)
_ERA_INITIALS = "".join(_BY_INITIAL)

# Japanese IMEs turn "-" into "ー" or a dash-like character that NFKC leaves alone.
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ー", "-"))

_WESTERN = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})")
_WESTERN_KANJI = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日")
_ERA_KANJI = re.compile(rf"({_ERA_NAMES})(元|[0-9]{{1,3}})年([0-9]{{1,2}})月([0-9]{{1,2}})日")
_ERA_INITIAL = re.compile(
    rf"([{_ERA_INITIALS}])(元|[0-9]{{1,3}})([-/.])([0-9]{{1,2}})\3([0-9]{{1,2}})",
    re.IGNORECASE,
)


def _era_of(d: date) -> Era:
    """Latest era whose start is on or before d (datetimes are reduced to their date)."""
    if isinstance(d, datetime):
        d = d.date()
    for era in reversed(ERAS):
        if d >= era.start:
            return era
    raise WarekiError(_MSG_BEFORE_MEIJI)


def representable(d: date) -> date:
    """``d`` when 和暦 can write it (明治 on), else WarekiError: every screen and 様式 shows
    dates in 和暦, so a date before 明治 typed as 1800-01-01 would make them fail."""
    _era_of(d)
    return d


def _next_era(era: Era) -> Era | None:
    index = ERAS.index(era)
    return ERAS[index + 1] if index + 1 < len(ERAS) else None


def _year_text(year: int) -> str:
    """Year 1 of an era is always written 元年 in official documents."""
    return "元" if year == 1 else str(year)


def _kanji_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def format_wareki_year(d: date) -> str:
    """Era and year of d, e.g. 令和7年, for headings that omit month and day."""
    era = _era_of(d)
    return f"{era.name}{_year_text(d.year - era.start.year + 1)}年"


def format_wareki(d: date) -> str:
    """Full 和暦 date without zero padding, e.g. 令和7年4月1日 or 令和元年5月1日."""
    return f"{format_wareki_year(d)}{d.month}月{d.day}日"


def format_wareki_with_western(d: date) -> str:
    """和暦 followed by ISO date so both readers and staff cross-checking systems agree."""
    return f"{format_wareki(d)} ({d.year:04d}-{d.month:02d}-{d.day:02d})"


def _fiscal_era_year(fiscal_year: int) -> tuple[Era, int]:
    """Era and era year naming the fiscal year starting on 1 April of fiscal_year.

    The era in force on 31 December of the starting calendar year is used: an era that begins
    between April and December names the whole fiscal year (2019年度 is 令和元年度, not
    平成31年度), while one beginning in January to March starts with the next fiscal year
    (1988年度 is 昭和63年度 and 1989年度 is 平成元年度). Labels therefore never collide.
    """
    era = _era_of(date(fiscal_year, 12, 31))
    return era, fiscal_year - era.start.year + 1


def wareki_year_label(fiscal_year: int) -> str:
    """年度 label such as 令和7年度 for fiscal year 2025."""
    era, year = _fiscal_era_year(fiscal_year)
    return f"{era.name}{_year_text(year)}年度"


def _from_era(era: Era, year_text: str, month: int, day: int) -> date:
    """Resolve an era date, rejecting days the era never covered."""
    year = 1 if year_text == "元" else int(year_text)
    if year < 1:
        raise WarekiError(_MSG_YEAR_ZERO)
    result = _make_date(era.start.year + year - 1, month, day)
    following = _next_era(era)
    if result < era.start or (following is not None and result >= following.start):
        if following is None:
            period = f"{_kanji_date(era.start)}から"
        else:
            last = following.start - timedelta(days=1)
            period = f"{_kanji_date(era.start)}～{_kanji_date(last)}"
        raise WarekiError(f"その元号にその日付はありません（{era.name}は{period}）")
    return result


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise WarekiError(_MSG_NO_SUCH_DAY) from None


def parse_date(text: str) -> date:
    """Parse the date spellings residents and staff actually type into forms.

    Input is NFKC-normalised so full-width digits and separators work, and all whitespace is
    removed. Raises WarekiError with a Japanese message for anything unusable.
    """
    cleaned = "".join(unicodedata.normalize("NFKC", text).translate(_DASHES).split())
    if match := _WESTERN.fullmatch(cleaned):
        return representable(_make_date(int(match[1]), int(match[3]), int(match[4])))
    if match := _WESTERN_KANJI.fullmatch(cleaned):
        return representable(_make_date(int(match[1]), int(match[2]), int(match[3])))
    if match := _ERA_KANJI.fullmatch(cleaned):
        return _from_era(_BY_NAME[match[1]], match[2], int(match[3]), int(match[4]))
    if match := _ERA_INITIAL.fullmatch(cleaned):
        era = _BY_INITIAL[match[1].upper()]
        return _from_era(era, match[2], int(match[4]), int(match[5]))
    raise WarekiError(_MSG_FORMAT)
