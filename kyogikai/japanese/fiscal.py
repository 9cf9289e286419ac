"""Japanese fiscal year (年度), which runs from 1 April to 31 March of the next year."""

from datetime import date

from kyogikai.japanese.wareki import _fiscal_era_year

__all__ = ["fiscal_year", "fiscal_year_range", "fiscal_year_prefix"]


def fiscal_year(d: date) -> int:
    """The 年度 containing d, named by the calendar year in which it starts."""
    return d.year if d.month >= 4 else d.year - 1


def fiscal_year_range(fy: int) -> tuple[date, date]:
    """First and last day of the fiscal year, both inclusive."""
    return date(fy, 4, 1), date(fy + 1, 3, 31)


def fiscal_year_prefix(fy: int) -> str:
    """Era initial and year used in case numbers, e.g. R7; 元年 is written as 1 (R1).

    Uses the same era rule as wareki.wareki_year_label so the prefix matches the printed 年度.
    """
    era, year = _fiscal_era_year(fy)
    return f"{era.initial}{year}"
