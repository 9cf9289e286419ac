"""Tests for the pure Japanese-convention helpers in the japanese package."""

import re
from datetime import date, datetime

import pytest

from kyogikai.japanese.age import age_on, format_birth_with_age
from kyogikai.japanese.fiscal import fiscal_year, fiscal_year_prefix, fiscal_year_range
from kyogikai.japanese.kana import bigrams, fold, is_katakana_reading, to_katakana
from kyogikai.japanese.wareki import (
    ERAS,
    WarekiError,
    format_wareki,
    format_wareki_with_western,
    format_wareki_year,
    parse_date,
    wareki_year_label,
)

FORMAT_EXAMPLE = "R7.4.1"


def assert_japanese_message(error: pytest.ExceptionInfo[WarekiError]) -> str:
    """Messages are shown to users as is, so they must be Japanese (examples aside)."""
    assert error.type is WarekiError
    message = str(error.value)
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", message)
    assert not re.search(r"[A-Za-z]", message.replace(FORMAT_EXAMPLE, ""))
    return message


# --- wareki: era table -------------------------------------------------------------------


def test_eras_table_is_chronological_and_complete():
    assert [(e.name, e.initial, e.start) for e in ERAS] == [
        ("明治", "M", date(1868, 10, 23)),
        ("大正", "T", date(1912, 7, 30)),
        ("昭和", "S", date(1926, 12, 25)),
        ("平成", "H", date(1989, 1, 8)),
        ("令和", "R", date(2019, 5, 1)),
    ]


def test_era_rows_unpack_as_plain_tuples():
    name, initial, start = ERAS[-1]
    assert (name, initial, start) == ("令和", "R", date(2019, 5, 1))


def test_wareki_error_is_value_error():
    assert issubclass(WarekiError, ValueError)


# --- wareki: formatting ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2025, 4, 1), "令和7年4月1日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 12, 31), "令和元年12月31日"),
        (date(2020, 1, 1), "令和2年1月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1912, 7, 29), "明治45年7月29日"),
        (date(1868, 10, 23), "明治元年10月23日"),
        (date(2000, 2, 29), "平成12年2月29日"),
        (date(2024, 2, 29), "令和6年2月29日"),
    ],
)
def test_format_wareki(d, expected):
    assert format_wareki(d) == expected


def test_format_wareki_accepts_datetime():
    assert format_wareki(datetime(2025, 4, 1, 9, 30)) == "令和7年4月1日"


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2025, 4, 1), "令和7年4月1日 (2025-04-01)"),
        (date(2019, 5, 1), "令和元年5月1日 (2019-05-01)"),
        (date(1989, 1, 7), "昭和64年1月7日 (1989-01-07)"),
        (datetime(2025, 4, 1, 9, 30), "令和7年4月1日 (2025-04-01)"),
    ],
)
def test_format_wareki_with_western(d, expected):
    assert format_wareki_with_western(d) == expected


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2025, 4, 1), "令和7年"),
        (date(2019, 5, 1), "令和元年"),
        (date(2019, 4, 30), "平成31年"),
        (date(1989, 1, 8), "平成元年"),
    ],
)
def test_format_wareki_year(d, expected):
    assert format_wareki_year(d) == expected


@pytest.mark.parametrize("d", [date(1868, 10, 22), date(1868, 1, 25), date(1800, 1, 1)])
def test_format_before_meiji_raises(d):
    with pytest.raises(WarekiError) as error:
        format_wareki(d)
    assert "明治" in assert_japanese_message(error)


@pytest.mark.parametrize(
    ("fy", "expected"),
    [
        (2025, "令和7年度"),
        (2020, "令和2年度"),
        (2019, "令和元年度"),
        (2018, "平成30年度"),
        (1989, "平成元年度"),
        (1988, "昭和63年度"),
        (1926, "昭和元年度"),
        (1927, "昭和2年度"),
        (1912, "大正元年度"),
        (1868, "明治元年度"),
    ],
)
def test_wareki_year_label(fy, expected):
    assert wareki_year_label(fy) == expected


def test_wareki_year_labels_never_repeat():
    labels = [wareki_year_label(fy) for fy in range(1868, 2100)]
    assert len(labels) == len(set(labels))


def test_wareki_year_label_before_meiji_raises():
    with pytest.raises(WarekiError) as error:
        wareki_year_label(1867)
    assert_japanese_message(error)


