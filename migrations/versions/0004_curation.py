"""curation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 07:42:03.054178
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('curation_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('other_ids', sa.JSON(), nullable=False),
    sa.Column('centroids', sa.LargeBinary(), nullable=True),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('staff', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['theme_id'], ['theme.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('curation_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_curation_rule_theme_id'), ['theme_id'], unique=False)

    op.create_table('hidden_quote',
    sa.Column('testimony_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('staff', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['testimony_id'], ['testimony.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('testimony_id')
    )
    op.create_table('pinned_quote',
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('testimony_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('staff', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['testimony_id'], ['testimony.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['theme.id'], ),
    sa.PrimaryKeyConstraint('theme_id', 'testimony_id')
    )


def downgrade() -> None:
    op.drop_table('pinned_quote')
    op.drop_table('hidden_quote')
    with op.batch_alter_table('curation_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_curation_rule_theme_id'))

    op.drop_table('curation_rule')
