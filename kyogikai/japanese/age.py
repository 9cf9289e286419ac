"""Legal age under 年齢計算ニ関スル法律 and 民法143条.

Age is counted from the day of birth and a year ends at the close of the day before the
anniversary, so a person gains a year on the eve of the birthday: born 2000-04-02 is 20 on
2020-04-01. For 29 February births the anniversary in a common year has no matching day, so the
year ends on the last day of February (143条2項 ただし書).
"""

from datetime import date, timedelta

from kyogikai.japanese.wareki import format_wareki_with_western

__all__ = ["age_on", "format_birth_with_age", "latest_birth_for_age"]


def age_on(birth: date, on: date) -> int:
    """Legal age on the day `on`, counting a year as reached on the day before the birthday.

    That equals the everyday age on the following day. Comparing (month, day) tuples gives a
    29 February birth its new year on 28 February every year, as 143条 requires.
    """
    if on < birth:
        raise ValueError("基準日が生年月日より前です")
    following = on + timedelta(days=1)
    not_yet = (following.month, following.day) < (birth.month, birth.day)
    return following.year - birth.year - not_yet


def format_birth_with_age(birth: date, on: date) -> str:
    """Birth date with age for case sheets: 平成12年4月2日 (2000-04-02)（20歳）."""
    return f"{format_wareki_with_western(birth)}（{age_on(birth, on)}歳）"


def latest_birth_for_age(age: int, on: date) -> date:
    """The latest birth date of a person who has reached ``age`` on the day ``on``.

    Everyone born on or before it is at least ``age``; everyone born after it is younger. So an
    age band is a range of birth dates, which a database can count without computing ages.
    A person reaches an age on the eve of the birthday, so the anniversary of the day after
    ``on`` is the boundary; a 29 February that the year lacks falls back to the 28th (143条).
    """
    following = on + timedelta(days=1)
    year = following.year - age
    try:
        return following.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)
