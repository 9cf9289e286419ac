"""Generation tokens: a one-row table whose random token the database itself changes, in the
same transaction, with every change to the rows a process keeps something about across
requests (the 住所秘匿 matcher, an agency's visible cases). A process keeps what it read under the
token it read first, and trusts it while the token is still the one it reads.

Triggers, not ORM events: a bulk UPDATE, a hand-written statement, an import or a migration
changes the token as surely as a form does. A random token, not a counter: a rolled-back change
or a restored backup never brings back a token that labelled other rows.
"""

from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import DDL, event
from sqlalchemy.orm import Mapped, mapped_column

from kyogikai.models.base import db

# random() has 52 random bits on PostgreSQL: enough that two tokens never meet by chance.
_PG_TOKEN = "floor(random() * 4503599627370496)::bigint"


class Trigger(NamedTuple):
    table: str
    event: str  # "INSERT", "DELETE", "UPDATE OF a, b" …
    condition: str | None = None  # SQL over OLD/NEW, the same on both engines


class GenerationTriggers:
    """The statements that create, drop and check the triggers keeping ``table``'s token.

    ``truncated``: trigger name → table, for PostgreSQL's TRUNCATE (a statement trigger).
    ``once_per_transaction``: on PostgreSQL the token is written only when this transaction
    has not yet written it (the row's xmin is not the transaction's id; in a savepoint it always
    writes), and the triggers without a condition fire once per statement. Each write is a new
    version of the one row, and within a transaction each walks every version before it:
    written per row, a bulk load of 80,000 role rows took 174 s. The token then stays the same
    for the rest of the transaction, so the transaction that wrote it reads no token
    (``token``): what it reads after its own change is never kept under it. (xmin has 32
    bits: a transaction exactly 2³² after the last write would take the row for its own, once
    in four billion; a 64-bit column of the writer's id would close that, at a table change.)
    """

    def __init__(self, table: str, triggers: dict[str, Trigger], truncated: dict[str, str],
                 once_per_transaction: bool = False):
        self.table, self.triggers, self.truncated = table, triggers, truncated
        self.once_per_transaction = once_per_transaction
        function = f"{table}_bump()"
        sqlite_new = f"INSERT OR REPLACE INTO {table} (id, token) VALUES (1, random())"
        pg_new = (f"INSERT INTO {table} (id, token) VALUES (1, {_PG_TOKEN}) "  # nosec B608
                  "ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token")  # our table names
        pg_bump = pg_new + (f" WHERE {table}.xmin::text::bigint "
                            "<> mod(txid_current(), 4294967296)" if once_per_transaction else "")
        # A new token first (an upsert): a migration that has to create the triggers again (a
        # batch rebuild drops them) runs these same statements, and whatever it changed while
        # they were missing must not keep the old token.
        self.ddl = {
            "sqlite": [sqlite_new, *(
                f"CREATE TRIGGER {name} AFTER {t.event} ON {t.table} "
                f"{_when(t.condition, 'sqlite')}BEGIN {sqlite_new}; END"
                for name, t in triggers.items())],
            "postgresql": [
                pg_new,
                f"CREATE OR REPLACE FUNCTION {function} RETURNS trigger "
                f"LANGUAGE plpgsql AS $$ BEGIN {pg_bump}; RETURN NULL; END $$",
                *(f"CREATE TRIGGER {name} AFTER {t.event} ON {t.table} "
                  f"FOR EACH {_each(t, once_per_transaction)} "
                  f"{_when(t.condition, 'postgresql')}EXECUTE FUNCTION {function}"
                  for name, t in triggers.items()),
                *(f"CREATE TRIGGER {name} AFTER TRUNCATE ON {on} "
                  f"FOR EACH STATEMENT EXECUTE FUNCTION {function}"
                  for name, on in truncated.items()),
            ],
        }
        self.drop = {
            "sqlite": [f"DROP TRIGGER IF EXISTS {name}" for name in triggers],
            "postgresql": [
                *(f"DROP TRIGGER IF EXISTS {name} ON {t.table}" for name, t in triggers.items()),
                *(f"DROP TRIGGER IF EXISTS {name} ON {on}" for name, on in truncated.items()),
                f"DROP FUNCTION IF EXISTS {function}",
            ],
        }
        names = ", ".join(f"'{name}'" for name in (*triggers, *truncated))
        tables = ", ".join(f"to_regclass('{on}')" for on in dict.fromkeys(
            [*(t.table for t in triggers.values()), *truncated.values()]))
        # Whether every trigger is there and enabled: a batch migration that rebuilds a table
        # under SQLite drops its triggers, and a token no one keeps must not be trusted. Only
        # this project's constant trigger and table names are in the text.
        self.present = {
            "sqlite": f"(SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "  # nosec B608
                      f"AND name IN ({names})) = {len(triggers)}",
            "postgresql": f"(SELECT count(*) FROM pg_trigger WHERE tgname IN ({names}) "  # nosec B608
                          f"AND tgenabled <> 'D' AND tgrelid IN ({tables})) "
                          f"= {len(triggers) + len(truncated)}",
        }

    def create(self, connection) -> None:
        for statement in self.ddl.get(connection.dialect.name, []):
            connection.execute(DDL(statement))

    def token(self, model, dialect: str):
        """SQL: the current token, NULL when a trigger that keeps it is missing or disabled, or
        (written once per transaction) when this transaction wrote it: then nothing may be kept
        across requests. txid_current_if_assigned: a transaction that wrote nothing is given no
        id by asking."""
        token = model.token
        if self.once_per_transaction and dialect == "postgresql":
            token = sa.case((sa.literal_column(f"{model.__tablename__}.xmin::text::bigint")
                             == sa.func.mod(sa.func.txid_current_if_assigned(), 4294967296),
                             sa.null()), else_=model.token)
        return (sa.select(token).where(model.id == 1, sa.text(self.present[dialect]))
                .scalar_subquery())


