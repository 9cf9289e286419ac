"""Flask-Admin's own ``admin/base.html``, as installed, with the two things no block reaches.

Our layout (templates/admin/ja_base.html) extends it and overrides blocks only, so an upgrade of
Flask-Admin brings its base template along instead of leaving a stale copy. Two spots sit
outside every block: ``<html>`` needs ``lang="ja"`` (screen readers, the browser's translate bar)
and the navbar toggle has an English aria-label. Those are replaced by exact text; if upstream
changes either, start-up fails with a message instead of quietly serving English.
"""

from pathlib import Path

import flask_admin
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, TemplateNotFound

UPSTREAM = "admin/base.html"
PATCHED = "admin/flask_admin_base_ja.html"
PATCHES = (
    ("<html>", '<html lang="ja">'),
    ('aria-label="Toggle navigation"', "aria-label=\"{{ _gettext('メニューの表示切替') }}\""),
)


class UpstreamPatchError(RuntimeError):
    """Flask-Admin's base template no longer has a spot we patch: re-read it after upgrading."""


class PatchedUpstreamLoader(BaseLoader):
    """Serves PATCHED: the installed theme's base.html with PATCHES applied, each exactly once."""

    def __init__(self, theme_folder: str):
        root = Path(flask_admin.__file__).parent / "templates" / theme_folder
        self.upstream = FileSystemLoader(str(root))

    def get_source(self, environment, template):
        if template != PATCHED:
            raise TemplateNotFound(template)
        source, filename, uptodate = self.upstream.get_source(environment, UPSTREAM)
        for old, new in PATCHES:
            if source.count(old) != 1:
                raise UpstreamPatchError(
                    f"{filename}: expected {old!r} exactly once; Flask-Admin's base template "
                    "changed, see kyogikai/admin_views/base_template.py")
            source = source.replace(old, new)
        return source, filename, uptodate


def install(app, theme_folder: str) -> None:
    """Put the patched upstream template in front of the app's loaders; check it at start-up."""
    loader = PatchedUpstreamLoader(theme_folder)
    app.jinja_env.loader = ChoiceLoader([loader, app.jinja_env.loader])
    loader.get_source(app.jinja_env, PATCHED)
