"""The corpus tables: organisations, contributors, consent, testimonies, cached embeddings.

The SQL database is the source of truth; the vector index is derived from it.
No contributor's name or external (Telegram) id is ever stored: only a keyed
pseudonym (see ``corpus.pseudonyms``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from corpus.vocabulary import ConsentLevel, Kind


def _enum_type(enum: type[StrEnum]) -> SAEnum:
    """A portable VARCHAR column type for ``enum`` (no native enum types to migrate)."""
    return SAEnum(enum, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


def utcnow() -> datetime:
    """Timezone-aware now in UTC (stored naive-UTC by SQLite, aware by PostgreSQL)."""
    return datetime.now(timezone.utc)


class IndexStatus(StrEnum):
    """Where a testimony stands in the derived vector index."""

    pending = "pending"
    indexed = "indexed"
    failed = "failed"


class Organisation(SQLModel, table=True):
    """A partner organisation or campaign; ``code`` is used in deep links and imports."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Contributor(SQLModel, table=True):
    """A community member, known only by a keyed pseudonym, with an optional profile."""

    id: int | None = Field(default=None, primary_key=True)
    pseudonym: str = Field(max_length=64, unique=True, index=True)
    language: str | None = Field(default=None, max_length=16)
    age_band: str | None = Field(default=None, max_length=16)
    gender: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=2, index=True)
    region: str | None = Field(default=None, max_length=100)
    groups: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Consent(SQLModel, table=True):
    """One consent given by a contributor to one version of the notice; withdrawn keeps the row."""

    id: int | None = Field(default=None, primary_key=True)
    contributor_id: int = Field(foreign_key="contributor.id", index=True)
    level: ConsentLevel = Field(sa_type=_enum_type(ConsentLevel))
    text_version: str = Field(max_length=32)
    given_at: datetime = Field(default_factory=utcnow)
    withdrawn_at: datetime | None = None


class Testimony(SQLModel, table=True):
    """A testimony or proposal: the original text, its redacted form and its provenance.

    ``language`` is the language analysis and filters use: the one detected
    from the text, or the declared one when the text cannot tell (see
    ``corpus.language``). ``declared_language`` is the hint as given (import
    column, bot interface language); ``language_confidence`` is the
    detector's probability for ``language``, NULL for rows stored before
    detection existed (``CorpusStore.redetect_languages`` fills them).
    """

    __table_args__ = (UniqueConstraint("source", "source_ref", name="uq_testimony_source_ref"),)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    contributor_id: int | None = Field(default=None, foreign_key="contributor.id", index=True)
    kind: Kind = Field(default=Kind.testimony, sa_type=_enum_type(Kind), index=True)
    text: str
    redacted_text: str
    language: str | None = Field(default=None, max_length=16, index=True)
    declared_language: str | None = Field(default=None, max_length=16)
    language_confidence: float | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    source: str = Field(default="telegram", max_length=255)
    source_ref: str | None = Field(default=None, max_length=255)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    country: str | None = Field(default=None, max_length=2, index=True)
    region: str | None = Field(default=None, max_length=100)
    consent_level: ConsentLevel = Field(default=ConsentLevel.aggregate, sa_type=_enum_type(ConsentLevel))
    self_drivers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    why_text: str | None = None
    parent_id: str | None = Field(default=None, foreign_key="testimony.id", max_length=36)
    text_hash: str = Field(max_length=64, index=True)
    index_status: IndexStatus = Field(default=IndexStatus.pending, sa_type=_enum_type(IndexStatus), index=True)
    indexed_at: datetime | None = None


class Embedding(SQLModel, table=True):
    """A cached embedding of one redacted text under one model, so no text is embedded twice."""

    text_hash: str = Field(primary_key=True, max_length=64)
    model: str = Field(primary_key=True, max_length=255)
    dim: int
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
