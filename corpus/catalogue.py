"""The columns search filters on, for every testimony, read in one query without building records.

``analysis.search.TestimonyTable`` holds these columns as arrays so that any
search filter is a boolean mask. A long-running process (the bot) builds it
from full records (``CorpusStore.records``), which it keeps for other views;
a one-shot search (``lnob search``) reads only these columns: at 100,000
contributions about half a second instead of ten (one ORM object per
testimony, its contributor and its record)::

    columns = stores.catalogue.columns()    # CatalogueColumns: one list per column, oldest testimony first
    themes = stores.catalogue.themes()      # testimony id -> (theme id, drivers the analysis gave it)

The columns come in the order ``CorpusStore.records`` gives records (by
creation time, then id), so both catalogues number the testimonies alike;
the country and groups are read as records read them (the testimony's
country, else its contributor's).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from operator import itemgetter

from sqlalchemy import String, select, type_coerce
from sqlalchemy.engine import Engine

from corpus.db import EngineStore
from corpus.models import Contributor, Organisation, Testimony
from corpus.themes import Assignment


@dataclass(frozen=True)
class CatalogueColumns:
    """What search filters testimonies on, and the key of each one's text (``text_hash``); no text.

    One list per column, all in catalogue order.
    """

    ids: list[str]
    kind: list[str]
    language: list[str | None]
    day: list[int]  # the day each was stored, UTC, as YYYYMMDD (``analysis.index.date_key``)
    country: list[str | None]
    organisation: list[str | None]
    consent_level: list[str]
    stored_groups: list[str | list | None]  # the contributor's groups as the driver gives them (``groups``)
    text_hash: list[str]
    contributor_id: list[int | None]

    def groups(self) -> list[tuple[str, ...]]:
        """Each contributor's profile groups, read from the stored JSON (when a filter asks: most need none)."""
        return [_groups(stored) for stored in self.stored_groups]


class CatalogueQueries(EngineStore):
    """Reads the search catalogue's columns (``CorpusStores.catalogue``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def columns(self) -> CatalogueColumns:
        """Every testimony's catalogue values, oldest first (ties by id), in one query.

        The time, kind, consent and groups columns are read as the driver
        gives them (``type_coerce`` to text), without SQLAlchemy's conversion
        of each value: that conversion was most of the read's time. SQLite's
        rows are put in order here rather than by the database: it stores the
        time as text of a fixed width and compares text as Python does, and
        its sort through the time index took longer than the read.
        """
        t, c, o = Testimony.__table__.c, Contributor.__table__.c, Organisation.__table__.c
        statement = (
            select(t.id, type_coerce(t.kind, String), t.language, type_coerce(t.created_at, String), t.country,
                   c.country, o.code, type_coerce(t.consent_level, String), type_coerce(c.groups, String), t.text_hash,
                   t.contributor_id)
            .select_from(Testimony.__table__)
            .outerjoin(Contributor.__table__, c.id == t.contributor_id)
            .outerjoin(Organisation.__table__, o.id == t.organisation_id)
        )
        in_python = self.engine.dialect.name == "sqlite"
        with self.engine.connect() as connection:
            found = connection.execute(statement if in_python else statement.order_by(t.created_at, t.id)).all()
        if in_python:
            found.sort(key=itemgetter(3, 0))
        if not found:
            return CatalogueColumns([], [], [], [], [], [], [], [], [], [])
        ids, kind, language, created, country, own, organisation, consent, groups, digest, person = map(list, zip(*found))
        return CatalogueColumns(
            ids=ids, kind=kind, language=language, day=[_day(moment) for moment in created],
            country=[mine or theirs for mine, theirs in zip(country, own)], organisation=organisation,
            consent_level=consent, stored_groups=groups, text_hash=digest, contributor_id=person,
        )

    def themes(self, ids: Sequence[str] | None = None) -> dict[str, tuple[int | None, tuple[str, ...]]]:
        """Testimony id -> its theme (None: unthemed) and drivers (primary first), for every assigned testimony
        (or for these ids)."""
        a = Assignment.__table__.c
        statement = select(a.testimony_id, a.theme_id, a.primary_driver, type_coerce(a.intersecting_drivers, String))
        chunks = [None] if ids is None else [list(ids)[i : i + 500] for i in range(0, len(ids), 500)]
        found: dict[str, tuple[int | None, tuple[str, ...]]] = {}
        with self.engine.connect() as connection:
            for chunk in chunks:
                wanted = statement if chunk is None else statement.where(a.testimony_id.in_(chunk))
                for tid, theme_id, primary, intersecting in connection.execute(wanted):
                    found[tid] = (theme_id, tuple(d for d in [primary, *_groups(intersecting)] if d))
        return found


def _day(stored: str | datetime) -> int:
    """YYYYMMDD of a stored time, in UTC: SQLite gives the text it stored (UTC), PostgreSQL a datetime."""
    if isinstance(stored, str):
        return int(stored[0:4]) * 10_000 + int(stored[5:7]) * 100 + int(stored[8:10])
    moment = stored.astimezone(timezone.utc) if stored.utcoffset() is not None else stored
    return moment.year * 10_000 + moment.month * 100 + moment.day


def _groups(stored: str | list | None) -> tuple[str, ...]:
    """A JSON list column as a tuple: SQLite gives its text, PostgreSQL's driver may give the list."""
    if isinstance(stored, str):
        stored = json.loads(stored) if stored != "[]" else ()
    return tuple(stored or ())
