"""corpus tables

Revision ID: 0001
Revises: 
Create Date: 2026-12-01 07:28:41.107081
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('embedding',
    sa.Column('text_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('text_hash', 'model')
    )
    op.create_table('organisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_code'), ['code'], unique=True)

    op.create_table('contributor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('age_band', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('gender', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contributor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contributor_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_contributor_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contributor_pseudonym'), ['pseudonym'], unique=True)

    op.create_table('consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contributor_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('quote', 'aggregate', name='consentlevel', native_enum=False, length=16), nullable=False),
    sa.Column('text_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('given_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('withdrawn_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['contributor_id'], ['contributor.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_contributor_id'), ['contributor_id'], unique=False)

    op.create_table('testimony',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('contributor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('testimony', 'proposal', name='kind', native_enum=False, length=16), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('redacted_text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('source_ref', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('consent_level', sa.Enum('quote', 'aggregate', name='consentlevel', native_enum=False, length=16), nullable=False),
    sa.Column('self_drivers', sa.JSON(), nullable=False),
    sa.Column('why_text', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('parent_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('text_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('index_status', sa.Enum('pending', 'indexed', 'failed', name='indexstatus', native_enum=False, length=16), nullable=False),
    sa.Column('indexed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['contributor_id'], ['contributor.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['testimony.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'source_ref', name='uq_testimony_source_ref')
    )
    with op.batch_alter_table('testimony', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_testimony_contributor_id'), ['contributor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_testimony_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_testimony_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_testimony_index_status'), ['index_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_testimony_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_testimony_language'), ['language'], unique=False)
        batch_op.create_index(batch_op.f('ix_testimony_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_testimony_text_hash'), ['text_hash'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('testimony', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_testimony_text_hash'))
        batch_op.drop_index(batch_op.f('ix_testimony_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_testimony_language'))
        batch_op.drop_index(batch_op.f('ix_testimony_kind'))
        batch_op.drop_index(batch_op.f('ix_testimony_index_status'))
        batch_op.drop_index(batch_op.f('ix_testimony_created_at'))
        batch_op.drop_index(batch_op.f('ix_testimony_country'))
        batch_op.drop_index(batch_op.f('ix_testimony_contributor_id'))

    op.drop_table('testimony')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_contributor_id'))

    op.drop_table('consent')
    with op.batch_alter_table('contributor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contributor_pseudonym'))
        batch_op.drop_index(batch_op.f('ix_contributor_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_contributor_country'))

    op.drop_table('contributor')
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_code'))

    op.drop_table('organisation')
    op.drop_table('embedding')
