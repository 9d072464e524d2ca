"""The corpus store: the one place that reads and writes the corpus tables.

Everything else (analysis, bot, CLI) goes through ``CorpusStore``; no SQL lives
outside ``corpus/``. A contribution is validated and redacted here, then
committed in its own transaction before anyone acknowledges it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import delete, func, insert, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from corpus.db import check_connection, make_engine, session_scope
from corpus.errors import DatabaseUnavailable, InvalidText, NotFound
from corpus.language import Detection, LanguageDetector, default_detector
from corpus.models import (
    Consent,
    ConsentLevel,
    Contributor,
    Embedding,
    IndexStatus,
    Kind,
    Organisation,
    Testimony,
    utcnow,
)
from corpus.pseudonyms import pseudonym
from corpus.redaction import Redactor
from corpus.settings import Settings
from corpus.textkey import text_hash
from corpus.validation import clean_text, parse_country, parse_kind, parse_language

PROFILE_FIELDS = ("language", "age_band", "gender", "country", "region", "groups")
WIPE_FIRST_WAIT_S = 0.05  # the first pause between checkpoint attempts; it doubles up to WIPE_LONGEST_WAIT_S
WIPE_LONGEST_WAIT_S = 2.0

log = logging.getLogger(__name__)


@dataclass
class TestimonyDraft:
    """A contribution as received, before validation, redaction and storage."""

    __test__ = False  # not a pytest test class

    text: str
    kind: Kind | str = Kind.testimony
    language: str | None = None
    country: str | None = None
    region: str | None = None
    organisation: str | None = None
    contributor_id: int | None = None
    consent_level: ConsentLevel | str = ConsentLevel.aggregate
    source: str = "telegram"
    source_ref: str | None = None
    created_at: datetime | None = None
    self_drivers: list[str] = field(default_factory=list)
    why_text: str | None = None
    parent_id: str | None = None
    contributor_ref: str | None = None
    contributor_namespace: str = "import"
    profile: dict = field(default_factory=dict)
    id: str | None = None  # chosen by the caller (to link a proposal in the same batch); else a new UUID


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


@dataclass(frozen=True)
class JournalWipe:
    """Whether the bytes of erased rows are gone from the database files (SQLite's file and write-ahead log).

    ``complete`` is False only when readers kept the log busy for the whole of
    ``settings.erase_wait_seconds``; ``attempts`` above 1 means the wipe had
    to wait for them. Other databases (PostgreSQL) are not files of ours:
    ``complete`` is True with 0 attempts.
    """

    complete: bool
    attempts: int = 0
    seconds: float = 0.0

    @property
    def retried(self) -> bool:
        return self.attempts > 1


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


class CorpusStore:
    """Reads and writes organisations, contributors, consent, testimonies and cached embeddings."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        redactor: Redactor | None = None,
        detector: LanguageDetector | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.resolved_database_url)
        self.redactor = redactor or Redactor(use_ner=settings.use_ner)
        self._detector = detector

    @property
    def detector(self) -> LanguageDetector:
        """The language detector: the one given, else the process-wide one, whose model (about 100 MB) loads
        only when a text is first stored or redetected, not for every command that opens the store."""
        return self._detector or default_detector()

    # -- connection -----------------------------------------------------------------

    def check(self) -> None:
        """Raise ``DatabaseUnavailable`` unless the database is reachable and migrated."""
        from corpus.db import current_revision, head_revision

        check_connection(self.engine)
        current, head = current_revision(self.engine), head_revision(self.engine)
        if current != head:
            raise DatabaseUnavailable(
                f"the database schema is at revision {current or 'none'}, the code needs {head}: run `lnob db upgrade`"
            )

    def session(self) -> Session:
        """A plain session for read-only work."""
        return Session(self.engine, expire_on_commit=False)

    # -- organisations --------------------------------------------------------------

    def add_organisation(self, code: str, name: str | None = None) -> Organisation:
        """Create the organisation ``code`` (lower-cased), or return it when it exists."""
        code = code.strip().lower()
        if not code or not all(c.isalnum() or c in "-_" for c in code) or len(code) > 64:
            raise InvalidText(f"organisation code {code!r} must be letters, digits, '-' or '_' (at most 64)")
        with session_scope(self.engine) as session:
            existing = session.exec(select(Organisation).where(Organisation.code == code)).first()
            if existing:
                return existing
            organisation = Organisation(code=code, name=name or code)
            session.add(organisation)
            session.flush()
            session.refresh(organisation)
            return organisation

    def organisation(self, code: str) -> Organisation | None:
        """The organisation with this code, or None."""
        with self.session() as session:
            return session.exec(select(Organisation).where(Organisation.code == code.strip().lower())).first()

    def organisations(self) -> list[Organisation]:
        """All organisations, by code."""
        with self.session() as session:
            return list(session.exec(select(Organisation).order_by(Organisation.code)))

    # -- contributors and consent ---------------------------------------------------

    def pseudonym_for(self, external_id: str | int, namespace: str = "telegram") -> str:
        """The pseudonym of an external id under this deployment's key."""
        return pseudonym(external_id, self.settings.resolved_pseudonym_key, namespace)

    def find_contributor(self, external_id: str | int, namespace: str = "telegram") -> Contributor | None:
        """The contributor known by ``external_id``, or None (nothing is created)."""
        alias = self.pseudonym_for(external_id, namespace)
        with self.session() as session:
            return session.exec(select(Contributor).where(Contributor.pseudonym == alias)).first()

    def get_or_create_contributor(
        self,
        external_id: str | int,
        namespace: str = "telegram",
        *,
        organisation: str | None = None,
        **profile,
    ) -> Contributor:
        """The contributor for ``external_id``, created with ``profile`` when new."""
        with session_scope(self.engine) as session:
            organisation_id = self._organisation_id(session, organisation) if organisation else None
            return self._contributor_in(session, external_id, namespace, organisation_id, profile)

    def enrol(
        self,
        external_id: str | int,
        level: ConsentLevel | str,
        text_version: str,
        namespace: str = "telegram",
        *,
        organisation_id: int | None = None,
        **profile,
    ) -> tuple[Contributor, Consent]:
        """The contributor for ``external_id`` (created when new) with consent at ``level``, in one transaction."""
        with session_scope(self.engine) as session:
            contributor = self._contributor_in(session, external_id, namespace, organisation_id, profile)
            return contributor, self._consent_in(session, contributor.id, level, text_version)

    def _contributor_in(
        self, session: Session, external_id: str | int, namespace: str, organisation_id: int | None, profile: dict
    ) -> Contributor:
        alias = self.pseudonym_for(external_id, namespace)
        contributor = session.exec(select(Contributor).where(Contributor.pseudonym == alias)).first()
        if contributor:
            return contributor
        contributor = Contributor(pseudonym=alias, **self._clean_profile(profile))
        contributor.organisation_id = organisation_id
        session.add(contributor)
        session.flush()
        session.refresh(contributor)
        return contributor

    def get_contributor(self, contributor_id: int) -> Contributor:
        """The contributor with this id, or ``NotFound``."""
        with self.session() as session:
            contributor = session.get(Contributor, contributor_id)
            if contributor is None:
                raise NotFound(f"no contributor {contributor_id}")
            return contributor

    def update_profile(self, contributor_id: int, **profile) -> Contributor:
        """Set profile fields (language, age band, gender, country, region, groups); None clears one."""
        unknown = set(profile) - set(PROFILE_FIELDS) - {"organisation"}
        if unknown:
            raise ValueError(f"unknown profile fields: {', '.join(sorted(unknown))}")
        with session_scope(self.engine) as session:
            contributor = session.get(Contributor, contributor_id)
            if contributor is None:
                raise NotFound(f"no contributor {contributor_id}")
            organisation = profile.pop("organisation", None)
            for key, value in self._clean_profile(profile, keep_none=True).items():
                setattr(contributor, key, value)
            if organisation:
                contributor.organisation_id = self._organisation_id(session, organisation)
            session.add(contributor)
            session.flush()
            session.refresh(contributor)
            return contributor

    @staticmethod
    def _clean_profile(profile: dict, keep_none: bool = False) -> dict:
        cleaned = {}
        for key, value in profile.items():
            if key == "country":
                value = parse_country(value)
            elif key == "language":
                value = parse_language(value)
            elif key == "groups":
                value = sorted({str(g).strip() for g in (value or []) if str(g).strip()})
            elif isinstance(value, str):
                value = value.strip() or None
            if value is not None or keep_none:
                cleaned[key] = value if value is not None or key != "groups" else []
        return cleaned

    def give_consent(self, contributor_id: int, level: ConsentLevel | str, text_version: str) -> Consent:
        """Record consent at ``level`` to notice ``text_version``; an earlier consent is withdrawn."""
        with session_scope(self.engine) as session:
            return self._consent_in(session, contributor_id, level, text_version)

    @staticmethod
    def _consent_in(session: Session, contributor_id: int, level: ConsentLevel | str, text_version: str) -> Consent:
        level = ConsentLevel(level)
        now = utcnow()
        session.exec(
            update(Consent)
            .where(Consent.contributor_id == contributor_id, Consent.withdrawn_at.is_(None))
            .values(withdrawn_at=now)
        )
        consent = Consent(contributor_id=contributor_id, level=level, text_version=text_version, given_at=now)
        session.add(consent)
        session.exec(update(Testimony).where(Testimony.contributor_id == contributor_id).values(consent_level=level))
        session.flush()
        session.refresh(consent)
        return consent

    def current_consent(self, contributor_id: int) -> Consent | None:
        """The consent in force for this contributor, or None."""
        with self.session() as session:
            return session.exec(
                select(Consent)
                .where(Consent.contributor_id == contributor_id, Consent.withdrawn_at.is_(None))
                .order_by(Consent.given_at.desc())
            ).first()

    # -- testimonies ----------------------------------------------------------------

    def prepare(self, draft: TestimonyDraft, max_chars: int | None = None) -> Testimony:
        """Validate, detect the language of and redact ``draft`` into an unsaved ``Testimony`` (``InvalidText``
        when bad). The draft's language is only a hint: redaction and the stored ``language`` use the
        detected one (see ``corpus.language``), the hint is kept as ``declared_language``."""
        text = clean_text(draft.text, max_chars or self.settings.max_text_chars)
        declared = parse_language(draft.language)
        detection = self.detector.detect(text, hint=declared)
        redacted = self.redactor.redact(text, detection.code).text
        why = clean_text(draft.why_text, max_chars or self.settings.max_text_chars) if draft.why_text else None
        return Testimony(
            id=draft.id or str(uuid.uuid4()),
            contributor_id=draft.contributor_id,
            kind=parse_kind(draft.kind),
            text=text,
            redacted_text=redacted,
            language=detection.code,
            declared_language=declared,
            language_confidence=_stored_confidence(detection),
            created_at=draft.created_at or utcnow(),
            source=draft.source,
            source_ref=draft.source_ref,
            country=parse_country(draft.country),
            region=(draft.region or "").strip() or None,
            consent_level=ConsentLevel(draft.consent_level),
            self_drivers=sorted(set(draft.self_drivers)),
            why_text=why,
            parent_id=draft.parent_id,
            text_hash=text_hash(redacted),
            index_status=IndexStatus.pending,
        )

    def add_testimony(self, draft: TestimonyDraft, max_chars: int | None = None) -> Testimony:
        """Validate, redact and durably commit one contribution; returns it (index status pending)."""
        return self.add_testimonies([draft], max_chars=max_chars)[0]

    def add_testimonies(self, drafts: Sequence[TestimonyDraft], max_chars: int | None = None) -> list[Testimony]:
        """Commit several contributions in one transaction: all of them or, on any error, none."""
        prepared = [self.prepare(d, max_chars) for d in drafts]
        profiles = [self._clean_profile(d.profile) for d in drafts]
        with session_scope(self.engine) as session:
            # Every lookup happens before the first add: a query after an add would flush (and insert)
            # the batch one row at a time.
            named = self._contributors_in(session, drafts, profiles)
            for draft, testimony in zip(drafts, prepared):
                if testimony.contributor_id is None and draft.contributor_ref:
                    testimony.contributor_id = named[self.pseudonym_for(draft.contributor_ref, draft.contributor_namespace)]
            org_ids = {code: self._organisation_id(session, code) for code in {d.organisation for d in drafts if d.organisation}}
            contributor_orgs = self._contributor_organisations(
                session, {t.contributor_id for d, t in zip(drafts, prepared) if not d.organisation and t.contributor_id}
            )
            for draft, testimony in zip(drafts, prepared):
                if draft.organisation:
                    testimony.organisation_id = org_ids[draft.organisation]
                elif testimony.contributor_id is not None:
                    testimony.organisation_id = contributor_orgs.get(testimony.contributor_id)
            session.add_all(prepared)
        return prepared

    def redetect_languages(self, batch: int = 500) -> int:
        """Detect the language of every testimony stored without a confidence (before detection existed),
        its declared language as the hint; returns how many were filled.

        A testimony whose language changes goes back to pending, since the vector index keeps the
        language for its filters. The redacted text is left as it is: redacting again under another
        language could reveal a name the first redaction hid.
        """
        filled = 0
        while True:
            with session_scope(self.engine) as session:
                rows = session.exec(
                    select(Testimony.id, Testimony.text, Testimony.language, Testimony.declared_language)
                    .where(Testimony.language_confidence.is_(None))
                    .order_by(Testimony.id)
                    .limit(batch)
                ).all()
                if not rows:
                    return filled
                kept, changed = [], []
                for testimony_id, text, language, declared in rows:
                    detection = self.detector.detect(text, hint=declared)
                    confidence = _stored_confidence(detection)
                    values = {"id": testimony_id, "language": detection.code, "language_confidence": confidence}
                    if detection.code == language:
                        kept.append(values)
                    else:
                        changed.append({**values, "index_status": IndexStatus.pending, "indexed_at": None})
                for values in (kept, changed):
                    if values:
                        session.exec(update(Testimony), params=values)
                filled += len(rows)

    @staticmethod
    def _contributor_organisations(session: Session, contributor_ids: set[int]) -> dict[int, int | None]:
        """Contributor id -> organisation id, in one query per 500."""
        ids, found = list(contributor_ids), {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found.update(session.exec(select(Contributor.id, Contributor.organisation_id).where(Contributor.id.in_(chunk))).all())
        return found

    def _contributors_in(
        self, session: Session, drafts: Sequence[TestimonyDraft], profiles: Sequence[dict]
    ) -> dict[str, int]:
        """Pseudonym -> contributor id for every ``contributor_ref`` of ``drafts``, the new ones created in
        ``session`` with the profile of their first draft (one query and one flush per batch, not per row)."""
        wanted: dict[str, tuple[TestimonyDraft, dict]] = {}
        for draft, profile in zip(drafts, profiles):
            if draft.contributor_id is None and draft.contributor_ref:
                wanted.setdefault(self.pseudonym_for(draft.contributor_ref, draft.contributor_namespace), (draft, profile))
        if not wanted:
            return {}
        aliases = list(wanted)
        found: dict[str, int] = {}
        for start in range(0, len(aliases), 500):
            chunk = aliases[start : start + 500]
            found.update(session.exec(select(Contributor.pseudonym, Contributor.id).where(Contributor.pseudonym.in_(chunk))).all())
        created = []
        for alias in aliases:
            if alias not in found:
                draft, profile = wanted[alias]
                contributor = Contributor(pseudonym=alias, **{"groups": [], **profile})  # explicit: pydantic's
                # default_factory=list costs a signature inspection per row
                if draft.organisation:
                    contributor.organisation_id = self._organisation_id(session, draft.organisation)
                created.append(contributor)
        if created:
            session.add_all(created)
            session.flush()
            found.update((c.pseudonym, c.id) for c in created)
        return found

    def existing_source_refs(self, source: str, refs: Iterable[str]) -> set[str]:
        """Which of ``refs`` are already stored for ``source`` (import idempotency)."""
        refs = list(refs)
        found: set[str] = set()
        with self.session() as session:
            for start in range(0, len(refs), 500):
                chunk = refs[start : start + 500]
                found.update(
                    session.exec(
                        select(Testimony.source_ref).where(Testimony.source == source, Testimony.source_ref.in_(chunk))
                    )
                )
        return found

    def has_source(self, source: str) -> bool:
        """Whether any testimony is stored under ``source`` (e.g. an import collection)."""
        with self.session() as session:
            return session.exec(select(Testimony.id).where(Testimony.source == source).limit(1)).first() is not None

    def source_texts(self, source: str, refs: Iterable[str]) -> dict[str, str]:
        """Source reference -> original text of the ``refs`` stored under ``source`` (to tell a newer
        export of an import collection from another file of the same name)."""
        refs, found = list(refs), {}
        with self.session() as session:
            for start in range(0, len(refs), 500):
                chunk = refs[start : start + 500]
                found.update(
                    session.exec(
                        select(Testimony.source_ref, Testimony.text).where(
                            Testimony.source == source, Testimony.source_ref.in_(chunk)
                        )
                    ).all()
                )
        return found

    def _organisation_id(self, session: Session, code: str) -> int:
        code = code.strip().lower()
        organisation = session.exec(select(Organisation).where(Organisation.code == code)).first()
        if organisation is None:
            raise NotFound(f"no organisation with code {code!r}: create it with `lnob org add NAME --code {code}`")
        return organisation.id

    def sources_of(self, organisation: str, prefix: str = "") -> list[str]:
        """The sources starting with ``prefix`` that hold testimonies of ``organisation`` or of its contributors
        (the import collections an erasure request names a contributor in); ``NotFound`` for no such organisation."""
        found = self.organisation(organisation)
        if found is None:
            code = organisation.strip().lower()
            raise NotFound(f"no organisation with code {code!r}: list them with `lnob org list`")
        statement = (
            select(Testimony.source)
            .distinct()
            .join(Contributor, Contributor.id == Testimony.contributor_id, isouter=True)
            .where(Testimony.source.startswith(prefix))
            .where(or_(Testimony.organisation_id == found.id, Contributor.organisation_id == found.id))
            .order_by(Testimony.source)
        )
        with self.session() as session:
            return list(session.exec(statement))

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

    def optimize(self) -> None:
        """Refresh the query planner's statistics after a large write (SQLite gathers none by itself, and
        without them picks the index on ``kind`` over a date range)."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.begin() as connection:
                connection.exec_driver_sql("PRAGMA analysis_limit=1000")
                connection.exec_driver_sql("ANALYZE")

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

    def mark_index_status(self, ids: Sequence[str], status: IndexStatus) -> None:
        """Set the index status of ``ids`` (indexed also stamps the time)."""
        values = {"index_status": status, "indexed_at": utcnow() if status == IndexStatus.indexed else None}
        with session_scope(self.engine) as session:
            for start in range(0, len(ids), 500):
                session.exec(update(Testimony).where(Testimony.id.in_(list(ids[start : start + 500]))).values(**values))

    def mark_all_pending(self) -> int:
        """Mark every testimony pending (before a full rebuild of the index); returns how many."""
        with session_scope(self.engine) as session:
            result = session.exec(update(Testimony).values(index_status=IndexStatus.pending, indexed_at=None))
            return result.rowcount or 0

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

    # -- erasure --------------------------------------------------------------------

    def with_linked(self, ids: Sequence[str]) -> list[str]:
        """These ids plus the proposals linked to them (erased together)."""
        ids = list(ids)
        if not ids:
            return []
        with self.session() as session:
            linked = list(session.exec(select(Testimony.id).where(Testimony.parent_id.in_(ids))))
        return list(dict.fromkeys(ids + linked))

    def erase_testimonies(self, ids: Sequence[str], *, wipe: bool = True) -> list[str]:
        """Delete these testimonies (and linked proposals) and their cached embeddings; returns ids removed.

        With ``wipe`` (the default) the old bytes are then wiped from the SQLite
        files (:meth:`wipe_journal`); a caller with more to erase passes False
        and wipes once at the end.
        """
        all_ids = self.with_linked(ids)
        if not all_ids:
            return []
        with session_scope(self.engine) as session:
            self._overwrite_deleted(session)
            hashes = set(session.exec(select(Testimony.text_hash).where(Testimony.id.in_(all_ids))))
            session.exec(update(Testimony).where(Testimony.parent_id.in_(all_ids)).values(parent_id=None))
            found = list(session.exec(select(Testimony.id).where(Testimony.id.in_(all_ids))))
            session.exec(delete(Testimony).where(Testimony.id.in_(all_ids)))
            still_used = set(session.exec(select(Testimony.text_hash).where(Testimony.text_hash.in_(hashes))))
            orphaned = hashes - still_used
            if orphaned:
                session.exec(delete(Embedding).where(Embedding.text_hash.in_(orphaned)))
        if wipe:
            self.wipe_journal()
        return found

    def erase_contributor(self, contributor_id: int, *, wipe: bool = True) -> list[str]:
        """Delete a contributor, their consents and everything they shared; returns testimony ids removed."""
        with self.session() as session:
            ids = list(session.exec(select(Testimony.id).where(Testimony.contributor_id == contributor_id)))
        removed = self.erase_testimonies(ids, wipe=False)
        with session_scope(self.engine) as session:
            self._overwrite_deleted(session)
            session.exec(delete(Consent).where(Consent.contributor_id == contributor_id))
            session.exec(delete(Contributor).where(Contributor.id == contributor_id))
        if wipe:
            self.wipe_journal()
        return removed

    def _overwrite_deleted(self, session: Session) -> None:
        """On SQLite, zero the bytes of deleted rows instead of leaving them in free pages of the file."""
        if self.engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("PRAGMA secure_delete=ON")

    def wipe_journal(self, patience: float | None = None) -> JournalWipe:
        """On SQLite, move every page of the write-ahead log into the file and empty the log; returns how it went.

        Deleted rows are zeroed (``secure_delete``) in new versions of their
        pages, written to the log; the old versions stay in the file, and
        older ones in the log, until a checkpoint copies the new ones over them.
        A checkpoint cannot do that while another connection (the bot, a CLI
        command) reads an older snapshot, and then reports itself busy. So it is
        tried again, with pauses doubling from ``WIPE_FIRST_WAIT_S``, until it
        completes or ``patience`` seconds (``settings.erase_wait_seconds``)
        have passed; an incomplete wipe is logged and reported, never silent.
        """
        if self.engine.dialect.name != "sqlite":
            return JournalWipe(complete=True)
        patience = self.settings.erase_wait_seconds if patience is None else patience
        started = time.monotonic()
        deadline, pause, attempts = started + patience, WIPE_FIRST_WAIT_S, 0
        with self.engine.connect() as connection:
            # each attempt gives up at once when busy; the pauses between attempts are ours, so they can grow
            kept_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            connection.exec_driver_sql("PRAGMA busy_timeout=0")
            try:
                while True:
                    attempts += 1
                    if self._checkpoint(connection):
                        return JournalWipe(True, attempts, round(time.monotonic() - started, 3))
                    if time.monotonic() + pause > deadline:
                        break
                    if attempts == 1:
                        log.info("erased rows wait for other readers of the database to finish")
                    time.sleep(pause)
                    pause = min(2 * pause, WIPE_LONGEST_WAIT_S)
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={int(kept_timeout or 0)}")
        log.warning("the database was read by others for %.0f s: erased rows may remain in its files until the "
                    "next erasure or `lnob reindex`", patience)
        return JournalWipe(False, attempts, round(time.monotonic() - started, 3))

    @staticmethod
    def _checkpoint(connection) -> bool:
        """One TRUNCATE checkpoint; whether it completed (no reader or writer kept it from the whole log)."""
        try:
            busy, _log_pages, _moved = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        except OperationalError:  # "database is locked": a writer holds it
            return False
        connection.commit()
        return busy == 0

    # -- embedding cache ------------------------------------------------------------

    def cached_embeddings(self, hashes: set[str], model: str) -> dict[str, np.ndarray]:
        """Cached vectors for the given text hashes under ``model``."""
        found: dict[str, np.ndarray] = {}
        hashes_list = list(hashes)
        with self.session() as session:
            for start in range(0, len(hashes_list), 500):
                chunk = hashes_list[start : start + 500]
                rows = session.exec(select(Embedding).where(Embedding.model == model, Embedding.text_hash.in_(chunk)))
                for row in rows:
                    found[row.text_hash] = np.frombuffer(row.vector, dtype=np.float32)
        return found

    def save_embeddings(self, vectors: dict[str, np.ndarray], model: str) -> None:
        """Cache vectors by text hash (existing entries are kept)."""
        if not vectors:
            return
        digests, now = list(vectors), utcnow()
        with session_scope(self.engine) as session:
            existing: set[str] = set()
            for start in range(0, len(digests), 500):  # keys only: the vectors themselves are not needed here
                chunk = digests[start : start + 500]
                existing.update(session.exec(select(Embedding.text_hash).where(Embedding.model == model, Embedding.text_hash.in_(chunk))))
            rows = [
                {"text_hash": d, "model": model, "dim": int(v.shape[0]), "vector": v.tobytes(), "created_at": now}
                for d, v in ((d, np.asarray(vectors[d], dtype=np.float32)) for d in digests if d not in existing)
            ]
            if rows:  # one executemany, without building an ORM object per vector
                session.exec(insert(Embedding), params=rows)


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


def _stored_confidence(detection: Detection) -> float:
    """The detector's confidence as stored: four decimals are all it can tell apart."""
    return round(detection.confidence, 4)
