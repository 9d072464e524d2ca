"""where each text lies on the analysis's map of themes (for the offline explorer)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 14:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('map_x', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('map_y', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_column('map_y')
        batch_op.drop_column('map_x')
