"""scope generation token

Revision ID: e1f7a3c9b5d2
Revises: c4a8d2e6f1b3
Create Date: 2026-12-06 20:30:00.000000

Written by hand: the one-row table scope_generation and the triggers on role_assignments,
meeting_cases, meeting_agencies, consents, consent_agencies and cases that give it a new random
token in the same transaction as any change the agency scope rule reads
(models.generation.SCOPE_TRIGGERS; autogenerate sees neither triggers nor the row). An agency's
visible cases are then kept per process while the token stays the same (policy.scoping).
"""
import sqlalchemy as sa
from alembic import op

from kyogikai.models.generation import SCOPE_TRIGGERS

# revision identifiers, used by Alembic.
revision = 'e1f7a3c9b5d2'
down_revision = 'c4a8d2e6f1b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scope_generation',
                    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('token', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_scope_generation')))
    for statement in SCOPE_TRIGGERS.ddl.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    for statement in SCOPE_TRIGGERS.drop.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_table('scope_generation')
