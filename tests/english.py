"""Finding English a person would see on a page: text nodes and the attributes people read.

Hidden elements (script, style, d-none/hidden templates and JSON data) are skipped: a person never
reads them, though JavaScript may render them later — the browser tests cover that path.
"""

import re
from html.parser import HTMLParser

VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-placeholder"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# Words that are Japanese usage, not untranslated English.
ALLOWED = {"ID", "DV", "NPO", "UTC", "CSV", "OK", "Excel", "PDF", "QR"}
WORD = re.compile(r"[A-Za-z]{2,}")


def _hidden(tag: str, attributes: dict) -> bool:
    classes = (attributes.get("class") or "").split()
    style = (attributes.get("style") or "").replace(" ", "")
    return (tag in ("script", "style", "template") or "d-none" in classes
            or "hidden" in attributes or "display:none" in style)


class _Visible(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is it (or an ancestor) hidden?
        self.chunks: list[str] = []

    @property
    def hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1]

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        hidden = self.hidden or _hidden(tag, attributes)
        if not hidden:
            self.chunks.extend(attributes[n] for n in VISIBLE_ATTRIBUTES if attributes.get(n))
            if tag == "input" and attributes.get("type") in ("submit", "button"):
                self.chunks.append(attributes.get("value") or "")
        if tag not in VOID:
            self.stack.append(hidden)

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not self.hidden:
            self.chunks.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(parser.chunks)


def english_words(html: str) -> set[str]:
    # Case numbers (R7-0001) are data, not language.
    text = re.sub(r"\b[RHST]\d+-\d+\b", " ", visible_text(html))
    return {word for word in WORD.findall(text) if word not in ALLOWED}
