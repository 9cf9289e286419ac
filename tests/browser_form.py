"""What a browser would submit from a page's form: the fields as rendered, with their values.

Tests that edit through the real edit form start from this, change one thing, and post it back,
so a field the form renders but the server cannot take back (a unique column, a masked value,
a version) is caught the way a person would meet it.
"""

from html.parser import HTMLParser

TEXT_INPUTS = {"text", "hidden", "password", "email", "number", "date", "tel", "search", "url"}


class _FormParser(HTMLParser):
    def __init__(self, form_class: str):
        super().__init__(convert_charrefs=True)
        self.form_class = form_class
        self.depth = 0  # > 0 while inside the wanted form
        self.fields: list[tuple[str, str]] = []
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if self.depth:
                self.depth += 1
            elif self.form_class in (a.get("class") or "").split():
                self.depth = 1
            return
        if not self.depth or "disabled" in a:
            if tag == "option" and self._select is not None:
                self._option = None
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value") or "on"))
            elif kind in TEXT_INPUTS:
                self.fields.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in a, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            self._select["options"].append(self._option)
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "text": ""}

    def handle_endtag(self, tag):
        if tag == "form" and self.depth:
            self.depth -= 1
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [o for o in options if o["selected"]]
            if not chosen and not self._select["multiple"] and options:
                chosen = options[:1]
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"]
                self.fields.append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # HTML drops one newline right after <textarea> (WTForms writes "\r\n" there).
            text = self._textarea["text"].replace("\r\n", "\n")
            text = text[1:] if text.startswith("\n") else text
            self.fields.append((self._textarea["name"], text.replace("\n", "\r\n")))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["text"] += data
        elif self._option is not None:
            self._option["text"] += data


def form_fields(html: str, form_class: str = "admin-form") -> list[tuple[str, str]]:
    """(name, value) pairs, in page order, of the form whose class includes ``form_class``."""
    parser = _FormParser(form_class)
    parser.feed(html)
    return parser.fields


def with_changes(fields: list[tuple[str, str]], **changes) -> dict:
    """The fields as a dict of lists (what werkzeug's test client posts), with some replaced."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        assert name in data, f"the form has no field {name!r}: {sorted(data)}"
        data[name] = [value]
    return data


def submitted(html: str, form_class: str = "admin-form") -> dict[str, list[str]]:
    """name → values of every form whose class includes ``form_class``, as a browser sends them."""
    return with_changes(form_fields(html, form_class))
