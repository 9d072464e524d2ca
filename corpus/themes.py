"""Themes as stored: analysis runs, themes with stable ids, and each testimony's assignment.

A theme keeps its id, and its staff label, across re-analyses while it
persists (``analysis.identity`` decides that); its members are the
``Assignment`` rows that point at it. Counts are always computed from the
assignments, so an erased testimony leaves every count at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import JSON, Column, LargeBinary, delete, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from corpus.db import session_scope
from corpus.errors import NotFound
from corpus.models import Testimony, utcnow
from corpus.records import people_count


class AnalysisRun(SQLModel, table=True):
    """One full analysis of the corpus: parameters, counts and what changed."""

    __tablename__ = "analysis_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    embedding_model: str = Field(max_length=255)
    random_state: int | None = None
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    testimonies: int = 0
    themes: int = 0
    unthemed: int = 0
    changes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Theme(SQLModel, table=True):
    """A theme with a stable id; ``status`` is active, merged (into ``merged_into``) or gone."""

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(max_length=200)
    label_source: str = Field(default="auto", max_length=16)
    keywords: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # language code -> [[word, weight], ...] for each language with enough of the theme's texts
    keywords_by_language: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    primary_driver: str | None = Field(default=None, max_length=32)
    intersecting_drivers: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    driver_scores: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    subdriver: str | None = Field(default=None, max_length=64)
    centroid: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    status: str = Field(default="active", max_length=16, index=True)
    merged_into: int | None = Field(default=None, foreign_key="theme.id")
    size_at_run: int = 0
    previous_size: int | None = None
    created_run_id: int | None = Field(default=None, foreign_key="analysis_run.id")
    last_run_id: int | None = Field(default=None, foreign_key="analysis_run.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Assignment(SQLModel, table=True):
    """A testimony's theme (None: explicitly unthemed) and its driver scores."""

    testimony_id: str = Field(foreign_key="testimony.id", primary_key=True, max_length=36, ondelete="CASCADE")
    theme_id: int | None = Field(default=None, foreign_key="theme.id", index=True)
    similarity: float | None = None
    provisional: bool = False
    primary_driver: str | None = Field(default=None, max_length=32, index=True)
    intersecting_drivers: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    driver_scores: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    run_id: int | None = Field(default=None, foreign_key="analysis_run.id")
    assigned_at: datetime = Field(default_factory=utcnow)
    map_x: float | None = None  # where the analysis placed the text on its map of themes (see ThemeModel.map_)
    map_y: float | None = None


@dataclass
class ThemeSnapshot:
    """A theme's state as written by one analysis (input to ``ThemeStore.save_run``)."""

    id: int | None
    label: str
    keywords: list
    primary_driver: str | None
    intersecting_drivers: list
    driver_scores: dict
    subdriver: str | None
    centroid: np.ndarray
    size: int
    keywords_by_language: dict = field(default_factory=dict)


@dataclass
class AssignmentRow:
    """One testimony's outcome of an analysis."""

    testimony_id: str
    theme_index: int | None
    similarity: float | None
    primary_driver: str | None
    intersecting_drivers: list
    driver_scores: dict
    map_xy: tuple[float, float] | None = None


