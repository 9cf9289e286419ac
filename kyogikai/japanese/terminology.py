"""The terms 困難な問題を抱える女性への支援に関する法律 (令和4年法律第52号, in force 2024-04-01)
renamed. The screens take the 2024 wording from a catalog (translations/terminology_2024, built
by scripts/terminology.py), not from this table at run time; the 様式 keep the 要綱's words."""

RENAMED_2024 = {
    "婦人相談所": "女性相談支援センター",
    "婦人相談員": "女性相談支援員",
    "婦人保護施設": "女性自立支援施設",
    "地域協議会": "支援調整会議",
}

TERMINOLOGIES = ("2021", "2024")


def in_2024_terms(text: str) -> str:
    """``text`` with each renamed term in its 2024 form (a proposal for the catalog)."""
    for old, new in RENAMED_2024.items():
        text = text.replace(old, new)
    return text


def uses_old_terms(text: str) -> bool:
    return any(old in text for old in RENAMED_2024)
