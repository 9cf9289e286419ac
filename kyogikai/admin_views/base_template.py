"""Flask-Admin's own ``admin/base.html``, as installed, with the two things no block reaches.

Our layout (templates/admin/ja_base.html) extends it and overrides blocks only, so an upgrade of
Flask-Admin brings its base template along instead of leaving a stale copy. Two spots sit
outside every block: ``<html>`` needs ``lang="ja"`` (screen readers, the browser's translate bar)
and the navbar toggle has an English aria-label. Those are replaced by exact text; if upstream
changes either, start-up fails with a message instead of quietly serving English.

The inline-form macros (``admin/model/inline_list_base.html``) are served the same way, under
their own name: they print 「追加 同伴家族」 and 「新規 同伴家族」 (an English word order) in a macro no
block can override.
"""

from pathlib import Path

import flask_admin
from flask import current_app, request
from flask_babel import lazy_gettext as _l
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, TemplateNotFound, pass_context
from markupsafe import Markup

UPSTREAM = "admin/base.html"
PATCHED = "admin/flask_admin_base_ja.html"
PATCHES = (
    ("<html>", '<html lang="ja">'),
    ('aria-label="Toggle navigation"', "aria-label=\"{{ _gettext('メニューの表示切替') }}\""),
)
INLINE = "admin/model/inline_list_base.html"
INLINE_PATCHES = (
    ("{{ _gettext('Add') }} {{ field.label.text }}",
     "{{ _('%(name)sを追加', name=field.label.text) }}"),
    ("<small>{{ _gettext('New') }} {{ field.label.text }}</small>",
     "<small>{{ _('%(name)s（新規）', name=field.label.text) }}</small>"),
)
# The patched inline macros use these through _() (extracted here for the catalog).
ADD_LABEL = _l("%(name)sを追加")
NEW_LABEL = _l("%(name)s（新規）")
# Template served → (the installed template it is made from, its patches).
SERVED = {PATCHED: (UPSTREAM, PATCHES), INLINE: (INLINE, INLINE_PATCHES)}


class UpstreamPatchError(RuntimeError):
    """An installed template no longer has a spot we patch: re-read it after upgrading."""


class PatchedUpstreamLoader(BaseLoader):
    """Serves each template of SERVED: the installed theme's file with its patches applied,
    each exactly once."""

    def __init__(self, theme_folder: str):
        root = Path(flask_admin.__file__).parent / "templates" / theme_folder
        self.upstream = FileSystemLoader(str(root))

    def get_source(self, environment, template):
        if template not in SERVED:
            raise TemplateNotFound(template)
        upstream, patches = SERVED[template]
        source, filename, uptodate = self.upstream.get_source(environment, upstream)
        for old, new in patches:
            if source.count(old) != 1:
                raise UpstreamPatchError(
                    f"{filename}: expected {old!r} exactly once; Flask-Admin's template "
                    "changed, see kyogikai/admin_views/base_template.py")
            source = source.replace(old, new)
        return source, filename, uptodate


def install(app, theme_folder: str) -> None:
    """Put the patched templates in front of the app's loaders; check them at start-up."""
    loader = PatchedUpstreamLoader(theme_folder)
    app.jinja_env.loader = ChoiceLoader([loader, app.jinja_env.loader])
    for template in SERVED:
        loader.get_source(app.jinja_env, template)
    app.jinja_env.globals["role_menu"] = role_menu


@pass_context
def role_menu(context, draw) -> Markup:
    """The navbar's menu (``draw``: Flask-Admin's ``layout.menu`` macro), drawn once per role
    and screen and kept for the app.

    Flask-Admin draws it on every page, asking every screen whether the user may open it (an
    access check and a url_for per entry, about a tenth of a ledger page). Whether a role may
    open a screen is the matrix's answer (policy.matrix; an account awaiting approval cannot
    sign in), so the menu depends on the role, the screen shown (its active entry) and the URL
    prefix only. It is a list of links: each screen still checks access when opened.
    """
    from kyogikai.admin_views.base import current_role

    key = (current_role(), context["admin_view"].endpoint, request.script_root)
    menus = current_app.extensions.setdefault("kyogikai.role_menus", {})
    menu = menus.get(key)
    if menu is None:
        menu = menus[key] = Markup(draw())  # nosec B704  # Flask-Admin's escaped macro output
    return menu
