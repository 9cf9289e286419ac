"""Values a process keeps across requests under a generation token (models.generation): the
住所秘匿 matcher, an agency's visible cases, the number of cases and the oldest 年度.

A value is reused while the token read now is the one it was kept under. The token is read
before the value (as loaded with the user, policy.request_values, or read then), and ``read``
returns the value with the token its own statement read. The value is kept only when the two
are the same: what the read saw of the request's own transaction (changes its autoflush wrote,
a write no session event saw) changed the token (SQLite, per row) or left none (PostgreSQL), so
it is never kept under a token a rollback brings back. Nothing is kept without a token.
"""

from flask import g, has_app_context
from sqlalchemy import select

from kyogikai.models import db

MISSING = object()
# Per process: (database, what) → (token, value). Bounded: a day's agencies are a few dozen;
# past days are never asked again.
_shared: dict[tuple, tuple[int, object]] = {}
_SHARED_MAX = 512


def token(name: str, column):
    """The token ``name`` (``g.<name>``) as loaded with the user, or read now and remembered
    for the request; ``column()`` is its SQL. A request that wrote pops it to read it again."""
    value = g.get(name, MISSING) if has_app_context() else MISSING
    if value is MISSING:
        value = read_token(column)
        if has_app_context():
            setattr(g, name, value)
    return value


def read_token(column):
    with db.session.no_autoflush:
        return db.session.scalar(select(column()))


def value(what: tuple, name: str, column, read):
    """The value ``read()`` gives (with its statement's token, or ``MISSING``: read here), or
    the one this process kept under the token ``name`` it reads now."""
    before = token(name, column)
    key = (str(db.engine.url), *what)
    shared = _shared.get(key)
    if before is not None and shared is not None and shared[0] == before:
        return shared[1]
    result, after = read()
    if after is MISSING:
        after = read_token(column)
    if before is not None and after == before:
        if len(_shared) >= _SHARED_MAX:
            _shared.clear()
        _shared[key] = (before, result)
    return result
