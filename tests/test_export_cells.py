"""Formula neutralising and Japanese file names, the two rules every export shares."""

import pytest

from kyogikai.exports.cells import content_disposition, neutralise


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"y\")", "+1-2", "-2+3", "@SUM(A1)",
                                  "\tx", "\rx"])
def test_formula_like_text_is_neutralised(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["緑町1-2-3", "a=b", "", -5, 3.5, None])
def test_other_values_pass_unchanged(value):
    assert neutralise(value) == value


def test_content_disposition_carries_the_japanese_name():
    header = content_disposition("ケース進行管理台帳_20261128.csv")
    assert "filename*=UTF-8''%E3%82%B1" in header
    assert 'filename="' in header and header.isascii()
