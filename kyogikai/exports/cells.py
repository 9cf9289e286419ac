"""Cell and file-name safety shared by every export (CSV, xlsx, PDF)."""

from urllib.parse import quote

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection): =HYPERLINK(…),
# +1-2, -2+3, @SUM(…), and tab/CR which some programs strip before looking.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text a spreadsheet would run as a formula gets a leading apostrophe; other values pass.

    Numbers (negative ones included) are not text, so they stay numbers in numeric columns.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unneutralise(text: str) -> str:
    """The text neutralise() was given: what an import of our own export reads back."""
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def content_disposition(filename: str) -> str:
    """An attachment header with a Japanese file name (RFC 5987 ``filename*``) and an ASCII
    fallback for old clients."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
