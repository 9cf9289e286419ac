"""Regenerate .pot templates of the vendor msgids that our ja catalogs must cover.

Two gettext domains are handled:

``admin``
    Every msgid Flask-Admin can display: ``gettext``/``ngettext``/``lazy_gettext``
    calls in its Python source, ``_gettext``/``_ngettext`` calls in its Jinja
    templates, plus a few msgids that are built at runtime and therefore
    invisible to a static extractor (see ``ADMIN_RUNTIME_MSGIDS``).

``wtforms``
    WTForms' own ``wtforms.pot``, the Flask-WTF messages that go through
    ``field.gettext`` (plus its CSRF/reCAPTCHA messages) and the Flask-Admin
    form messages that are translated with the *wtforms* domain
    (``field.gettext``/``self.gettext`` inside Flask-Admin fields/validators).

Usage (run after upgrading Flask-Admin / WTForms / Flask-WTF)::

    python scripts/extract_vendor_msgids.py admin -o /tmp/admin.pot \\
        --check kyogikai/translations/ja/LC_MESSAGES/admin.po
    python scripts/extract_vendor_msgids.py wtforms -o /tmp/wtforms.pot \\
        --check kyogikai/translations/ja/LC_MESSAGES/wtforms.po

``--check`` exits with status 1 if a vendor msgid is missing from the catalog,
is fuzzy or untranslated, or if a python-format placeholder differs.

Only the standard library and Babel are imported (Babel finds its ``jinja2``
extractor through the entry point that Jinja2 registers).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

Msgid = str | tuple[str, str]

ADMIN_KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "lazy_gettext": None,
    "_gettext": None,
    "_lazy_gettext": None,
    "_ngettext": (1, 2),
}

# Flask-Admin templates call ``_gettext``/``_ngettext`` (injected by
# ``BaseView.render``); they use no i18n extension tags, so the plain Jinja2
# extractor is enough.
ADMIN_METHOD_MAP = [
    ("**/tests/**", "ignore"),
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2"),
]
ADMIN_OPTIONS_MAP = {"**/templates/**.html": {"encoding": "utf-8"}}

# msgids Flask-Admin translates at runtime but that cannot be found statically.
# Each entry: (msgid, source file relative to the package, marker that must
# still occur in that file -- if it disappears after an upgrade we warn).
ADMIN_RUNTIME_MSGIDS: list[tuple[Msgid, str, str]] = [
    # FileAdmin.column_labels = {c: c.capitalize()} rendered via _gettext(label).
    ("Name", "contrib/fileadmin/__init__.py", 'column_list = "name", "size", "date"'),
    ("Size", "contrib/fileadmin/__init__.py", 'column_list = "name", "size", "date"'),
    ("Date", "contrib/fileadmin/__init__.py", 'column_list = "name", "size", "date"'),
    # Timezone validator: the message is assigned to a variable first.
    (
        'Not a valid timezone (e.g. "America/New_York", "Africa/Johannesburg", "Asia/Singapore").',
        "contrib/sqla/validators.py",
        "Not a valid timezone",
    ),
]

# Flask-Admin messages that are translated with the *wtforms* domain
# (``field.gettext``/``self.gettext`` in fields and validators).
ADMIN_FORM_FILES = (
    "form/fields.py",
    "model/fields.py",
    "contrib/sqla/fields.py",
    "contrib/sqla/validators.py",
    "contrib/mongoengine/form.py",
)

# Flask-WTF messages that are raised without going through gettext; the app can
# still translate them with the wtforms catalog, so they are collected as well.
FLASK_WTF_PLAIN_CALLS = {"ValidationError", "_error_response"}


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def new_catalog(domain: str, project: str) -> Catalog:
    return Catalog(domain=domain, project=project, charset="utf-8", fuzzy=False)


def add(catalog: Catalog, msgid: Msgid, location: tuple[str, int], python_format: bool) -> None:
    existing = catalog.get(msgid)
    if existing is not None:
        existing.locations.append(location)
        return
    ids = msgid if isinstance(msgid, tuple) else (msgid,)
    flags = ["python-format"] if python_format or any("%(" in i for i in ids) else []
    catalog.add(msgid, locations=[location], flags=flags)


def extract_into(
    catalog: Catalog,
    root: Path,
    method_map: list[tuple[str, str]],
    keywords: dict,
    options_map: dict | None = None,
) -> None:
    base = root.parent
    for filename, lineno, message, _comments, _context in extract_from_dir(
        root, method_map, options_map or {}, keywords
    ):
        location = ((root / filename).relative_to(base).as_posix(), lineno)
        add(catalog, message, location, python_format=False)


def iter_string_calls(path: Path, names: set[str], attr_only: bool = False) -> Iterator[tuple]:
    """Yield (msgid, lineno) for calls ``name("literal", ...)`` in a Python file.

    ``names`` are matched against a bare function name or an attribute name;
    with ``attr_only`` only ``obj.name(...)`` calls are considered. For
    ``ngettext`` the first two literal arguments are returned as a tuple.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            name = func.attr
        elif isinstance(func, ast.Name) and not attr_only:
            name = func.id
        else:
            continue
        if name not in names:
            continue
        literals = [
            a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
        ]
        if name == "ngettext" and len(literals) >= 2:
            yield (literals[0], literals[1]), node.lineno
        elif literals:
            yield literals[0], node.lineno


