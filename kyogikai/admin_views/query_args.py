"""Hostile query values are a 400 or a 404 before any view runs, never a 500.

Flask-Admin reads ``page``/``sort`` with ``type=int`` (so ``page=-1`` or ``page=2**70`` reach
the database as an OFFSET), takes an unknown enum filter value to ``EnumClass[value]`` (a
KeyError), passes 「²」 through ``str.isdigit`` filters into ``int`` (a ValueError), and hands
ajax ``offset`` and bulk ``rowid`` values to the driver unchecked. ``refuse_hostile(view, name)``
checks every such value once, for every model view, in the base view's ``_handle_view``.
"""

import re
from urllib.parse import urlsplit

from flask import abort, request
from flask_admin.contrib.sqla.filters import FilterInList

from kyogikai.policy import scoping

MAX_PAGE = 100_000
MAX_OFFSET = 10_000
MAX_SEARCH_LENGTH = 200
MAX_SEARCH_TERMS = 10
MAX_BULK_IDS = 500
MAX_INT = 2**31 - 1  # the INTEGER columns filters compare with
_SMALL_NUMBER = re.compile(r"[0-9]{1,6}")
# A Location header may not hold these (werkzeug raises, a 500): never a place to return to.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def same_site_path(target: str | None) -> str | None:
    """``target`` if a redirect may go there: a path on this server (no scheme, host or
    backslash: no open redirect), without a control character; otherwise None."""
    if not target or not target.startswith("/") or "\\" in target or _CONTROL.search(target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def refuse_hostile(view, name: str) -> None:
    """abort(400) for a malformed or out-of-range argument, abort(404) for a bad id."""
    args = request.args
    for key in ("page", "page_size", "sort", "desc", "limit"):
        value = args.get(key)
        if value is not None and value != "" and not _SMALL_NUMBER.fullmatch(value):
            abort(400)
    if args.get("page", "").isdigit() and int(args["page"]) > MAX_PAGE:
        abort(400)
    offset = args.get("offset")
    if offset not in (None, "") and not (_SMALL_NUMBER.fullmatch(offset)
                                         and int(offset) <= MAX_OFFSET):
        abort(400)
    search_terms(args.get("search") or "")
    # Flask-Admin's return address: it refuses other sites itself, but redirects to a control
    # character (a 500 when the header is built).
    if _CONTROL.search(request.values.get("url") or ""):
        abort(400)
    _check_filters(view)
    if name == "action_view":
        ids = request.form.getlist("rowid")
        if len(ids) > MAX_BULK_IDS:
            abort(400)
        if any(scoping.parse_id(value) is None for value in ids):
            abort(404)


def search_terms(search: str) -> list[str]:
    """The space-separated terms of a search (full-width spaces too), at most MAX_SEARCH_TERMS
    of at most MAX_SEARCH_LENGTH characters in all; more is a 400."""
    if len(search) > MAX_SEARCH_LENGTH:
        abort(400)
    terms = search.split()
    if len(terms) > MAX_SEARCH_TERMS:
        abort(400)
    return terms


def _check_filters(view) -> None:
    filter_args = getattr(view, "_filter_args", None) or {}  # Flask-Admin: key → (idx, filter)
    for arg, value in request.args.items():
        if not arg.startswith("flt") or "_" not in arg:
            continue
        _position, key = arg[3:].split("_", 1)
        if key not in filter_args:
            abort(400)
        flt = filter_args[key][1]
        try:
            valid = flt.validate(value)
            cleaned = flt.clean(value) if valid else None
        except Exception:  # noqa: BLE001 — any failure to read the value is the client's error
            abort(400)
        if not valid or not _in_range(cleaned) or not _among_options(flt, value):
            abort(400)


def _in_range(value) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -MAX_INT <= value <= MAX_INT
    if isinstance(value, float):
        return value == value and abs(value) <= MAX_INT  # not NaN, not inf
    if isinstance(value, list | tuple):
        return all(_in_range(item) for item in value)
    return True


def _among_options(flt, value: str) -> bool:
    """A filter with a fixed list of options (an enum, yes/no) accepts only those."""
    options = flt.options
    if options is None or callable(options):
        return True
    allowed = {str(key) for key, _label in options}
    values = value.split(",") if isinstance(flt, FilterInList) else [value]
    return all(item.strip() in allowed for item in values if item.strip())
