"""detected language: the declared language kept apart, and the detector's confidence

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000

``testimony.language`` becomes the detected language (or the declared one when
the text cannot tell); rows stored before keep their declared language there
and their declared language copied to ``declared_language``, with NULL
confidence until ``CorpusStore.redetect_languages`` runs.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('testimony', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declared_language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('language_confidence', sa.Float(), nullable=True))
    # Until now ``language`` held the declared language: keep it as the hint for redetection.
    op.execute("UPDATE testimony SET declared_language = language")


def downgrade() -> None:
    with op.batch_alter_table('testimony', schema=None) as batch_op:
        batch_op.drop_column('language_confidence')
        batch_op.drop_column('declared_language')
