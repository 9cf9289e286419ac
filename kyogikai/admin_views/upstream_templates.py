"""Flask-Admin's own templates, as installed, with a word order fixed where no block reaches.

The inline-form macros (``admin/model/inline_list_base.html``) print 「追加 同伴家族」 and
「新規 同伴家族」: an English word order, in a macro no block can override. Rather than keep a
copy of upstream markup, the installed file is served with exact replacements; if upstream
changes one of those spots, start-up fails with a message instead of quietly printing English
word order again.
"""

from pathlib import Path

import flask_admin
from flask_babel import lazy_gettext as _l
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, TemplateNotFound

# The patched templates use these through _() (extracted here for the catalog).
ADD_LABEL = _l("%(name)sを追加")
NEW_LABEL = _l("%(name)s（新規）")

PATCHES = {
    "admin/model/inline_list_base.html": (
        ("{{ _gettext('Add') }} {{ field.label.text }}",
         "{{ _('%(name)sを追加', name=field.label.text) }}"),
        ("<small>{{ _gettext('New') }} {{ field.label.text }}</small>",
         "<small>{{ _('%(name)s（新規）', name=field.label.text) }}</small>"),
    ),
}


class UpstreamPatchError(RuntimeError):
    """An upstream template no longer has a spot we patch: re-read it after upgrading."""


class PatchedUpstreamLoader(BaseLoader):
    """Serves each template of PATCHES under its own name, patched, each patch exactly once."""

    def __init__(self, theme_folder: str):
        root = Path(flask_admin.__file__).parent / "templates" / theme_folder
        self.upstream = FileSystemLoader(str(root))

    def get_source(self, environment, template):
        if template not in PATCHES:
            raise TemplateNotFound(template)
        source, filename, uptodate = self.upstream.get_source(environment, template)
        for old, new in PATCHES[template]:
            if source.count(old) != 1:
                raise UpstreamPatchError(
                    f"{filename}: expected {old!r} exactly once; Flask-Admin's template changed, "
                    "see kyogikai/admin_views/upstream_templates.py")
            source = source.replace(old, new)
        return source, filename, uptodate


def install(app, theme_folder: str) -> None:
    """Put the patched templates in front of the app's loaders; check them at start-up."""
    loader = PatchedUpstreamLoader(theme_folder)
    app.jinja_env.loader = ChoiceLoader([loader, app.jinja_env.loader])
    for template in PATCHES:
        loader.get_source(app.jinja_env, template)
