"""index of the follow-up deadline

Revision ID: c4a8d2e6f1b3
Revises: b5e2c7a94f10
Create Date: 2026-12-06 18:20:00.000000

The home page counts the open cases whose 管理記録 is overdue (models.cases.overdue_clause) on
every visit, and the ledger's 「フォロー期限超過」 filter counts them too: a scan of every case
(45 ms at 100,000 cases on SQLite, bench/). This index holds the status and both dates the
deadline is computed from, so the count reads the index alone (7 ms). A plain index, not one on
coalesce(): Alembic compares it, and SQLite reflects it.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4a8d2e6f1b3'
down_revision = 'b5e2c7a94f10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_cases_status_last_review_on', 'cases',
                    ['status', 'last_review_on', 'received_on'], unique=False)


def downgrade():
    op.drop_index('ix_cases_status_last_review_on', table_name='cases')
