"""Japanese address spellings folded to one form, so a hidden address is found however it is typed.

``normalize`` turns 「緑町一丁目２６番地の３　グリーンハイツ１０１号室」 and 「緑町1-26-3グリーンハイツ101」
into the same key: NFKC (full-width digits and letters, half-width kana), ASCII lower case,
kanji numerals as digits (一/二十六/壱), every dash-like mark as ``-``, 丁目/番地/番/号/の between
two numbers as ``-`` and after the last number dropped, and no spaces, line breaks, invisible
characters or punctuation. ``normalize_with_spans`` does the same while remembering, for each
character of the key, which characters of the original it came from, so a match can be masked
in the original text. ``address_keys`` lists the keys of one address that must not be shown:
the street and each shorter street prefix down to the town plus 丁目, the 方書 (building) with
and without its room, and the postal code with and without its hyphen.

Pure functions: no Flask, no database.
"""

import re
import unicodedata

__all__ = ["KeyMatcher", "address_keys", "normalize", "normalize_with_spans", "postal_code_keys"]

# Marks people type for a hyphen in an address: ASCII and full-width minus, the Unicode dashes,
# the katakana prolonged sound mark (「1ー26」) and box-drawing lines.
DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2500\u2501\u30fc\ufe58"
                   "\ufe63\uff0d\uff70")
KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "壱": 1, "二": 2, "弐": 2, "三": 3, "参": 3, "四": 4,
                "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
KANJI_UNITS = {"十": 10, "拾": 10, "百": 100, "千": 1000}
_KANJI_NUMBER = re.compile("[" + "".join(KANJI_DIGITS) + "".join(KANJI_UNITS) + "]+")
# Between two numbers these all mean "-" (緑町1丁目26番地の3 = 緑町1-26-3, 「1・26」, 「1 26」);
# after the last number of an address they add nothing (26番 = 26).
_UNIT = r"(?:丁目|番地|番|号室|号棟|号館|号|丁|の|ノ|之|-|・|\.|,|、|\s)"
_BETWEEN_NUMBERS = re.compile(r"(?<=\d)" + _UNIT + r"+(?=\d)")
_AFTER_NUMBER = re.compile(r"(?<=\d)(?:丁目|番地|番|号室|号)+")
_ROOM = re.compile(r"[-0-9a-z]+$")

Char = tuple[str, int, int]  # a character of the key and the [start, end) it came from


def _is_dropped(char: str) -> bool:
    """Spaces, line breaks, invisible characters and punctuation other than the hyphen."""
    if char == "-":
        return False
    category = unicodedata.category(char)
    return char.isspace() or category[0] in "PZ" or category in ("Cf", "Cc")


def _clusters(text: str):
    """(start, end) of each character with the combining marks that follow it (ｶﾞ is one)."""
    start, length = 0, len(text)
    while start < length:
        end = start + 1
        while end < length and (unicodedata.combining(text[end])
                                or text[end] in "\uff9e\uff9f\u3099\u309a"):
            end += 1
        yield start, end
        start = end


def _kanji_number(run: str) -> str:
    """一 → 1, 二十六 → 26, 二〇二五 → 2025, 千九百八十 → 1980."""
    if not any(char in KANJI_UNITS for char in run):
        return "".join(str(KANJI_DIGITS[char]) for char in run)
    total, number = 0, 0
    for char in run:
        if char in KANJI_DIGITS:
            number = number * 10 + KANJI_DIGITS[char]
        else:
            total += (number or 1) * KANJI_UNITS[char]
            number = 0
    return str(total + number)


def _substitute(chars: list[Char], pattern: re.Pattern, replace) -> list[Char]:
    """Apply ``pattern`` to the key, carrying spans: a replacement spans what it replaced, and
    a deleted stretch is added to the character before it (so 「26番」 masks as one)."""
    text = "".join(char for char, _, _ in chars)
    out: list[Char] = []
    last = 0
    for match in pattern.finditer(text):
        out.extend(chars[last:match.start()])
        new = replace(match)
        start, end = chars[match.start()][1], chars[match.end() - 1][2]
        if new:
            out.extend((char, start, end) for char in new)
        elif out:
            char, first, _ = out[-1]
            out[-1] = (char, first, max(end, out[-1][2]))
        last = match.end()
    out.extend(chars[last:])
    return out


