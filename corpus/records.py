"""Reading the corpus: testimonies as redacted records, filtered, counted and streamed.

``CorpusStore`` (``corpus.store``) holds these queries (``RecordQueries``), so
callers read through it: ``store.records(where=TestimonyFilter(country="NP"))``.
A record's ``text`` is always the redacted text; the original stays in the table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import func, or_
from sqlmodel import select

from corpus.db import EngineStore
from corpus.errors import NotFound
from corpus.models import ConsentLevel, Contributor, IndexStatus, Kind, Organisation, Testimony


@dataclass(frozen=True)
class TestimonyRecord:
    """A read-only view of a testimony with its provenance and the contributor's profile.

    ``text`` is always the redacted text: this is what staff, search and
    exports see. ``language`` is the detected language (the declared one
    when the text could not tell), ``declared_language`` the one given, and
    ``language_confidence`` the detector's probability (None before detection).
    """

    __test__ = False  # not a pytest test class

    id: str
    kind: str
    text: str
    language: str | None
    created_at: datetime
    country: str | None
    region: str | None
    organisation: str | None
    consent_level: str
    self_drivers: tuple[str, ...]
    contributor_id: int | None
    age_band: str | None
    gender: str | None
    groups: tuple[str, ...]
    source: str
    index_status: str
    text_hash: str
    parent_id: str | None = None
    declared_language: str | None = None
    language_confidence: float | None = None

    @property
    def quotable(self) -> bool:
        """Whether the contributor agreed to be quoted anonymously."""
        return self.consent_level == ConsentLevel.quote


def people_count():
    """SQL: the distinct people behind the selected testimonies, counted as ``analysis.counting.person_of``
    counts them: each contributor once, and each testimony without a contributor as a person of its own."""
    return func.count(func.distinct(Testimony.contributor_id)) + func.count(Testimony.id) - func.count(Testimony.contributor_id)


@dataclass
class TestimonyFilter:
    """Which testimonies to read; every field left ``None`` means no restriction."""

    __test__ = False  # not a pytest test class

    country: str | None = None
    organisation: str | None = None
    kind: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    consent_level: str | None = None
    index_status: str | None = None


class RecordQueries(EngineStore):
    """The read side of ``CorpusStore``: testimonies as records, ids, counts and statistics."""

    def resolve_id(self, ref: str) -> str:
        """The full testimony id for an id or a unique prefix of at least 8 characters (short ids in chat)."""
        ref = (ref or "").strip().lower()
        if len(ref) < 8 or not all(c in "0123456789abcdef-" for c in ref):
            raise NotFound(f"{ref!r} is not a testimony id: give at least its first 8 characters")
        with self.session() as session:
            found = list(session.exec(select(Testimony.id).where(Testimony.id.startswith(ref)).limit(2)))
        if not found:
            raise NotFound(f"no testimony {ref}")
        if len(found) > 1:
            raise NotFound(f"{ref} matches several testimonies: give more characters")
        return found[0]

    def get_testimony(self, testimony_id: str) -> Testimony:
        """The stored testimony (original text included: for admins and re-redaction only)."""
        with self.session() as session:
            testimony = session.get(Testimony, testimony_id)
            if testimony is None:
                raise NotFound(f"no testimony {testimony_id}")
            return testimony

    def records(self, ids: Sequence[str] | None = None, where: TestimonyFilter | None = None) -> list[TestimonyRecord]:
        """Redacted read views of the given ids (in that order) or of all matching ``where``."""
        if ids is not None:
            ids = list(ids)
            found: dict[str, TestimonyRecord] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for record in self._query_records(extra=[Testimony.id.in_(chunk)]):
                    found[record.id] = record
            return [found[i] for i in ids if i in found]
        return list(self._query_records(where=where))

    def iter_records(self, where: TestimonyFilter | None = None, batch: int = 2000) -> Iterator[TestimonyRecord]:
        """All records matching ``where``, oldest first, streamed in batches."""
        yield from self._query_records(where=where, batch=batch)

    def _query_records(self, where: TestimonyFilter | None = None, extra: list | None = None, batch: int = 2000):
        statement = (
            select(Testimony, Contributor, Organisation.code)
            .join(Contributor, Contributor.id == Testimony.contributor_id, isouter=True)
            .join(Organisation, Organisation.id == Testimony.organisation_id, isouter=True)
            .order_by(Testimony.created_at, Testimony.id)
        )
        for condition in self._conditions(where) + (extra or []):
            statement = statement.where(condition)
        with self.session() as session:
            for testimony, contributor, org_code in session.exec(statement.execution_options(yield_per=batch)):
                yield _record(testimony, contributor, org_code)

    @staticmethod
    def _conditions(where: TestimonyFilter | None) -> list:
        if where is None:
            return []
        conditions = []
        if where.country:
            conditions.append(Testimony.country == where.country.upper())
        if where.organisation:
            conditions.append(Organisation.code == where.organisation.lower())
        if where.kind:
            conditions.append(Testimony.kind == Kind(where.kind))
        if where.language:
            conditions.append(Testimony.language == where.language.lower())
        if where.since:
            conditions.append(Testimony.created_at >= where.since)
        if where.until:
            conditions.append(Testimony.created_at < where.until)
        if where.consent_level:
            conditions.append(Testimony.consent_level == ConsentLevel(where.consent_level))
        if where.index_status:
            conditions.append(Testimony.index_status == IndexStatus(where.index_status))
        return conditions

    def contributor_records(self, contributor_id: int) -> list[TestimonyRecord]:
        """Everything one contributor shared, oldest first (for /mydata)."""
        return list(self._query_records(extra=[Testimony.contributor_id == contributor_id]))

    def contributions_since(self, contributor_id: int, since: datetime) -> int:
        """How many contributions (testimonies and stand-alone proposals) a contributor stored since ``since``
        (the bot's daily limit). A proposal linked to a testimony is part of that contribution, not counted again.
        """
        statement = (
            select(func.count(Testimony.id))
            .where(Testimony.contributor_id == contributor_id)
            .where(Testimony.created_at >= since)
            .where(Testimony.parent_id.is_(None))
        )
        with self.session() as session:
            return int(session.exec(statement).one())

    def count_testimonies(self, where: TestimonyFilter | None = None) -> int:
        """How many testimonies match ``where``."""
        statement = select(func.count(Testimony.id)).select_from(Testimony)
        statement = statement.join(Organisation, Organisation.id == Testimony.organisation_id, isouter=True)
        for condition in self._conditions(where):
            statement = statement.where(condition)
        with self.session() as session:
            return int(session.exec(statement).one())

    def matching_ids(self, where: TestimonyFilter) -> list[str]:
        """Ids of the testimonies matching ``where``, the country read as records show it (the testimony's,
        else the contributor's); the vector index's exact path for rare filters uses it."""
        statement = (
            select(Testimony.id)
            .join(Contributor, Contributor.id == Testimony.contributor_id, isouter=True)
            .join(Organisation, Organisation.id == Testimony.organisation_id, isouter=True)
        )
        for condition in self._conditions(replace(where, country=None)):
            statement = statement.where(condition)
        if where.country:
            statement = statement.where(func.coalesce(Testimony.country, Contributor.country) == where.country.upper())
        with self.session() as session:
            return list(session.exec(statement))

    def existing_ids(self, ids: Sequence[str]) -> list[str]:
        """Which of ``ids`` are still stored."""
        ids = list(ids)
        found: list[str] = []
        with self.session() as session:
            for start in range(0, len(ids), 500):
                found += session.exec(select(Testimony.id).where(Testimony.id.in_(ids[start : start + 500])))
        return found

    def all_ids(self) -> set[str]:
        """Every stored testimony id (to compare with the vector index)."""
        with self.session() as session:
            return set(session.exec(select(Testimony.id)))

    def pending(self, limit: int | None = None) -> list[TestimonyRecord]:
        """Testimonies not yet (or not successfully) indexed, oldest first."""
        statement_filter = [or_(Testimony.index_status == IndexStatus.pending, Testimony.index_status == IndexStatus.failed)]
        records = self._query_records(extra=statement_filter)
        out = []
        for record in records:
            out.append(record)
            if limit is not None and len(out) >= limit:
                break
        return out

    def status_counts(self) -> dict[str, int]:
        """Testimonies per index status."""
        with self.session() as session:
            rows = session.exec(select(Testimony.index_status, func.count(Testimony.id)).group_by(Testimony.index_status))
            counts = {status.value: 0 for status in IndexStatus}
            counts.update({IndexStatus(s).value: int(n) for s, n in rows})
            return counts

    def stats(self) -> dict:
        """Counts for ``lnob stats``: testimonies, proposals, contributors, by country, language, organisation.

        ``people`` holds, for each ``by_...`` breakdown but the index status, the
        distinct people behind each value (for the small-cell rule). These are
        raw counts: show them through ``analysis.gaps.stats_shown``.
        """
        with self.session() as session:
            people: dict[str, dict[str, int]] = {}

            def grouped(name, column, *joins) -> dict[str, int]:
                statement = select(column, func.count(Testimony.id), people_count()).select_from(Testimony)
                for target, on in joins:
                    statement = statement.join(target, on, isouter=True)
                rows = [(str(k) if k is not None else "unknown", int(n), int(p))
                        for k, n, p in session.exec(statement.group_by(column))]
                people[name] = {k: p for k, _, p in rows}
                return {k: n for k, n, _ in rows}

            total = int(session.exec(select(func.count(Testimony.id))).one())
            stats = {
                "testimonies": total,
                "by_kind": grouped("by_kind", Testimony.kind),
                "contributors": int(session.exec(select(people_count())).one() or 0),
                "organisations": int(session.exec(select(func.count(Organisation.id))).one()),
                "by_country": grouped("by_country", Testimony.country),
                "by_language": grouped("by_language", Testimony.language),
                "by_organisation": grouped("by_organisation", Organisation.code,
                                           (Organisation, Organisation.id == Testimony.organisation_id)),
                "by_consent": grouped("by_consent", Testimony.consent_level),
                "by_index_status": self.status_counts(),
            }
            stats["by_kind"] = {str(Kind(k).value): n for k, n in stats["by_kind"].items()}
            people["by_kind"] = {str(Kind(k).value): n for k, n in people["by_kind"].items()}
            return stats | {"people": people}


def _record(testimony: Testimony, contributor: Contributor | None, org_code: str | None) -> TestimonyRecord:
    created = testimony.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return TestimonyRecord(
        id=testimony.id,
        kind=Kind(testimony.kind).value,
        text=testimony.redacted_text,
        language=testimony.language,
        created_at=created,
        country=testimony.country or (contributor.country if contributor else None),
        region=testimony.region or (contributor.region if contributor else None),
        organisation=org_code,
        consent_level=ConsentLevel(testimony.consent_level).value,
        self_drivers=tuple(testimony.self_drivers or ()),
        contributor_id=testimony.contributor_id,
        age_band=contributor.age_band if contributor else None,
        gender=contributor.gender if contributor else None,
        groups=tuple(contributor.groups or ()) if contributor else (),
        source=testimony.source,
        index_status=IndexStatus(testimony.index_status).value,
        text_hash=testimony.text_hash,
        parent_id=testimony.parent_id,
        declared_language=testimony.declared_language,
        language_confidence=testimony.language_confidence,
    )