# --- wareki: parsing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-04-01", date(2025, 4, 1)),
        ("2025/4/1", date(2025, 4, 1)),
        ("2025.4.1", date(2025, 4, 1)),
        ("2025年4月1日", date(2025, 4, 1)),
        ("令和7年4月1日", date(2025, 4, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("令和1年5月1日", date(2019, 5, 1)),
        ("R7.4.1", date(2025, 4, 1)),
        ("R7/4/1", date(2025, 4, 1)),
        ("R7-4-1", date(2025, 4, 1)),
        ("R07.04.01", date(2025, 4, 1)),
        ("r7.4.1", date(2025, 4, 1)),
        ("R元.5.1", date(2019, 5, 1)),
        ("H31.4.30", date(2019, 4, 30)),
        ("h31/04/30", date(2019, 4, 30)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("S64.1.7", date(1989, 1, 7)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("T15.12.24", date(1926, 12, 24)),
        ("M45.7.29", date(1912, 7, 29)),
        ("明治元年10月23日", date(1868, 10, 23)),
        ("2000-02-29", date(2000, 2, 29)),
        ("令和6年2月29日", date(2024, 2, 29)),
        ("H12.2.29", date(2000, 2, 29)),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("２０２５／４／１", date(2025, 4, 1)),
        ("２０２５－０４－０１", date(2025, 4, 1)),
        ("２０２５年４月１日", date(2025, 4, 1)),
        ("令和７年４月１日", date(2025, 4, 1)),
        ("Ｒ７．４．１", date(2025, 4, 1)),
        ("ｒ７／４／１", date(2025, 4, 1)),
        ("2025ー04ー01", date(2025, 4, 1)),
        ("2025−04−01", date(2025, 4, 1)),
        ("  2025-04-01  ", date(2025, 4, 1)),
        ("令和 7年 4月 1日", date(2025, 4, 1)),
        ("\u3000令和元年\u30005月1日\u3000", date(2019, 5, 1)),
        ("R 7 . 4 . 1", date(2025, 4, 1)),
        ("2025 / 4 / 1\n", date(2025, 4, 1)),
    ],
)
def test_parse_date_normalises_width_and_spaces(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "d",
    [
        date(1868, 10, 23),
        date(1912, 7, 29),
        date(1912, 7, 30),
        date(1926, 12, 24),
        date(1926, 12, 25),
        date(1989, 1, 7),
        date(1989, 1, 8),
        date(2000, 2, 29),
        date(2019, 4, 30),
        date(2019, 5, 1),
        date(2025, 4, 1),
    ],
)
def test_format_then_parse_round_trips(d):
    assert parse_date(format_wareki(d)) == d
    assert parse_date(d.isoformat()) == d


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "2025",
        "2025-04",
        "25-04-01",
        "2025-04/01",
        "2025/4.1",
        "2025年4月1",
        "2025年4月",
        "4/1/2025",
        "01.04.2025",
        "令和7年4月",
        "令和7/4/1",
        "R7.4",
        "R7年4月1日",
        "X7.4.1",
        "令7.4.1",
        "天保3年1月1日",
        "2025-04-01 10:00",
        "20250401",
        "R7.4.1.",
        "令和七年四月一日",
        "２０２５-04-01x",
    ],
)
def test_parse_date_rejects_unknown_format(text):
    with pytest.raises(WarekiError) as error:
        parse_date(text)
    message = assert_japanese_message(error)
    assert message.startswith("日付の形式が正しくありません")
    assert FORMAT_EXAMPLE in message


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-30",
        "2025-02-29",
        "2023/2/29",
        "2025-04-31",
        "2025-13-01",
        "2025-00-10",
        "2025-04-00",
        "0000-01-01",
        "2025年4月31日",
        "令和7年13月1日",
        "令和7年2月29日",
        "R7.2.30",
        "H31.4.31",
        "２０２５／２／３０",
    ],
)
def test_parse_date_rejects_impossible_day(text):
    with pytest.raises(WarekiError) as error:
        parse_date(text)
    assert assert_japanese_message(error) == "存在しない日付です"


@pytest.mark.parametrize(
    ("text", "era_name"),
    [
        ("平成32年1月1日", "平成"),
        ("平成31年5月1日", "平成"),
        ("H31.5.1", "平成"),
        ("令和1年4月30日", "令和"),
        ("令和元年4月30日", "令和"),
        ("R1.1.1", "令和"),
        ("昭和64年1月8日", "昭和"),
        ("S65.1.1", "昭和"),
        ("平成元年1月7日", "平成"),
        ("大正元年7月29日", "大正"),
        ("明治元年1月25日", "明治"),
        ("明治46年1月1日", "明治"),
        ("大正16年1月1日", "大正"),
    ],
)
def test_parse_date_rejects_date_outside_era(text, era_name):
    with pytest.raises(WarekiError) as error:
        parse_date(text)
    message = assert_japanese_message(error)
    assert message.startswith("その元号にその日付はありません")
    assert era_name in message


