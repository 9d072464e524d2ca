"""The evidence base: the corpus store, the embedder and the vector index working together.

``EvidenceBase`` is what the CLI and the bot use. Its one rule: a contribution
is committed to the database first; embedding and indexing come after and may
fail without losing it (it stays ``pending`` and the next ``index_pending``,
``lnob reindex``, ``lnob analyse`` or bot start picks it up).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property

import numpy as np

from corpus.files import open_to_others
from corpus.models import IndexStatus, Testimony
from corpus.redaction import ner_languages
from corpus.settings import Settings
from corpus.store import CorpusStore, JournalWipe, TestimonyDraft, TestimonyFilter, TestimonyRecord
from corpus.stores import CorpusStores
from corpus.themes import ThemeStore

from analysis.calibration import ModelCalibration
from analysis.embeddings import Embedder
from analysis.index import VectorIndex

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclass
class IndexReport:
    """What one pass over the backlog did."""

    indexed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class ErasureReport:
    """What one erasure removed: ids and counts, never a text (for the person, ``lnob erase`` and the audit).

    ``journal`` says whether the erased rows' bytes are confirmed gone from the
    SQLite files (``complete``), and whether that had to wait for readers.
    """

    testimonies: list[str] = field(default_factory=list)  # testimony and linked proposal ids
    contributor: bool = False  # the contributor, their consents and profile
    vectors: int = 0  # vectors deleted from the index
    export_files: list[str] = field(default_factory=list)  # files deleted under the exports dir (rebuilt without them)
    themes_relabelled: list[int] = field(default_factory=list)  # themes whose label or keywords were recomputed
    bot_state_rows: int = 0  # the person's conversation state and draft kept for the bot
    journal: JournalWipe = field(default_factory=lambda: JournalWipe(True))

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "testimonies": list(self.testimonies),
            "contributor": self.contributor,
            "vectors": self.vectors,
            "export_files": list(self.export_files),
            "themes_relabelled": list(self.themes_relabelled),
            "bot_state_rows": self.bot_state_rows,
            "database_wiped": self.journal.complete,
            "wipe_attempts": self.journal.attempts,
            "wipe_seconds": self.journal.seconds,
        }


def nearest_centroid(vectors: np.ndarray, centroids: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """For each vector, the index of the most similar centroid (-1 below ``threshold``) and that cosine."""
    similarities = np.asarray(vectors, dtype=np.float32) @ np.asarray(centroids, dtype=np.float32).T
    best = similarities.argmax(axis=1)
    best_similarity = similarities[np.arange(len(best)), best]
    return np.where(best_similarity >= threshold, best, -1), best_similarity


def _day(key: int) -> datetime:
    """Midnight UTC of a ``date`` index key (YYYYMMDD)."""
    return datetime.strptime(str(key), "%Y%m%d").replace(tzinfo=timezone.utc)


class EvidenceBase:
    """Stores, embeds, indexes and erases contributions; the index is always derived from the database."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: CorpusStore | None = None,
        embedder: Embedder | None = None,
        index: VectorIndex | None = None,
    ) -> None:
        self.settings = settings
        self.stores = CorpusStores(settings, corpus=store)
        self.store = self.stores.corpus
        self._embedder = embedder
        self._index = index
        # held while vectors are written and while anything is erased, so an erasure
        # that runs during a batch's embedding cannot be undone by that batch
        self._write_lock = threading.RLock()

    @cached_property
    def embedder(self) -> Embedder:
        """The embedder (model loaded on first encode)."""
        return self._embedder or Embedder(
            self.settings.embedding_model,
            batch_size=self.settings.embedding_batch_size,
            device=self.settings.embedding_device,
            store=self.store,
        )

    @cached_property
    def calibration(self) -> ModelCalibration:
        """The similarity thresholds calibrated for the configured model (``analysis/models.yaml``)."""
        return ModelCalibration.for_model(self.settings.embedding_model, self.settings.model_calibration_path)

    @property
    def provisional_threshold(self) -> float:
        """Cosine to a theme centre for a provisional theme: the setting, else the model's calibrated value."""
        if self.settings.provisional_threshold is not None:
            return self.settings.provisional_threshold
        return self.calibration.provisional_threshold

    @cached_property
    def english_embedder(self) -> Embedder | None:
        """The English-only model added to the theme space of an English corpus (None when not configured)."""
        name = self.settings.english_model
        if not name or name == self.settings.embedding_model or self.calibration.languages == ("en",):
            return None
        return Embedder(
            name, batch_size=self.settings.embedding_batch_size, device=self.settings.embedding_device, store=self.store
        )

    @cached_property
    def index(self) -> VectorIndex:
        """The vector index (opened on first use); rare filters get their candidate ids from the database."""
        return self._index or VectorIndex(self.settings, candidates=self.ids_matching)

    def ids_matching(self, where: dict) -> list[str] | None:
        """Ids of the stored testimonies satisfying an index filter (see ``analysis.index``), or None for a
        key the database cannot answer."""
        wanted = TestimonyFilter()  # ids the index lacks are skipped by the index itself
        for key, value in where.items():
            if key in ("country", "organisation", "kind", "language"):
                setattr(wanted, key, value)
            elif key == "consent":
                wanted.consent_level = value
            elif key == "date_from":
                wanted.since = _day(value)
            elif key == "date_to":
                wanted.until = _day(value) + timedelta(days=1)
            else:
                return None
        return self.store.matching_ids(wanted)

    @property
    def themes(self) -> ThemeStore:
        """The stored themes and assignments."""
        return self.stores.themes

    @cached_property
    def driver_scorer(self):
        """The driver scorer on the project's codebook (its phrases embedded once per process)."""
        from analysis.drivers import Codebook, DriverScorer

        return DriverScorer(
            Codebook.load(self.settings.codebook_path), self.embedder, temperature=self.calibration.driver_temperature
        ).fit()

    # -- ingestion ------------------------------------------------------------------

    def ingest(self, draft: TestimonyDraft, *, index_now: bool = True) -> Testimony:
        """Validate, redact and commit one contribution, then try to embed and index it."""
        testimony = self.store.add_testimony(draft)
        if index_now:
            self.index_ids([testimony.id])
        return testimony

    def index_ids(self, ids: Sequence[str]) -> IndexReport:
        """Embed and index these stored testimonies; on failure they stay pending (never lost)."""
        records = self.store.records(ids)
        return self._index_records(records)

    def index_pending(self, batch_size: int = 256, progress: Progress | None = None) -> IndexReport:
        """Embed and index the whole backlog (pending and previously failed), in batches.

        Batches are cut from the backlog sorted by text length, so the model pads each little (on a
        mixed corpus that is about a third faster than batches in arrival order).
        """
        report = IndexReport()
        backlog = sorted(self.store.pending(), key=lambda r: len(r.text))
        for start in range(0, len(backlog), batch_size):
            chunk = backlog[start : start + batch_size]
            part = self._index_records(chunk)
            report.indexed += part.indexed
            report.failed += part.failed
            report.errors += part.errors
            if progress:
                progress(len(chunk))
        return report

    def _index_records(self, records: Sequence[TestimonyRecord]) -> IndexReport:
        if not records:
            return IndexReport()
        ids = [r.id for r in records]
        try:
            vectors = self.embedder.encode([r.text for r in records])
            with self._write_lock:
                # an erasure may have run while we embedded: never put its vectors back
                alive = set(self.store.existing_ids(ids))
                keep = [i for i, r in enumerate(records) if r.id in alive]
                records, vectors, ids = [records[i] for i in keep], vectors[keep], [ids[i] for i in keep]
                self.index.upsert(records, vectors)
        except Exception as exc:  # any failure leaves the rows pending, stored and safe
            log.warning("indexing %d testimonies failed (%s); they stay pending", len(ids), exc.__class__.__name__)
            self.store.mark_index_status(ids, IndexStatus.failed)
            return IndexReport(failed=len(ids), errors=[f"{exc.__class__.__name__}: {exc}"])
        self.store.mark_index_status(ids, IndexStatus.indexed)
        try:
            self._assign_provisional(records, vectors)
        except Exception as exc:  # a convenience: the rows are stored and indexed whatever happens here
            log.warning("provisional themes skipped (%s: %s)", exc.__class__.__name__, exc)
        return IndexReport(indexed=len(ids))

    def _assign_provisional(self, records: Sequence[TestimonyRecord], vectors: np.ndarray) -> None:
        """Give newly indexed testimonies the nearest theme above the threshold, until the next analysis."""
        theme_ids, centroids = self.themes.centroids()
        if not theme_ids:
            return
        try:
            positions, similarities = nearest_centroid(vectors, centroids, self.provisional_threshold)
            assignments = self.driver_scorer.assign(self.driver_scorer.score(vectors))
        except Exception as exc:  # a provisional theme is a convenience; the row is stored and indexed
            log.warning("provisional themes skipped (%s)", exc.__class__.__name__)
            return
        self.themes.assign_provisional(
            [
                (
                    record.id,
                    theme_ids[p] if p >= 0 else None,
                    float(sim) if p >= 0 else None,
                    {"primary": a.primary, "intersecting": list(a.intersecting), "scores": a.scores},
                )
                for record, p, sim, a in zip(records, positions, similarities, assignments)
            ]
        )

    def reindex(self, progress: Progress | None = None) -> IndexReport:
        """Rebuild the index from the database: drop it, then embed (cached) and add every testimony.

        Rows stored before languages were detected get their language first,
        and a switched model re-embeds everything (the cache is per model).
        """
        self.store.redetect_languages()
        self.index.reset()
        self.store.mark_all_pending()
        self.store.optimize()
        report = self.index_pending(progress=progress)
        self.store.wipe_journal()  # finishes an erasure's wipe that readers kept from completing
        return report

    # -- health ---------------------------------------------------------------------

    def doctor(self, languages: Iterable[str] = ()) -> dict:
        """Database and index counts, the backlog and any mismatch between them; and, for the
        languages stored and ``languages`` (the bot's), which pipeline redacts names and places."""
        statuses = self.store.status_counts()
        db_ids = self.store.all_ids()
        index_ids = self.index.ids()
        missing = db_ids - index_ids
        orphans = index_ids - db_ids
        indexed_but_missing = len(missing) - statuses["pending"] - statuses["failed"]
        other_model = self.index.other_model()
        stale = self.index.stale_files()
        residue = self.index.residue()
        return {
            "database": self.store.engine.url.render_as_string(hide_password=True),
            "index": self.settings.chroma_url or str(self.settings.chroma_path),
            "embedding_model": self.settings.embedding_model,
            "model_calibrated": self.calibration.calibrated,
            "index_model": self.index.model(),
            "vectors_from_other_model": len(index_ids) if other_model else 0,
            "testimonies": len(db_ids),
            "indexed_vectors": len(index_ids),
            "pending": statuses["pending"],
            "failed": statuses["failed"],
            "missing_from_index": len(missing),
            "orphans_in_index": len(orphans),
            "erased_vectors_in_index_files": residue,
            # files of segments no collection uses (a dropped collection's vectors); None: a Chroma server
            "stale_index_files": None if stale is None else len(stale),
            # the texts, the key, exports and index readable by group or others (files are made 0600)
            "files_open_to_others": [str(path) for path in open_to_others(self.settings.private_paths())],
            # language -> the spaCy pipeline that hides names and places in its texts; None: nothing does
            "names_and_places_redacted": self._names_and_places(languages),
            "ok": not orphans
            and not residue  # erased people's vectors may still sit in Chroma's files: `lnob reindex` drops them
            and not stale
            and not other_model
            and indexed_but_missing <= 0
            and statuses["failed"] == 0
            and statuses["pending"] == 0,
        }

    def _names_and_places(self, languages: Iterable[str]) -> dict[str, str | None]:
        stored = {code for code in self.store.stats()["by_language"] if code != "unknown"}
        return ner_languages(sorted(stored | set(languages)), self.store.redactor)

    # -- erasure --------------------------------------------------------------------

    def erase_testimonies(self, ids: Sequence[str]) -> list[str]:
        """Erase contributions (and their linked proposals) everywhere; returns the ids removed (see :meth:`erase`)."""
        return self.erase(testimony_ids=ids).testimonies

    def erase_contributor(self, contributor_id: int) -> list[str]:
        """Erase a contributor and everything they shared everywhere; returns the ids removed (see :meth:`erase`)."""
        return self.erase(contributor_id=contributor_id).testimonies

    def erase(self, *, contributor_id: int | None = None, testimony_ids: Sequence[str] = ()) -> ErasureReport:
        """Erase a contributor (everything they shared, their consents, their bot state) or these testimonies
        (with the proposals linked to them), from every copy; returns what was removed.

        In this order: the vector index, the database rows (which cascade), the
        themes (labels and keywords recomputed without their words:
        ``analysis.relabel``), then the exports (deleted, and rebuilt with the
        new labels and without their words: ``analysis.reports.erase_exports_for``),
        and last the SQLite files' old bytes (``CorpusStore.wipe_journal``).
        """
        from analysis.relabel import ErasureTrace, relabel_after_erasure

        with self._write_lock:
            if contributor_id is not None:
                testimony_ids = [r.id for r in self.store.contributor_records(contributor_id)]
            every = self.store.with_linked(testimony_ids)
            trace = ErasureTrace.of(self, every)  # their themes and words, read before the rows go
            report = ErasureReport(vectors=self.index.delete(every))
            if contributor_id is not None:
                alias = self._pseudonym_of(contributor_id)
                report.contributor = alias is not None
                report.bot_state_rows = self._forget_chat_state(alias) if alias is not None else 0
                report.testimonies = self.store.erase_contributor(contributor_id, wipe=False)
            else:
                report.testimonies = self.store.erase_testimonies(every, wipe=False)
        try:
            relabelled = relabel_after_erasure(self, trace)
        except Exception:
            self._drop_exports(every)  # nothing is rebuilt from labels that may still hold their words
            raise
        report.themes_relabelled = [change.theme_id for change in relabelled]
        report.export_files = [str(path) for path in self._erase_exports(every, relabelled=relabelled)]
        report.journal = self.store.wipe_journal()
        return report

    def _pseudonym_of(self, contributor_id: int) -> str | None:
        """The contributor's pseudonym, or None when there is no such contributor."""
        from corpus.errors import NotFound

        try:
            return self.store.get_contributor(contributor_id).pseudonym
        except NotFound:
            return None

    def _forget_chat_state(self, alias: str) -> int:
        """Delete what the bot keeps for the contributor ``alias`` (conversation state, draft); returns how many rows.

        The bot keys its rows by Telegram ids, which are never stored, so every
        id in a row's key is turned into its pseudonym and compared.
        """
        return self.stores.chat_states.forget_person(lambda telegram_id: self.store.pseudonym_for(telegram_id, "telegram") == alias)

    def _erase_exports(self, ids: Sequence[str], *, still_counted: bool = False, relabelled: Sequence = ()) -> list:
        """Remove (and regenerate without quoting them, under the themes' new labels) the export files that
        quoted these testimonies or carry a changed label; returns the paths deleted."""
        if not ids and not relabelled:
            return []
        from analysis.reports import erase_exports_for

        return erase_exports_for(self, ids, still_counted=still_counted, relabelled=relabelled)

    def _drop_exports(self, ids: Sequence[str]) -> None:
        """Delete the export files that quoted these testimonies, rebuilding none."""
        from analysis.reports import registry_of

        registry_of(self).remove_containing(ids)

    # -- consent --------------------------------------------------------------------

    def give_consent(self, contributor_id: int, level: str, text_version: str):
        """Record a consent (level ``quote`` or ``aggregate``) and carry the level into the index metadata.

        Search asks the index for ``consent = quote``; stale metadata would
        waste result slots on testimonies that may no longer be quoted. If the
        index cannot be updated the testimonies go back to ``pending``, so the
        next ``index_pending`` rewrites their metadata.
        """
        consent = self.store.give_consent(contributor_id, level, text_version)
        indexed = [r for r in self.store.contributor_records(contributor_id) if r.index_status == IndexStatus.indexed]
        if indexed:
            try:
                self.index.update_metadata(indexed)
            except Exception as exc:  # the database holds the truth; the index catches up later
                log.warning("consent metadata not updated in the index (%s); marked pending", exc.__class__.__name__)
                self.store.mark_index_status([r.id for r in indexed], IndexStatus.pending)
        if consent.level != "quote":
            # files already written may quote this person: rebuild them under the new consent
            self._erase_exports([r.id for r in self.store.contributor_records(contributor_id)], still_counted=True)
        return consent

    # -- semantic search ------------------------------------------------------------

    def query_vector(self, text: str) -> np.ndarray:
        """The embedding of a search query (query-side for models that tell queries from passages)."""
        return self.embedder.encode_query(text)
