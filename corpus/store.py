"""The corpus store: the one place that reads and writes the corpus tables.

Everything else (analysis, bot, CLI) goes through ``CorpusStore``; no SQL lives
outside ``corpus/``. A contribution is validated and redacted here, then
committed in its own transaction before anyone acknowledges it.

This module holds the writes (organisations, contributors and consent,
contributions); ``CorpusStore`` takes its reads from ``corpus.records``, its
erasure from ``corpus.deletion`` and its embedding cache from
``corpus.embedding_cache``. The names callers use are importable from here
(``__all__``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from corpus.db import check_connection, current_revision, head_revision, make_engine, session_scope
from corpus.deletion import Deletion, JournalWipe
from corpus.embedding_cache import EmbeddingCache
from corpus.errors import DatabaseUnavailable, InvalidText, NotFound
from corpus.language import Detection, LanguageDetector, default_detector
from corpus.models import (
    Consent,
    ConsentLevel,
    Contributor,
    IndexStatus,
    Kind,
    Organisation,
    Testimony,
    utcnow,
)
from corpus.pseudonyms import pseudonym
from corpus.records import RecordQueries, TestimonyFilter, TestimonyRecord, people_count
from corpus.redaction import Redactor
from corpus.settings import Settings
from corpus.textkey import text_hash
from corpus.validation import clean_text, parse_country, parse_kind, parse_language

__all__ = ["CorpusStore", "JournalWipe", "PROFILE_FIELDS", "TestimonyDraft", "TestimonyFilter", "TestimonyRecord",
           "people_count"]

PROFILE_FIELDS = ("language", "age_band", "gender", "country", "region", "groups")


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


class CorpusStore(RecordQueries, Deletion, EmbeddingCache):
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
        check_connection(self.engine)
        current, head = current_revision(self.engine), head_revision(self.engine)
        if current != head:
            raise DatabaseUnavailable(
                f"the database schema is at revision {current or 'none'}, the code needs {head}: run `lnob db upgrade`"
            )

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
        return set(self.source_ref_ids(source, refs))

    def source_ref_ids(self, source: str, refs: Iterable[str]) -> dict[str, str]:
        """Source reference -> id of the testimonies already stored for ``source`` from these ``refs``
        (so that a retried message or a re-imported row is not stored twice)."""
        refs = list(refs)
        found: dict[str, str] = {}
        with self.session() as session:
            for start in range(0, len(refs), 500):
                chunk = refs[start : start + 500]
                found.update(
                    session.exec(
                        select(Testimony.source_ref, Testimony.id).where(
                            Testimony.source == source, Testimony.source_ref.in_(chunk)
                        )
                    ).all()
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

    def optimize(self) -> None:
        """Refresh the query planner's statistics after a large write (SQLite gathers none by itself, and
        without them picks the index on ``kind`` over a date range)."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.begin() as connection:
                connection.exec_driver_sql("PRAGMA analysis_limit=1000")
                connection.exec_driver_sql("ANALYZE")

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


def _stored_confidence(detection: Detection) -> float:
    """The detector's confidence as stored: four decimals are all it can tell apart."""
    return round(detection.confidence, 4)