def test_outside_era_message_states_the_period():
    with pytest.raises(WarekiError) as error:
        parse_date("平成32年1月1日")
    assert "1989年1月8日～2019年4月30日" in str(error.value)
    with pytest.raises(WarekiError) as error:
        parse_date("令和元年4月30日")
    assert "2019年5月1日から" in str(error.value)


def test_far_future_reiwa_year_is_accepted():
    assert parse_date("令和100年1月1日") == date(2118, 1, 1)


@pytest.mark.parametrize("text", ["令和0年5月1日", "R0.5.1", "r00.5.1", "平成0年1月8日"])
def test_parse_date_rejects_era_year_zero(text):
    with pytest.raises(WarekiError) as error:
        parse_date(text)
    assert "元年" in assert_japanese_message(error)


@pytest.mark.parametrize("text", ["1800-01-01", "1868/10/22", "1080年1月1日", "0001-01-01"])
def test_parse_date_rejects_a_western_date_before_meiji(text):
    """Every screen shows dates in 和暦: one it cannot write must not be stored (a birth date
    typed 1800-01-01 made the ledger fail for everyone)."""
    with pytest.raises(WarekiError) as error:
        parse_date(text)
    assert "明治より前" in assert_japanese_message(error)
    assert parse_date("1868-10-23") == date(1868, 10, 23)


# --- age ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        (date(2000, 4, 2), date(2020, 4, 1), 20),
        (date(2000, 4, 2), date(2020, 3, 31), 19),
        (date(2000, 4, 2), date(2020, 4, 2), 20),
        (date(2000, 4, 1), date(2020, 3, 31), 20),
        (date(2000, 4, 1), date(2020, 3, 30), 19),
        (date(2000, 2, 29), date(2021, 2, 28), 21),
        (date(2000, 2, 29), date(2021, 2, 27), 20),
        (date(2000, 2, 29), date(2021, 3, 1), 21),
        (date(2000, 2, 29), date(2024, 2, 28), 24),
        (date(2000, 2, 29), date(2024, 2, 27), 23),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        (date(2000, 3, 1), date(2024, 2, 28), 23),
        (date(2000, 3, 1), date(2024, 2, 29), 24),
        (date(2000, 3, 1), date(2023, 2, 28), 23),
        (date(2000, 1, 1), date(2019, 12, 31), 20),
        (date(2000, 1, 1), date(2019, 12, 30), 19),
        (date(2000, 4, 2), date(2000, 4, 2), 0),
        (date(2000, 4, 2), date(2001, 4, 1), 1),
        (date(2000, 4, 2), date(2001, 3, 31), 0),
        (date(1, 1, 1), date(1, 1, 1), 0),
        (date(9998, 1, 1), date(9999, 12, 30), 1),
    ],
)
def test_age_on(birth, on, expected):
    assert age_on(birth, on) == expected


def test_age_increments_exactly_on_birthday_eve():
    birth = date(1990, 7, 15)
    assert [age_on(birth, date(2010, 7, day)) for day in (13, 14, 15)] == [19, 20, 20]


def test_age_on_before_birth_raises():
    with pytest.raises(ValueError, match="生年月日"):
        age_on(date(2000, 4, 2), date(2000, 4, 1))


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        (date(2000, 4, 2), date(2020, 4, 1), "平成12年4月2日 (2000-04-02)（20歳）"),
        (date(2000, 4, 2), date(2020, 3, 31), "平成12年4月2日 (2000-04-02)（19歳）"),
        (date(2019, 5, 1), date(2025, 4, 1), "令和元年5月1日 (2019-05-01)（5歳）"),
        (date(1989, 1, 7), date(1989, 1, 7), "昭和64年1月7日 (1989-01-07)（0歳）"),
    ],
)
def test_format_birth_with_age(birth, on, expected):
    assert format_birth_with_age(birth, on) == expected


# --- fiscal year -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2025, 3, 31), 2024),
        (date(2025, 4, 1), 2025),
        (date(2025, 12, 31), 2025),
        (date(2026, 1, 1), 2025),
        (date(2024, 2, 29), 2023),
        (date(2019, 4, 30), 2019),
        (date(2019, 5, 1), 2019),
    ],
)
def test_fiscal_year(d, expected):
    assert fiscal_year(d) == expected


@pytest.mark.parametrize(
    ("fy", "expected"),
    [
        (2025, (date(2025, 4, 1), date(2026, 3, 31))),
        (2023, (date(2023, 4, 1), date(2024, 3, 31))),
        (2019, (date(2019, 4, 1), date(2020, 3, 31))),
    ],
)
def test_fiscal_year_range(fy, expected):
    assert fiscal_year_range(fy) == expected


