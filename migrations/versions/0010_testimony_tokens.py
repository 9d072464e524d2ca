"""each testimony's search tokens and the BM25 index built from them, saved so that a search does not tokenise the corpus again

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('testimony_tokens',
    sa.Column('testimony_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('text_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('tokenizer', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('tokens', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['testimony_id'], ['testimony.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('testimony_id')
    )
    op.create_table('lexical_index',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('lexical_index')
    op.drop_table('testimony_tokens')
