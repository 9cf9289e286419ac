"""name search: grams per name, pg_trgm index on search_text

Revision ID: 5e0c1a7d2b94
Revises: 67b07a842488
Create Date: 2026-12-06 15:20:00.000000

Written by hand (issue 13, measurements in bench/README.md):

* name_search_grams held the bigrams of the three names run together, so a bigram could span
  the end of 氏名 and the start of 通称; a one- or two-character term then needed every
  candidate confirmed against search_text. The grams are now per name (models/women.py
  search_grams); this revision drops the spanning ones and adds any missing, woman by woman.
  Searching for 佐藤 becomes one index range, exact without confirmation.
* PostgreSQL: a GIN trigram index on women.search_text for terms of three characters or more
  (サトウ). It needs the pg_trgm extension and a UTF-8 LC_CTYPE (under C, pg_trgm extracts no
  trigram from Japanese); without them the revision stops with a message saying what to do.
  fastupdate off: GIN's pending list made the planner prefer a scan (models/women.py).

The downgrade drops the index and leaves the grams: the previous code works with per-name grams
(it confirmed every candidate).
"""
import click
import sqlalchemy as sa
from alembic import op

from kyogikai.japanese.kana import fold

# revision identifiers, used by Alembic.
revision = '5e0c1a7d2b94'
down_revision = '67b07a842488'
branch_labels = None
depends_on = None

BATCH = 2000
women = sa.table('women', sa.column('id', sa.Integer), sa.column('name', sa.String),
                 sa.column('alias', sa.String), sa.column('furigana', sa.String))
grams = sa.table('name_search_grams', sa.column('woman_id', sa.Integer),
                 sa.column('gram', sa.String))

NO_EXTENSION = ("PostgreSQL の拡張 pg_trgm を作成できませんでした（{error}）。氏名検索の索引に"
                "必要です。postgresql-contrib を入れ、データベースの所有者として "
                "CREATE EXTENSION pg_trgm; を実行してから、もう一度 db upgrade してください。")
NOT_UTF8 = ("このデータベースの LC_CTYPE（{ctype}）では pg_trgm が日本語を索引できません。"
            "README の手順どおり --locale=C.UTF-8 で作成したデータベースへ移してから、"
            "もう一度 db upgrade してください。")


def _per_name(*names):
    found = []
    for name in names:
        key = fold(name or "")
        found += [*key, *(key[i:i + 2] for i in range(len(key) - 1))]
    return set(found)


def _regram(bind):
    last = 0
    while True:
        rows = bind.execute(sa.select(women).where(women.c.id > last)
                            .order_by(women.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        held = {}
        for woman_id, gram in bind.execute(sa.select(grams.c.woman_id, grams.c.gram).where(
                grams.c.woman_id.between(rows[0].id, last))):
            held.setdefault(woman_id, set()).add(gram)
        drop, add = [], []
        for row in rows:
            want, have = _per_name(row.name, row.alias, row.furigana), held.get(row.id, set())
            drop += [{"w": row.id, "g": g} for g in have - want]
            add += [{"woman_id": row.id, "gram": g} for g in want - have]
        if drop:
            bind.execute(grams.delete().where(grams.c.woman_id == sa.bindparam("w"),
                                              grams.c.gram == sa.bindparam("g")), drop)
        if add:
            bind.execute(grams.insert(), add)


def _trigram_index(bind):
    """In public (where a restore creates it, ops/backup.py), unless already elsewhere; the
    operator class is named with its schema so the index does not depend on search_path."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    except sa.exc.DBAPIError as error:
        raise click.ClickException(NO_EXTENSION.format(error=error.orig)) from None
    schema = bind.exec_driver_sql("SELECT extnamespace::regnamespace::text FROM pg_extension"
                                  " WHERE extname = 'pg_trgm'").scalar()
    if not bind.exec_driver_sql(f"SELECT {schema}.show_trgm('サトウ') <> '{{}}'").scalar():
        ctype = bind.exec_driver_sql("SHOW lc_ctype").scalar()
        raise click.ClickException(NOT_UTF8.format(ctype=ctype))
    op.create_index('ix_women_search_text_trgm', 'women', ['search_text'], unique=False,
                    postgresql_using='gin',
                    postgresql_ops={'search_text': f'{schema}.gin_trgm_ops'},
                    postgresql_with={'fastupdate': 'off'})


def upgrade():
    bind = op.get_bind()
    _regram(bind)
    if bind.dialect.name == "postgresql":
        _trigram_index(bind)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_women_search_text_trgm', table_name='women')
