"""What a browser would submit for a form as rendered: the round-trip tests post exactly that.

Controls inside the form element: inputs (a checkbox or radio only when checked; no submit
button unless it has a name), selected options, and textareas, whose text loses one leading
line break (HTML) and is sent with CRLF line breaks (as browsers normalise it). Disabled
controls and anything inside <template> or <script> are left out.
"""

from html.parser import HTMLParser


class _Form(HTMLParser):
    def __init__(self, form_class: str):
        super().__init__(convert_charrefs=True)
        self.form_class = form_class
        self.inside = False
        self.skip = 0
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.select_values: list[str] = []
        self.first_option: str | None = None
        self.option_value: str | None = None
        self.option_selected = False
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and self.form_class in (attributes.get("class") or "").split():
            self.inside = True
            return
        if tag in ("template", "script"):
            self.skip += 1
        if not self.inside or self.skip or "disabled" in attributes:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.fields.append((name, attributes.get("value", default)))
        elif tag == "select" and name:
            self.select, self.select_values, self.first_option = name, [], None
            self.multiple = "multiple" in attributes
        elif tag == "option" and self.select is not None:
            self.option_value = attributes.get("value")
            self.option_selected = "selected" in attributes
            self.text = ""
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_endtag(self, tag):
        if tag in ("template", "script") and self.skip:
            self.skip -= 1
        if tag == "form":
            self.inside = False
        if not self.inside or self.skip:
            return
        if tag == "option" and self.select is not None:
            value = self.option_value if self.option_value is not None else self.text
            if self.first_option is None:
                self.first_option = value
            if self.option_selected:
                self.select_values.append(value)
        elif tag == "select" and self.select is not None:
            values = self.select_values or (
                [] if self.multiple or self.first_option is None else [self.first_option])
            self.fields += [(self.select, value) for value in values]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = self.text[1:] if self.text.startswith("\n") else self.text
            text = text[2:] if text.startswith("\r\n") else text
            value = text.replace("\r\n", "\n").replace("\n", "\r\n")
            self.fields.append((self.textarea, value))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None or self.select is not None:
            self.text += data


def submitted(html: str, form_class: str = "admin-form") -> dict[str, list[str]]:
    """name → values, in the order a browser sends them."""
    parser = _Form(form_class)
    parser.feed(html)
    result: dict[str, list[str]] = {}
    for name, value in parser.fields:
        result.setdefault(name, []).append(value)
    return result
