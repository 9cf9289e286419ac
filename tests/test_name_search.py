"""Name search is exact: whatever index narrows the candidates, the rows are those of a plain
LIKE on each folded name (two-kanji surnames above all), on SQLite and on PostgreSQL alike."""

from datetime import date

import pytest
import sqlalchemy as sa

from kyogikai.japanese.kana import fold
from kyogikai.models import Case, CaseStatus, Woman, db
from kyogikai.models.women import name_matches

# (name, 通称, フリガナ). Near misses on purpose: 佐 and 藤 apart, reversed, and adjacent only
# across the boundary between name and 通称; サト and トウ both in カトウ サトミ, not サトウ.
WOMEN = [
    ("佐藤 花子", "", "サトウ ハナコ"),
    ("伊藤 明美", "", "イトウ アケミ"),
    ("佐藤田 恵", "", "サトウダ メグミ"),
    ("佐々木 藤子", "", "ササキ フジコ"),
    ("藤佐 和子", "", "フジサ カズコ"),
    ("山田 佐", "藤 花子", "ヤマダ タスク"),
    ("加藤 里美", "", "カトウ サトミ"),
    ("斎藤 佐和", "", "サイトウ サワ"),
    ("後藤 さとう", "", "ゴトウ サトウ"),
    ("林 葉子", "", "ハヤシ ヨウコ"),
]
KANJI = ["佐藤", "伊藤", "加藤", "藤佐", "佐々", "藤花", "佐", "藤", "林"]
KANA = ["サトウ", "さとう", "ｻﾄｳ", "トウ", "サトミ", "ハナコ", "ウダ", "ウハ", "コヤ", "ア"]


@pytest.fixture
def women(app):
    with app.app_context():
        for name, alias, furigana in WOMEN:
            db.session.add(Case(woman=Woman(name=name, alias=alias, furigana=furigana),
                                received_on=date(2025, 4, 10), status=CaseStatus.received))
        db.session.commit()


def _found(term: str) -> set[str]:
    return set(db.session.scalars(sa.select(Woman.name).where(name_matches(Woman.id, term))))


@pytest.mark.parametrize("term", KANJI)
def test_a_kanji_name_finds_the_rows_of_a_plain_like(app, women, term):
    with app.app_context():
        # search_text: each name folded (so 斎藤 佐和 holds 藤佐), the names apart.
        like = set(db.session.scalars(sa.select(Woman.name).where(
            Woman.search_text.like(f"%{fold(term)}%"))))
        assert _found(term) == like


@pytest.mark.parametrize("term", KANJI + KANA)
def test_every_term_finds_the_rows_whose_folded_names_hold_it(app, women, term):
    expected = {name for name, alias, furigana in WOMEN
                if any(fold(term) in fold(part) for part in (name, alias, furigana))}
    with app.app_context():
        assert _found(term) == expected


def test_the_ledger_lists_exactly_those_cases(login_as, women):
    page = login_as("coordinator").get("/admin/case/?search=佐藤").get_data(as_text=True)
    shown = {name for name, _alias, _furigana in WOMEN if name in page}
    assert shown == {"佐藤 花子", "佐藤田 恵"}
    page = login_as("coordinator").get("/admin/case/?search=さとう").get_data(as_text=True)
    shown = {name for name, _alias, _furigana in WOMEN if name in page}
    assert shown == {"佐藤 花子", "佐藤田 恵", "後藤 さとう"}
