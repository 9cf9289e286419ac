"""Kana folding so names match whatever width, script and spacing staff type.

Hiragana maps onto katakana by a fixed offset (U+3041–U+3096 → U+30A1–U+30F6); the iteration
marks ゝゞ share that offset (→ ヽヾ) and are folded too so repeated-kana names still match.
"""

import string
import unicodedata

__all__ = ["fold", "to_katakana", "is_katakana_reading", "bigrams"]

_HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in [*range(0x3041, 0x3097), 0x309D, 0x309E]}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_IDEOGRAPHIC_SPACE = "\u3000"


def _katakana(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_HIRAGANA_TO_KATAKANA)


def fold(text: str) -> str:
    """Search key: NFKC, hiragana as katakana, ASCII lower-cased, no whitespace at all."""
    return "".join(_katakana(text).translate(_ASCII_LOWER).split())


def to_katakana(text: str) -> str:
    """フリガナ for storage: katakana, words separated by one full-width space, ends stripped."""
    return _IDEOGRAPHIC_SPACE.join(_katakana(text).split())


def is_katakana_reading(text: str) -> bool:
    """True when the text is a usable katakana reading (ー・ヴ allowed, full-width spaces only)."""
    reading = to_katakana(text)
    return bool(reading) and all(
        "\u30a0" <= char <= "\u30ff" or char == _IDEOGRAPHIC_SPACE for char in reading
    )


def bigrams(text: str) -> list[str]:
    """Distinct 2-character grams of fold(text) in first-seen order, for name indexing.

    A one-character key is returned as its own gram so single-kanji names remain searchable.
    """
    key = fold(text)
    if len(key) < 2:
        return [key] if key else []
    return list(dict.fromkeys(key[i : i + 2] for i in range(len(key) - 1)))