class _CharMap(dict):
    """char → what it becomes in the key (NFKC, dashes as ``-``, ASCII lower case, invisible
    format characters gone); worked out once per character and remembered."""

    def __missing__(self, char):
        out = []
        for folded in unicodedata.normalize("NFKC", char):
            if unicodedata.category(folded) == "Cf":
                continue  # zero-width spaces and joiners: invisible, so never a separator
            out.append("-" if folded in DASHES else folded.lower() if "A" <= folded <= "Z"
                       else folded)
        self[char] = result = "".join(out)
        return result


class _DropMap(dict):
    def __missing__(self, char):
        self[char] = result = _is_dropped(char)
        return result


_CHAR_MAP, _DROP_MAP = _CharMap(), _DropMap()
_COMBINING = re.compile("[\u0300-\u036f\u3099\u309a\uff9e\uff9f\u20d0-\u20ff\ufe20-\ufe2f]")


def normalize_with_spans(text: str) -> list[Char]:
    """The key of ``text`` as (character, start, end) triples; see the module docstring."""
    if _COMBINING.search(text) or any(unicodedata.combining(char) for char in set(text)):
        chars: list[Char] = []
        for start, end in _clusters(text):
            folded = "".join(_CHAR_MAP[c] for c in unicodedata.normalize("NFKC", text[start:end]))
            chars.extend((char, start, end) for char in folded)
    else:  # no combining marks (nearly always): one character at a time
        chars = [(char, index, index + 1) for index, original in enumerate(text)
                 for char in _CHAR_MAP[original]]
    chars = _substitute(chars, _KANJI_NUMBER, lambda m: _kanji_number(m.group()))
    chars = _substitute(chars, _BETWEEN_NUMBERS, lambda m: "-")
    chars = _substitute(chars, _AFTER_NUMBER, lambda m: "")
    return _drop(chars)


def _drop(chars: list[Char]) -> list[Char]:
    """Remove what does not matter; a dropped stretch between two digits becomes ``|``, so
    「7》9876543」 never reads as the number 79876543 (nor 「1）26」 as 126)."""
    drop = _DROP_MAP
    if not any(drop[char] for char, _, _ in chars):
        return chars
    kept: list[Char] = []
    gap_start = gap_end = None
    for triple in chars:
        char = triple[0]
        if drop[char]:
            if gap_start is None:
                gap_start = triple[1]
            gap_end = triple[2]
            continue
        if gap_start is not None:
            if kept and kept[-1][0].isdigit() and char.isdigit():
                kept.append(("|", gap_start, gap_end))
            gap_start = None
        kept.append(triple)
    return kept


def normalize(text: str) -> str:
    """The key alone: what a hidden address and a text are compared by."""
    return "".join(char for char, _, _ in normalize_with_spans(text or ""))


def postal_code_keys(postal_code: str) -> set[str]:
    """〒000-0000 in any width or form → the digits with and without the hyphen, with and
    without 〒 (so the mark goes with the number); anything else → nothing."""
    digits = "".join(char for char in normalize(postal_code) if char.isdigit())
    if len(digits) != 7:
        return set()
    forms = {digits, f"{digits[:3]}-{digits[3:]}"}
    return forms | {f"〒{form}" for form in forms}


MIN_KEY = 3  # shorter keys (a bare 町名 of two characters) would mask half the city
MIN_BUILDING = 4  # a building name alone must be specific: 「メゾン」 is a word, not a place


def _street_keys(street: str) -> set[str]:
    """The street, and each prefix of it ending in a number: 緑町1, 緑町1-26, 緑町1-26-3.

    The first of these is the town plus 丁目, a partial address on its own. A prefix must
    keep some of the town's name, so a bare 「1-26」 is not a key.
    """
    named = street.strip("-0123456789")
    keys = {street} if named and len(street) >= MIN_KEY else set()
    for match in re.finditer(r"\d+", street):
        named = street[:match.start()].strip("-0123456789")
        if named and match.end() >= MIN_KEY:
            keys.add(street[:match.end()])
    return keys