def _each(trigger: Trigger, once_per_transaction: bool) -> str:
    """Once per statement where the token is written once per transaction and the trigger has
    no condition on the row; otherwise per row (the function then writes at most once)."""
    return "STATEMENT" if once_per_transaction and trigger.condition is None else "ROW"


def _when(condition, dialect):
    if condition is None:
        return ""
    return f"WHEN {condition} " if dialect == "sqlite" else f"WHEN ({condition}) "


class ScopeGeneration(db.Model):
    """The generation token of who may see which case: a process may keep an agency's visible
    cases (policy.scoping.visible_cases) across requests while the token it read before them is
    still the one it reads (SCOPE_TRIGGERS)."""

    __tablename__ = "scope_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[int] = mapped_column(sa.BigInteger)

    def __str__(self) -> str:
        return f"閲覧範囲の世代 {self.token}"


# Every table and column the agency scope rule reads (policy.scoping._visible_case_ids, tested
# against the rule's SQL): a role, a meeting's cases or agencies, a consent or the agencies it
# names, a case's woman or 年度. A case's other columns change on every save and do not count.
_ANY = ("INSERT", "UPDATE", "DELETE")
SCOPE_TRIGGERS = GenerationTriggers("scope_generation", {
    **{f"scope_generation_{table}_{event.lower()}": Trigger(table, event)
       for table in ("role_assignments", "meeting_agencies", "consents", "consent_agencies")
       for event in _ANY},
    **{f"scope_generation_{table}_{event.split()[0].lower()}": Trigger(table, event)
       for table, watched in (("cases", "woman_id, fiscal_year"),
                              ("meeting_cases", "meeting_id, case_id"))
       for event in ("INSERT", f"UPDATE OF {watched}", "DELETE")},
}, {f"scope_generation_{table}_truncate": table
    for table in ("role_assignments", "meeting_agencies", "consents", "consent_agencies",
                  "cases", "meeting_cases")}, once_per_transaction=True)


@event.listens_for(db.metadata, "after_create")
def _create_scope_generation(target, connection, tables=(), **kw) -> None:
    if ScopeGeneration.__table__ in tables:
        SCOPE_TRIGGERS.create(connection)
