"""partial indexes of pending 住所秘匿 requests

Revision ID: b7f3e9a1c2d4
Revises: 5e0c1a7d2b94
Create Date: 2026-12-06 15:30:00.000000

The home page counts the 住所秘匿 requests waiting for a second coordinator on every visit. The
partial index of hidden addresses (d3d8c46dc4cb) served it only as a walk of every hidden
address (30,000 of 100,000 women in bench/: 25 ms on PostgreSQL); these index the few pending.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7f3e9a1c2d4'
down_revision = '5e0c1a7d2b94'
branch_labels = None
depends_on = None

PENDING = sa.text("address_hidden_pending IS NOT NULL")


def upgrade():
    for table in ("companions", "women"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_secrecy_pending", ["id"], unique=False,
                                  sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade():
    for table in ("women", "companions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_secrecy_pending")