def iter_flash_error_messages(path: Path) -> Iterator[tuple[str, int]]:
    """``flash_errors(form, message="...")`` is translated inside flash_errors."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name != "flash_errors":
            continue
        for kw in node.keywords:
            if kw.arg == "message" and isinstance(kw.value, ast.Constant):
                yield kw.value.value, node.lineno


def page_size_options(admin_dir: Path) -> tuple[int, ...]:
    """Default ``BaseModelView.page_size_options`` (used by a dynamic _ngettext)."""
    tree = ast.parse((admin_dir / "model/base.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.AnnAssign | ast.Assign)
            and "page_size_options" in ast.unparse(node).split("=")[0]
            and node.value is not None
        ):
            return tuple(ast.literal_eval(node.value))
    return ()


def add_runtime(catalog: Catalog, pkg_dir: Path, entries: Iterable[tuple[Msgid, str, str]]) -> None:
    for msgid, rel, marker in entries:
        source = (pkg_dir / rel).read_text(encoding="utf-8")
        if marker not in source:
            print(f"warning: {rel} no longer contains {marker!r}; check {msgid!r}", file=sys.stderr)
            continue
        lineno = source[: source.index(marker)].count("\n") + 1
        add(catalog, msgid, (f"{pkg_dir.name}/{rel}", lineno), python_format=False)


def build_admin() -> Catalog:
    admin_dir = package_dir("flask_admin")
    catalog = new_catalog("admin", "Flask-Admin")
    extract_into(catalog, admin_dir, ADMIN_METHOD_MAP, ADMIN_KEYWORDS, ADMIN_OPTIONS_MAP)

    for path in sorted(admin_dir.rglob("*.py")):
        rel = path.relative_to(admin_dir.parent).as_posix()
        if "/tests/" in rel:
            continue
        for msgid, lineno in iter_flash_error_messages(path):
            add(catalog, msgid, (rel, lineno), python_format=True)

    add_runtime(catalog, admin_dir, ADMIN_RUNTIME_MSGIDS)

    # templates/.../model/layout.html: _ngettext('{} item'.format(n), '{} items'.format(n), n)
    layout = "templates/bootstrap4/admin/model/layout.html"
    marker = "_ngettext('{} item'.format(option)"
    add_runtime(
        catalog,
        admin_dir,
        [((f"{n} item", f"{n} items"), layout, marker) for n in page_size_options(admin_dir)],
    )
    return catalog


def build_wtforms() -> Catalog:
    catalog = new_catalog("wtforms", "WTForms")

    wtforms_dir = package_dir("wtforms")
    stock = read_po((wtforms_dir / "locale/wtforms.pot").open("rb"))
    for message in stock:
        if message.id:
            for location in message.locations or [("wtforms/locale/wtforms.pot", 0)]:
                add(catalog, message.id, location, message.python_format)

    wtf_dir = package_dir("flask_wtf")
    extract_into(catalog, wtf_dir, [("**.py", "python")], dict(DEFAULT_KEYWORDS))
    for path in sorted(wtf_dir.rglob("*.py")):
        rel = path.relative_to(wtf_dir.parent).as_posix()
        for msgid, lineno in iter_string_calls(path, FLASK_WTF_PLAIN_CALLS):
            add(catalog, msgid, (rel, lineno), python_format=False)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            # reCAPTCHA error texts (the default message goes through field.gettext)
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "RECAPTCHA_ERROR_CODES" for t in node.targets
            ):
                for value in ast.literal_eval(node.value).values():
                    add(catalog, value, (rel, node.lineno), python_format=False)

    admin_dir = package_dir("flask_admin")
    for rel in ADMIN_FORM_FILES:
        path = admin_dir / rel
        if not path.exists():
            print(f"warning: flask_admin/{rel} not found", file=sys.stderr)
            continue
        for msgid, lineno in iter_string_calls(path, {"gettext", "ngettext"}, attr_only=True):
            add(catalog, msgid, (f"flask_admin/{rel}", lineno), python_format=False)
    add_runtime(
        catalog,
        admin_dir,
        [entry for entry in ADMIN_RUNTIME_MSGIDS if "validators" in entry[1]],
    )
    return catalog


PLACEHOLDER = re.compile(
    r"%\([A-Za-z_]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[sd%]|\{[A-Za-z_]*\}"
)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def check(template: Catalog, po_path: Path) -> int:
    catalog = read_po(po_path.open("rb"))
    problems = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        if translated is None:
            problems.append(f"missing: {message.id!r}")
            continue
        strings = (
            translated.string if isinstance(translated.string, tuple) else (translated.string,)
        )
        if translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(strings):
            problems.append(f"untranslated: {message.id!r}")
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = placeholders(ids[-1])
        for string in strings:
            if (
                string
                and placeholders(string) != expected
                and placeholders(string) != placeholders(ids[0])
            ):
                problems.append(f"placeholder mismatch: {message.id!r} -> {string!r}")
    for problem in problems:
        print(problem, file=sys.stderr)
    total = sum(1 for m in template if m.id)
    print(f"{po_path}: {total} vendor msgids checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("domain", choices=["admin", "wtforms"])
    parser.add_argument("-o", "--output", type=Path, help="write the .pot here")
    parser.add_argument("--check", type=Path, metavar="PO", help="verify a .po covers the .pot")
    args = parser.parse_args(argv)

    template = build_admin() if args.domain == "admin" else build_wtforms()
    if args.output:
        with args.output.open("wb") as fh:
            write_po(fh, template, width=100, sort_output=True)
        print(f"wrote {sum(1 for m in template if m.id)} msgids to {args.output}")
    if args.check:
        return check(template, args.check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
