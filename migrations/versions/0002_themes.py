"""themes

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 07:38:40.826531
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analysis_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('embedding_model', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('random_state', sa.Integer(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('testimonies', sa.Integer(), nullable=False),
    sa.Column('themes', sa.Integer(), nullable=False),
    sa.Column('unthemed', sa.Integer(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('theme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('label_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('primary_driver', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('intersecting_drivers', sa.JSON(), nullable=False),
    sa.Column('driver_scores', sa.JSON(), nullable=False),
    sa.Column('subdriver', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('centroid', sa.LargeBinary(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('merged_into', sa.Integer(), nullable=True),
    sa.Column('size_at_run', sa.Integer(), nullable=False),
    sa.Column('previous_size', sa.Integer(), nullable=True),
    sa.Column('created_run_id', sa.Integer(), nullable=True),
    sa.Column('last_run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_run_id'], ['analysis_run.id'], ),
    sa.ForeignKeyConstraint(['last_run_id'], ['analysis_run.id'], ),
    sa.ForeignKeyConstraint(['merged_into'], ['theme.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('theme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_theme_status'), ['status'], unique=False)

    op.create_table('assignment',
    sa.Column('testimony_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.Column('similarity', sa.Float(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('primary_driver', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('intersecting_drivers', sa.JSON(), nullable=False),
    sa.Column('driver_scores', sa.JSON(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['analysis_run.id'], ),
    sa.ForeignKeyConstraint(['testimony_id'], ['testimony.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['theme.id'], ),
    sa.PrimaryKeyConstraint('testimony_id')
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_primary_driver'), ['primary_driver'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_theme_id'), ['theme_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_theme_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_primary_driver'))

    op.drop_table('assignment')
    with op.batch_alter_table('theme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_theme_status'))

    op.drop_table('theme')
    op.drop_table('analysis_run')