@pytest.mark.parametrize("fy", [2019, 2023, 2024, 2025])
def test_fiscal_year_range_is_consistent_with_fiscal_year(fy):
    start, end = fiscal_year_range(fy)
    assert fiscal_year(start) == fiscal_year(end) == fy
    assert fiscal_year(date.fromordinal(start.toordinal() - 1)) == fy - 1
    assert fiscal_year(date.fromordinal(end.toordinal() + 1)) == fy + 1


@pytest.mark.parametrize(
    ("fy", "expected"),
    [
        (2025, "R7"),
        (2020, "R2"),
        (2019, "R1"),
        (2018, "H30"),
        (1989, "H1"),
        (1988, "S63"),
        (1926, "S1"),
        (1925, "T14"),
        (1912, "T1"),
        (1911, "M44"),
    ],
)
def test_fiscal_year_prefix(fy, expected):
    assert fiscal_year_prefix(fy) == expected


@pytest.mark.parametrize("fy", [1988, 1989, 2018, 2019, 2025])
def test_fiscal_year_prefix_matches_label(fy):
    prefix = fiscal_year_prefix(fy)
    label = wareki_year_label(fy).replace("元年度", "1年度")
    era = next(e for e in ERAS if e.initial == prefix[0])
    assert label == f"{era.name}{prefix[1:]}年度"


# --- kana --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("やまだ はなこ", "ヤマダハナコ"),
        ("ヤマダ\u3000ハナコ", "ヤマダハナコ"),
        ("ﾔﾏﾀﾞ ﾊﾅｺ", "ヤマダハナコ"),
        ("ｶﾞｷﾞｸﾞ", "ガギグ"),
        ("ﾊﾟﾋﾟﾌﾟ", "パピプ"),
        ("山田　花子", "山田花子"),
        ("ＹＡＭＡＤＡ Ｈａｎａｋｏ", "yamadahanako"),
        ("ABC abc", "abcabc"),
        ("０９０－１２３４", "090-1234"),
        ("ぁゔゕゖ", "ァヴヵヶ"),
        ("いすゞ", "イスヾ"),
        ("ｰ", "ー"),
        (" \t\n\u3000", ""),
        ("", ""),
        ("Ａ\u3000ｂ\tC", "abc"),
    ],
)
def test_fold(text, expected):
    assert fold(text) == expected


def test_fold_only_lowercases_ascii():
    assert fold("ΑΒΓ") == "ΑΒΓ"


def test_fold_is_idempotent():
    text = "ﾔﾏﾀﾞ　はなこ ＡＢＣ"
    assert fold(fold(text)) == fold(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("やまだ はなこ", "ヤマダ\u3000ハナコ"),
        ("  やまだ   はなこ  ", "ヤマダ\u3000ハナコ"),
        ("\u3000ヤマダ\u3000\u3000ハナコ\u3000", "ヤマダ\u3000ハナコ"),
        ("ﾔﾏﾀﾞ ﾊﾅｺ", "ヤマダ\u3000ハナコ"),
        ("やまだ\tはなこ", "ヤマダ\u3000ハナコ"),
        ("Ａｂｃ", "Abc"),
        ("", ""),
    ],
)
def test_to_katakana(text, expected):
    assert to_katakana(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ヤマダ ハナコ", True),
        ("やまだ はなこ", True),
        ("ﾔﾏﾀﾞ ﾊﾅｺ", True),
        ("ヴィクトリア・スミス", True),
        ("サトー", True),
        ("  ヤマダ  ", True),
        ("山田 花子", False),
        ("ヤマダ1", False),
        ("yamada", False),
        ("ヤマダ・hanako", False),
        ("", False),
        ("\u3000 ", False),
    ],
)
def test_is_katakana_reading(text, expected):
    assert is_katakana_reading(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("やまだ", ["ヤマ", "マダ"]),
        ("ヤマダ ハナコ", ["ヤマ", "マダ", "ダハ", "ハナ", "ナコ"]),
        ("ﾔﾏﾀﾞ", ["ヤマ", "マダ"]),
        ("ままま", ["ママ"]),
        ("ABAB", ["ab", "ba"]),
        ("山田", ["山田"]),
        ("林", ["林"]),
        ("  あ  ", ["ア"]),
        ("", []),
        ("\u3000", []),
    ],
)
def test_bigrams(text, expected):
    assert bigrams(text) == expected


def test_bigrams_match_across_scripts_and_widths():
    assert bigrams("やまだ はなこ") == bigrams("ﾔﾏﾀﾞﾊﾅｺ") == bigrams("ヤマダ\u3000ハナコ")
