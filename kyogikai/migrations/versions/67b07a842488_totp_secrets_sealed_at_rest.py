"""TOTP secrets sealed at rest

Revision ID: 67b07a842488
Revises: 69fc4e93d9ca
Create Date: 2026-12-06 12:20:00.000000

Written by hand: users.totp_secret (the base32 secret in the clear) becomes totp_secret_sealed,
a Fernet token under the key policy.sealing derives from the app's configuration (TOTP_KEY, else
SECRET_KEY), so run it with the configuration the panel serves with. Existing secrets are sealed
row by row before the clear column is dropped; the downgrade unseals them back (a secret sealed
under another key cannot be unsealed and is dropped: that account enrols again).
"""
import sqlalchemy as sa
from alembic import op
from flask import current_app

from kyogikai.policy.sealing import seal, unseal

# revision identifiers, used by Alembic.
revision = '67b07a842488'
down_revision = '69fc4e93d9ca'
branch_labels = None
depends_on = None

users = sa.table('users', sa.column('id', sa.Integer), sa.column('totp_secret', sa.String),
                 sa.column('totp_secret_sealed', sa.Text))


def _move(source, target, convert):
    bind = op.get_bind()
    rows = bind.execute(sa.select(users.c.id, source).where(source.is_not(None))).all()
    for user_id, value in rows:
        bind.execute(users.update().where(users.c.id == user_id)
                     .values({target.name: convert(value, current_app.config)}))


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret_sealed', sa.Text(), nullable=True))
    _move(users.c.totp_secret, users.c.totp_secret_sealed, seal)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_secret')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
    _move(users.c.totp_secret_sealed, users.c.totp_secret, unseal)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_secret_sealed')
