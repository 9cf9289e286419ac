"""address generation token

Revision ID: b5e2c7a94f10
Revises: b7f3e9a1c2d4
Create Date: 2026-12-06 15:10:00.000000

Written by hand: the one-row table address_generation and the triggers on women and companions
that give it a new random token in the same transaction as any change to a hidden address
(models.women.ADDRESS_GENERATION_DDL; autogenerate sees neither triggers nor the row). The
住所秘匿 matcher is then kept per process while the token stays the same.
"""
import sqlalchemy as sa
from alembic import op

from kyogikai.models.women import ADDRESS_GENERATION_DDL, ADDRESS_GENERATION_DROP

# revision identifiers, used by Alembic.
revision = 'b5e2c7a94f10'
down_revision = 'b7f3e9a1c2d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('address_generation',
                    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('token', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_address_generation')))
    for statement in ADDRESS_GENERATION_DDL.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    for statement in ADDRESS_GENERATION_DROP.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_table('address_generation')
