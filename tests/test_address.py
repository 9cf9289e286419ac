"""japanese/address.py: every spelling of an address folds to one key; the matcher finds the keys
of hidden addresses in free text, and nothing else."""

import pytest

from kyogikai.japanese.address import (
    KeyMatcher,
    address_keys,
    normalize,
    normalize_with_spans,
    postal_code_keys,
)

HIDDEN = {"postal_code": "000-0000", "municipality": "みどり市", "street": "緑町1丁目26番3号",
          "katagaki": "グリーンハイツ101号室"}
MASK = "■"


@pytest.mark.parametrize("typed,key", [
    ("緑町1-26-3", "緑町1-26-3"),
    ("緑町１－２６－３", "緑町1-26-3"),            # full-width digits and minus
    ("緑町１丁目２６番３号", "緑町1-26-3"),          # 丁目/番/号
    ("緑町1丁目26番地の3", "緑町1-26-3"),           # 番地の
    ("緑町一丁目二十六番三号", "緑町1-26-3"),        # kanji numerals
    ("緑町壱丁目弐拾六番参号", "緑町1-26-3"),        # formal numerals
    ("緑町1ー26ー3", "緑町1-26-3"),                # katakana long mark as a hyphen
    ("緑町1‐26—3", "緑町1-26-3"),                  # Unicode dashes
    ("緑町1−26−3", "緑町1-26-3"),                  # minus sign
    ("緑町 1 - 26 - 3", "緑町1-26-3"),             # spaces
    ("緑町\r\n1-26\n-3", "緑町1-26-3"),            # line breaks
    ("緑町\u200b1-26-3", "緑町1-26-3"),            # zero-width space
    ("緑町1・26・3", "緑町1-26-3"),                # middle dot
    ("緑町1の26の3", "緑町1-26-3"),                # の between numbers
    ("緑町1丁目", "緑町1"),                        # town plus 丁目
    ("ｸﾞﾘｰﾝﾊｲﾂ１０１号室", "グリ-ンハイツ101"),      # half-width kana, room
    ("グリーン　ハイツ　101", "グリ-ンハイツ101"),     # ideographic spaces
    ("GREEN Heights", "greenheights"),             # Latin, case folded
    ("〒000-0000", "〒000-0000"),
    ("〒０００－００００", "〒000-0000"),
    ("二〇二五年", "2025年"),
    ("《7》9876543", "7|9876543"),                 # dropped brackets keep numbers apart
    ("1（26）", "1|26"),
    ("千九百八十", "1980"),
    ("", ""),
])
def test_spellings_fold_to_one_key(typed, key):
    assert normalize(typed) == key


def test_every_key_character_knows_where_it_came_from():
    text = "住所は緑町１丁目２６番です"
    chars = normalize_with_spans(text)
    assert "".join(c for c, _, _ in chars) == "住所は緑町1-26です"
    start = next(s for c, s, _ in chars if c == "緑")
    end = max(e for c, s, e in chars if c in "126-")
    assert text[start:end] == "緑町１丁目２６番"


def test_the_keys_of_an_address():
    keys = address_keys(**HIDDEN)
    assert {"緑町1", "緑町1-26", "緑町1-26-3", "みどり市緑町1-26-3", "グリ-ンハイツ101",
            "グリ-ンハイツ", "0000000", "000-0000"} <= keys
    # Never a bare number, nor the town alone, nor the city alone.
    assert not keys & {"1-26-3", "26", "緑町", "みどり市", "101"}


def test_a_street_typed_without_its_town_is_keyed_with_the_town():
    keys = address_keys(municipality="みどり市", street="26-3")
    assert "みどり市26-3" in keys and "26-3" not in keys and "みどり市" not in keys


def test_a_short_building_name_alone_is_not_a_key():
    assert "メゾン" not in address_keys(katagaki="メゾン21")
    assert "メゾン21" in address_keys(katagaki="メゾン21")


@pytest.mark.parametrize("value,expected", [
    ("000-0000", {"0000000", "000-0000", "〒0000000", "〒000-0000"}),
    ("〒123-4567", {"1234567", "123-4567", "〒1234567", "〒123-4567"}),
    ("１２３４５６７", {"1234567", "123-4567", "〒1234567", "〒123-4567"}), ("123", set()),
    ("", set()),
])
def test_postal_codes(value, expected):
    assert postal_code_keys(value) == expected


@pytest.fixture(scope="module")
def matcher():
    return KeyMatcher(address_keys(**HIDDEN))


@pytest.mark.parametrize("text,expected", [
    ("本人は緑町１丁目２６番に住む", f"本人は{MASK}に住む"),
    ("緑町1-26", MASK),
    ("緑町1丁目のスーパーで", f"{MASK}のスーパーで"),
    ("グリーン ハイツに住む", f"{MASK}に住む"),
    ("グリーンハイツ", MASK),
    ("〒000-0000", MASK),
    ("〒 0000000", MASK),
    ("郵便番号000-0000", f"郵便番号{MASK}"),
    ("番号7）0000000", f"番号7）{MASK}"),            # a bracket keeps the numbers apart
    ("緑町1-26-3-205", MASK),                       # a trailing room goes with it
    ("みどり市緑町一丁目二十六番地の三　グリーンハイツ１０１号室", MASK),
    ("緑町1-26-3\nグリーンハイツ", MASK),           # adjacent matches become one mask
    ("まず緑町1-26、次にグリーンハイツ101へ", f"まず{MASK}、次に{MASK}へ"),
])
def test_the_matcher_masks_every_spelling(matcher, text, expected):
    assert matcher.replace(text, MASK) == expected
    assert matcher.search(text)


@pytest.mark.parametrize("text", [
    "緑町12-3 は別の住所",          # 緑町1 is not 緑町12
    "緑町で会う",                    # the town alone
    "10000000",                    # a postal code inside a longer number
    "電話 090-0000-0000",
    "グリーンの家",
    "本町1-26-3",
    "",
])
def test_the_matcher_leaves_other_text_alone(matcher, text):
    assert matcher.replace(text, MASK) == text
    assert not matcher.search(text)


def test_the_longest_key_wins_at_each_position():
    matcher = KeyMatcher({"緑町1", "緑町1-26-3"})
    assert matcher.key_spans("緑町1-26-3は") == [(0, 8)]
    assert matcher.key_spans("緑町1-267") == [(0, 7)]  # 緑町1 then its trailing numbers


def test_an_empty_matcher_changes_nothing():
    empty = KeyMatcher(())
    assert not empty and empty.replace("緑町1-26", MASK) == "緑町1-26"
    assert not empty.search("緑町1-26")
