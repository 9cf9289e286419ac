"""Edit forms of hidden records: what the reader sees masked is shown as text, not as an input.

The server side of the same rule is ``masking.keep_hidden_values`` (called by the base view's
on_model_change for every record a save touches): whatever is posted for such a field — the
mask, a blank, a stale copy — changes nothing. This module makes the form say so: the field
becomes a line of text with the mask, has no validators (the 9-character mask must not fail the
8-character 郵便番号 check) and writes nothing back to the record.
"""

from flask_admin.contrib.sqla.fields import InlineModelFormList
from markupsafe import Markup

from kyogikai.policy import masking


class MaskedTextWidget:
    """Renders the masked value as text; there is no input, so a browser posts nothing."""

    def __call__(self, field, **kwargs):
        # Markup.format escapes both values.
        return Markup('<div class="form-control-plaintext masked-field" id="{}" '
                      'style="white-space: pre-wrap">{}</div>').format(field.id, field.data or "")


def _no_write(obj, name):
    """populate_obj of a display-only field: the record keeps its value."""


def show_as_text(field, text) -> None:
    field.data = text
    field.raw_data = []
    field.widget = MaskedTextWidget()
    field.validators = ()
    field.flags.required = False
    field.errors = []
    field.populate_obj = _no_write  # an instance attribute: this field only


def show_hidden_as_text(form, record) -> None:
    """Make every field of ``record`` (and of its inline records) that the user sees masked a
    line of text showing what they may see."""
    _record_fields(form._fields, record)
    for field in form:
        if not isinstance(field, InlineModelFormList) or record is None:
            continue
        # On a POST the entries come in the posted order and name their record by its id:
        # find each entry's record by that id, never by position.
        stored = {str(child.id): child for child in getattr(record, field.name, None) or ()}
        for entry in field.entries:
            child = stored.get(str(entry.get_pk() or ""))
            if child is not None:
                _record_fields(entry.form._fields, child)


def _record_fields(fields, record) -> None:
    if record is None:
        return
    for name in masking.hidden_fields(record):
        if name in fields:
            show_as_text(fields[name], masking.shown(record, name))