def _building_keys(katagaki: str) -> set[str]:
    """The 方書 with its room, and the building without it (グリーンハイツ101 → グリーンハイツ)."""
    keys = {katagaki} if len(katagaki) >= MIN_KEY else set()
    building = _ROOM.sub("", katagaki)
    candidates = [building]
    if building.endswith(("棟", "館")):  # グリーンハイツa棟 → グリーンハイツ
        candidates.append(_ROOM.sub("", building[:-1]))
    return keys | {name for name in candidates if len(name) >= MIN_BUILDING}


def address_keys(*, postal_code: str = "", municipality: str = "", street: str = "",
                 katagaki: str = "") -> set[str]:
    """Every key of one address that, found in a text, shows (part of) that address."""
    street_key, town_key = normalize(street), normalize(municipality)
    keys = _street_keys(street_key)
    if street_key and town_key:
        # A street typed without its town (「26-3」) is specific only together with the town.
        keys |= {key for key in _street_keys(town_key + street_key) if len(key) > len(town_key)}
    return keys | _building_keys(normalize(katagaki)) | postal_code_keys(postal_code)


_END = ""  # marks, in the trie, that a key ends here


class KeyMatcher:
    """One search over many keys: where in a text does any of them occur, however spelled?

    The keys are held in a trie and the normalised text is walked once, taking the longest key
    at each position, so the cost grows with the text, not with the number of keys, and
    building it is cheap (no regular expression to compile). A key ending in a digit must not
    be followed by one (緑町1 is not 緑町12), nor a key starting with a digit be preceded by one
    (a postal code inside a longer number).
    """

    def __init__(self, keys):
        self.keys = frozenset(key for key in keys if key)
        self._ranges: dict[str, tuple] = {}
        self._trie: dict = {}
        for key in self.keys:
            node = self._trie
            for char in key:
                node = node.setdefault(char, {})
            node[_END] = True

    def __bool__(self) -> bool:
        return bool(self.keys)

    def _longest_at(self, key: str, start: int) -> int:
        """End of the longest key matching at ``start`` (respecting digit boundaries), or -1."""
        node, position, best, length = self._trie, start, -1, len(key)
        while position < length:
            node = node.get(key[position])
            if node is None:
                break
            position += 1
            if _END in node and not (key[position - 1].isdigit() and position < length
                                     and key[position].isdigit()):
                best = position
        return best

    def key_spans(self, key: str) -> list[tuple[int, int]]:
        """[start, end) of each match in a normalised key, extended over a trailing room or
        block number (緑町1-26-3 + 「-205」), so no part of the address is left beside a mask."""
        spans, start, length = [], 0, len(key)
        while start < length:
            if key[start] in self._trie and not (
                    start and key[start].isdigit() and key[start - 1].isdigit()):
                end = self._longest_at(key, start)
                if end > 0:
                    while end < length and (key[end].isdigit() or key[end] == "-"):
                        end += 1
                    spans.append((start, end))
                    start = end
                    continue
            start += 1
        return spans

    def ranges(self, text: str) -> tuple[tuple[int, int], ...]:
        """[start, end) of each stretch of ``text`` that spells a key, in the original text.

        Remembered per text (a page shows the same minutes again and again); the memory goes
        with the matcher, which is rebuilt when the hidden addresses change.
        """
        if not text or not self.keys:
            return ()
        found = self._ranges.get(text)
        if found is None:
            found = self._find_ranges(text)
            if len(text) <= 20_000:
                if len(self._ranges) >= 4096:
                    self._ranges.clear()
                self._ranges[text] = found
        return found

    def _find_ranges(self, text: str) -> tuple[tuple[int, int], ...]:
        chars = normalize_with_spans(text)
        merged: list[list[int]] = []  # matches touching in the key are one mask
        for start, end in self.key_spans("".join(char for char, _, _ in chars)):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return tuple((chars[start][1], chars[end - 1][2]) for start, end in merged)

    def search(self, text: str) -> bool:
        """Does ``text`` contain any key, however it is spelled?"""
        return bool(self.ranges(text))

    def replace(self, text: str, mask: str) -> str:
        """``text`` with every stretch that spells a key replaced by ``mask``."""
        ranges = self.ranges(text)
        if not ranges:
            return text
        pieces, position = [], 0
        for first, last in ranges:
            pieces += [text[position:first], mask]
            position = last
        pieces.append(text[position:])
        return "".join(pieces)
