"""Staff curation of themes: pinned quotes, hidden quotes, merges and splits.

Curation is stored as rules that the analysis re-applies, so it survives
re-analysis as long as the themes it names persist (``analysis.curation``).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import JSON, Column, LargeBinary
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from corpus.db import session_scope
from corpus.models import utcnow


class PinnedQuote(SQLModel, table=True):
    """A quote staff want shown first for a theme."""

    __tablename__ = "pinned_quote"

    theme_id: int = Field(foreign_key="theme.id", primary_key=True)
    testimony_id: str = Field(foreign_key="testimony.id", primary_key=True, max_length=36, ondelete="CASCADE")
    staff: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class HiddenQuote(SQLModel, table=True):
    """A testimony staff decided must never be quoted again (it still counts)."""

    __tablename__ = "hidden_quote"

    testimony_id: str = Field(foreign_key="testimony.id", primary_key=True, max_length=36, ondelete="CASCADE")
    reason: str = Field(max_length=500)
    staff: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class CurationRule(SQLModel, table=True):
    """A merge (``other`` folded into ``theme``) or split (``theme`` into ``theme`` + children) to re-apply."""

    __tablename__ = "curation_rule"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    theme_id: int = Field(foreign_key="theme.id", index=True)
    other_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    centroids: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    dim: int = 0
    staff: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)

    def centroid_matrix(self) -> np.ndarray:
        """The stored centroids (merged themes' or split parts'), one row each."""
        if not self.centroids or not self.dim:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.frombuffer(self.centroids, dtype=np.float32).reshape(-1, self.dim)


class CurationStore:
    """Reads and writes pins, hidden quotes and merge/split rules."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pin(self, theme_id: int, testimony_id: str, staff: str | None = None) -> None:
        """Pin a quote to a theme (idempotent)."""
        with session_scope(self.engine) as session:
            if session.get(PinnedQuote, (theme_id, testimony_id)) is None:
                session.add(PinnedQuote(theme_id=theme_id, testimony_id=testimony_id, staff=staff))

    def pinned(self, theme_id: int) -> list[str]:
        """Pinned testimony ids of a theme, oldest pin first."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(PinnedQuote.testimony_id).where(PinnedQuote.theme_id == theme_id).order_by(PinnedQuote.created_at)
            )
            return list(rows)

    def hide(self, testimony_id: str, reason: str, staff: str | None = None) -> None:
        """Never quote this testimony again (the reason is kept for the audit)."""
        reason = " ".join(reason.split())
        if not reason:
            raise ValueError("give a reason for hiding the quote")
        with session_scope(self.engine) as session:
            existing = session.get(HiddenQuote, testimony_id)
            if existing is None:
                session.add(HiddenQuote(testimony_id=testimony_id, reason=reason[:500], staff=staff))

    def hidden(self) -> set[str]:
        """Every hidden testimony id."""
        with Session(self.engine) as session:
            return set(session.exec(select(HiddenQuote.testimony_id)))

    def add_rule(self, kind: str, theme_id: int, other_ids: list[int], centroids: np.ndarray, staff: str | None = None) -> CurationRule:
        """Record a merge or split to re-apply after every analysis."""
        if kind not in ("merge", "split"):
            raise ValueError(f"unknown curation rule {kind!r}")
        centroids = np.asarray(centroids, dtype=np.float32)
        with session_scope(self.engine) as session:
            rule = CurationRule(
                kind=kind,
                theme_id=theme_id,
                other_ids=list(other_ids),
                centroids=centroids.tobytes(),
                dim=int(centroids.shape[1]) if centroids.ndim == 2 and centroids.size else 0,
                staff=staff,
            )
            session.add(rule)
            session.flush()
            session.refresh(rule)
            return rule

    def rules(self) -> list[CurationRule]:
        """Every merge and split rule, in the order staff made them."""
        with Session(self.engine) as session:
            return list(session.exec(select(CurationRule).order_by(CurationRule.id)))
