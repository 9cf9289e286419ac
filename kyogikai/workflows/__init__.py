"""The council's work as it happens, several records at a time: the case page, intake, the
個別ケース検討会議, the 実務者会議 review and the role editor.

Each module takes plain input (already parsed by a screen), asks policy/ (matrix, scoping,
consent gate, masking, audit) and models/ (domain rules), and writes everything of one step in
the caller's transaction, or raises a WorkflowError whose Japanese messages the screen shows
next to what was typed. Screens in admin_views/ only parse, call and render; the same functions
serve tests and the benchmark. Nothing here imports admin_views/.
"""


class WorkflowError(Exception):
    """A refused step: ``messages`` (Japanese) overall, ``fields`` per form field name."""

    def __init__(self, messages=(), fields=None):
        self.messages = [str(m) for m in messages]
        self.fields = {name: [str(m) for m in found] for name, found in (fields or {}).items()}
        super().__init__("; ".join(self.messages + [m for ms in self.fields.values() for m in ms]))

    def __bool__(self) -> bool:
        return bool(self.messages or self.fields)


class Problems:
    """Collects messages while a step is checked, so a person sees every problem at once."""

    def __init__(self):
        self.messages: list[str] = []
        self.fields: dict[str, list[str]] = {}

    def add(self, message, field: str | None = None) -> None:
        if field is None:
            self.messages.append(str(message))
        else:
            self.fields.setdefault(field, []).append(str(message))

    def __bool__(self) -> bool:
        return bool(self.messages or self.fields)

    def raise_if_any(self) -> None:
        if self:
            raise WorkflowError(self.messages, self.fields)
