"""exports: registry of files written for staff

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 07:45:38.101199
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('export_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('format', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('testimony_ids', sa.JSON(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('removed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('replaced_by', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('export_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_file_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_file_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_file_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('export_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_file_status'))
        batch_op.drop_index(batch_op.f('ix_export_file_path'))
        batch_op.drop_index(batch_op.f('ix_export_file_kind'))

    op.drop_table('export_file')
