"""address token written once per transaction

Revision ID: a9c3e5f7b1d4
Revises: f2b8d4a6c0e3
Create Date: 2026-12-06 22:40:00.000000

Written by hand, PostgreSQL only: the hidden addresses' token is written at most once per
transaction, as the scope's token is (models.generation.GenerationTriggers,
once_per_transaction), and its triggers without a condition fire once per statement. Written
per row, each write made a new version of the one row that every later write of the transaction
walked: the bench's load of 100,000 women, 30% hidden, spent most of its time there. The
triggers and their function are dropped and created again; SQLite's triggers do not change.
"""
from alembic import op

from kyogikai.models.generation import GenerationTriggers
from kyogikai.models.women import ADDRESS_TRIGGERS

# revision identifiers, used by Alembic.
revision = 'a9c3e5f7b1d4'
down_revision = 'f2b8d4a6c0e3'
branch_labels = None
depends_on = None

PER_ROW = GenerationTriggers(ADDRESS_TRIGGERS.table, ADDRESS_TRIGGERS.triggers,
                             ADDRESS_TRIGGERS.truncated)


def _replace(old, new):
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (*old.drop["postgresql"], *new.ddl["postgresql"]):
        op.execute(statement)


def upgrade():
    _replace(PER_ROW, ADDRESS_TRIGGERS)


def downgrade():
    _replace(ADDRESS_TRIGGERS, PER_ROW)