class ThemeStore:
    """Reads and writes themes, assignments and analysis runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- reading --------------------------------------------------------------------

    def themes(self, include_inactive: bool = False) -> list[Theme]:
        """Active themes (or all), largest first by current member count."""
        with self.session() as session:
            statement = select(Theme)
            if not include_inactive:
                statement = statement.where(Theme.status == "active")
            themes = list(session.exec(statement))
        sizes = self.sizes()
        return sorted(themes, key=lambda t: (-sizes.get(t.id, 0), t.id))

    def theme(self, theme_id: int) -> Theme:
        """One theme by id, or ``NotFound``."""
        with self.session() as session:
            theme = session.get(Theme, theme_id)
        if theme is None:
            raise NotFound(f"no theme {theme_id}: list them with `lnob themes`")
        return theme

    def sizes(self) -> dict[int, int]:
        """Current member count per theme id."""
        with self.session() as session:
            rows = session.exec(
                select(Assignment.theme_id, func.count(Assignment.testimony_id))
                .where(Assignment.theme_id.is_not(None))
                .group_by(Assignment.theme_id)
            )
            return {int(t): int(n) for t, n in rows}

    def contributor_counts(self) -> dict[int, int]:
        """Distinct people per theme id (a testimony without a contributor counts as one: ``people_count``)."""
        with self.session() as session:
            rows = session.exec(
                select(Assignment.theme_id, people_count())
                .join(Testimony, Testimony.id == Assignment.testimony_id)
                .where(Assignment.theme_id.is_not(None))
                .group_by(Assignment.theme_id)
            )
            return {int(t): int(n) for t, n in rows}

    def driver_counts(self) -> dict[str | None, tuple[int, int]]:
        """Contributions and distinct people in the active themes of each primary driver (None: unmapped)."""
        with self.session() as session:
            rows = session.exec(
                select(Theme.primary_driver, func.count(Assignment.testimony_id), people_count())
                .select_from(Assignment)
                .join(Theme, Theme.id == Assignment.theme_id)
                .join(Testimony, Testimony.id == Assignment.testimony_id)
                .where(Theme.status == "active")
                .group_by(Theme.primary_driver)
            )
            return {driver: (int(n), int(p)) for driver, n, p in rows}

    def members(self, theme_id: int) -> list[Assignment]:
        """Assignments of one theme, most central first."""
        with self.session() as session:
            return list(
                session.exec(
                    select(Assignment).where(Assignment.theme_id == theme_id).order_by(Assignment.similarity.desc())
                )
            )

    def assignments(self, testimony_ids: Sequence[str] | None = None) -> dict[str, Assignment]:
        """Assignments by testimony id (all, or of these ids)."""
        with self.session() as session:
            if testimony_ids is None:
                return {a.testimony_id: a for a in session.exec(select(Assignment))}
            found: dict[str, Assignment] = {}
            ids = list(testimony_ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for a in session.exec(select(Assignment).where(Assignment.testimony_id.in_(chunk))):
                    found[a.testimony_id] = a
            return found

    def centroids(self) -> tuple[list[int], np.ndarray]:
        """Ids and centroid matrix of the active themes (for provisional assignment)."""
        themes = [t for t in self.themes() if t.centroid is not None]
        if not themes:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [t.id for t in themes], np.stack([np.frombuffer(t.centroid, dtype=np.float32) for t in themes])

    def last_run(self) -> AnalysisRun | None:
        """The newest finished analysis run."""
        with self.session() as session:
            return session.exec(
                select(AnalysisRun).where(AnalysisRun.finished_at.is_not(None)).order_by(AnalysisRun.id.desc())
            ).first()

    # -- writing --------------------------------------------------------------------

    def start_run(self, embedding_model: str, random_state: int | None, params: dict) -> AnalysisRun:
        """Record the start of an analysis."""
        with session_scope(self.engine) as session:
            run = AnalysisRun(embedding_model=embedding_model, random_state=random_state, params=params)
            session.add(run)
            session.flush()
            session.refresh(run)
            return run

    def save_run(
        self,
        run_id: int,
        snapshots: Sequence[ThemeSnapshot],
        rows: Sequence[AssignmentRow],
        retired: dict[int, int | None],
        changes: dict,
    ) -> list[int]:
        """Write one analysis in a single transaction; returns the theme id of each snapshot.

        ``retired`` maps old theme ids that did not persist to the id they were
        merged into (or None: gone). Staff labels are never overwritten.
        """
        now = utcnow()
        with session_scope(self.engine) as session:
            theme_ids: list[int] = []
            for snap in snapshots:
                theme = session.get(Theme, snap.id) if snap.id is not None else None
                if theme is None:
                    theme = Theme(label=snap.label, created_run_id=run_id)
                elif theme.label_source != "staff":
                    theme.label = snap.label
                theme.previous_size = theme.size_at_run if theme.id is not None else None
                theme.keywords = snap.keywords
                theme.keywords_by_language = snap.keywords_by_language
                theme.primary_driver = snap.primary_driver
                theme.intersecting_drivers = snap.intersecting_drivers
                theme.driver_scores = snap.driver_scores
                theme.subdriver = snap.subdriver
                theme.centroid = np.asarray(snap.centroid, dtype=np.float32).tobytes()
                theme.size_at_run = snap.size
                theme.status = "active"
                theme.merged_into = None
                theme.last_run_id = run_id
                theme.updated_at = now
                session.add(theme)
                session.flush()
                theme_ids.append(theme.id)
            for old_id, target in retired.items():
                old = session.get(Theme, old_id)
                if old is None:
                    continue
                target_id = theme_ids[target] if target is not None else None
                old.status = "merged" if target_id is not None else "gone"
                old.merged_into = target_id
                old.updated_at = now
                session.add(old)
                # provisional members that arrived during the analysis follow their theme
                session.exec(update(Assignment).where(Assignment.theme_id == old_id).values(theme_id=target_id))
            session.exec(delete(Assignment).where(Assignment.provisional.is_(False)))
            ids = [r.testimony_id for r in rows]
            for start in range(0, len(ids), 500):
                session.exec(delete(Assignment).where(Assignment.testimony_id.in_(ids[start : start + 500])))
            session.add_all(
                Assignment(
                    testimony_id=r.testimony_id,
                    theme_id=theme_ids[r.theme_index] if r.theme_index is not None else None,
                    similarity=r.similarity,
                    provisional=False,
                    primary_driver=r.primary_driver,
                    intersecting_drivers=r.intersecting_drivers,
                    driver_scores=r.driver_scores,
                    run_id=run_id,
                    assigned_at=now,
                    map_x=r.map_xy[0] if r.map_xy else None,
                    map_y=r.map_xy[1] if r.map_xy else None,
                )
                for r in rows
            )
            run = session.get(AnalysisRun, run_id)
            run.finished_at = now
            run.testimonies = len(rows)
            run.themes = len(snapshots)
            run.unthemed = sum(1 for r in rows if r.theme_index is None)
            run.changes = _remap_changes(changes, theme_ids)
            session.add(run)
            return theme_ids

    def assign_provisional(self, rows: Sequence[tuple[str, int | None, float | None, dict]]) -> None:
        """Give new testimonies a provisional theme (or explicitly none) without re-analysis.

        Each row is ``(testimony_id, theme_id, similarity, drivers)`` where
        ``drivers`` holds ``primary``, ``intersecting`` and ``scores``.
        """
        if not rows:
            return
        with session_scope(self.engine) as session:
            for testimony_id, theme_id, similarity, drivers in rows:
                existing = session.get(Assignment, testimony_id)
                if existing is not None and not existing.provisional:
                    continue
                assignment = existing or Assignment(testimony_id=testimony_id)
                assignment.theme_id = theme_id
                assignment.similarity = similarity
                assignment.provisional = True
                assignment.primary_driver = drivers.get("primary")
                assignment.intersecting_drivers = list(drivers.get("intersecting", []))
                assignment.driver_scores = dict(drivers.get("scores", {}))
                assignment.assigned_at = utcnow()
                session.add(assignment)

    def reassign(self, from_theme: int, to_theme: int) -> int:
        """Move every member of one theme to another (a staff merge); returns how many moved."""
        with session_scope(self.engine) as session:
            result = session.exec(update(Assignment).where(Assignment.theme_id == from_theme).values(theme_id=to_theme))
            return result.rowcount or 0

    def set_centroid(self, theme_id: int, centroid: np.ndarray) -> None:
        """Replace a theme's centroid (after curation changed its members)."""
        with session_scope(self.engine) as session:
            theme = session.get(Theme, theme_id)
            theme.centroid = np.asarray(centroid, dtype=np.float32).tobytes()
            theme.updated_at = utcnow()
            session.add(theme)

    def retire(self, theme_id: int, merged_into: int | None) -> None:
        """Mark a theme merged (into another) or gone."""
        with session_scope(self.engine) as session:
            theme = session.get(Theme, theme_id)
            theme.status = "merged" if merged_into is not None else "gone"
            theme.merged_into = merged_into
            theme.updated_at = utcnow()
            session.add(theme)

    def create_child(self, parent: Theme, label: str, centroid: np.ndarray, testimony_ids: Sequence[str]) -> Theme:
        """A new theme split off ``parent`` that takes these members."""
        with session_scope(self.engine) as session:
            child = Theme(
                label=label[:200],
                keywords=[],
                primary_driver=parent.primary_driver,
                intersecting_drivers=list(parent.intersecting_drivers or []),
                driver_scores=dict(parent.driver_scores or {}),
                subdriver=parent.subdriver,
                centroid=np.asarray(centroid, dtype=np.float32).tobytes(),
                size_at_run=len(testimony_ids),
                created_run_id=parent.last_run_id,
                last_run_id=parent.last_run_id,
            )
            session.add(child)
            session.flush()
            ids = list(testimony_ids)
            for start in range(0, len(ids), 500):
                session.exec(
                    update(Assignment).where(Assignment.testimony_id.in_(ids[start : start + 500])).values(theme_id=child.id)
                )
            session.refresh(child)
            return child

    def update_keywords(self, updates: Sequence[tuple[int, str, list, dict]]) -> None:
        """Replace the label, keywords and keywords per language of themes, in one transaction.

        Each update is ``(theme_id, label, keywords, keywords_by_language)``; a
        staff label is never overwritten (used when an erasure recomputes them).
        """
        if not updates:
            return
        now = utcnow()
        with session_scope(self.engine) as session:
            for theme_id, label, keywords, keywords_by_language in updates:
                theme = session.get(Theme, theme_id)
                if theme is None:
                    continue
                if theme.label_source != "staff":
                    theme.label = label[:200]
                theme.keywords = keywords
                theme.keywords_by_language = keywords_by_language
                theme.updated_at = now
                session.add(theme)

    def rename(self, theme_id: int, label: str) -> Theme:
        """Give a theme a staff label (kept across re-analyses)."""
        label = " ".join(label.split())
        if not label:
            raise ValueError("the label is empty")
        with session_scope(self.engine) as session:
            theme = session.get(Theme, theme_id)
            if theme is None:
                raise NotFound(f"no theme {theme_id}")
            theme.label = label[:200]
            theme.label_source = "staff"
            theme.updated_at = utcnow()
            session.add(theme)
            return theme


def _remap_changes(changes: dict, theme_ids: list[int]) -> dict:
    """Replace snapshot indexes (``"#3"``) in a change report by the theme ids just written."""

    def fix(value):
        if isinstance(value, str) and value.startswith("#"):
            return theme_ids[int(value[1:])]
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        return value

    return fix(changes)
