"""theme keywords per language: a theme that spans languages shows its keywords in each

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('theme', schema=None) as batch_op:
        batch_op.add_column(sa.Column('keywords_by_language', sa.JSON(), nullable=True))
    op.execute("UPDATE theme SET keywords_by_language = '{}'")
    with op.batch_alter_table('theme', schema=None) as batch_op:
        batch_op.alter_column('keywords_by_language', existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('theme', schema=None) as batch_op:
        batch_op.drop_column('keywords_by_language')
