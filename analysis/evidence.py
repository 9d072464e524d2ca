"""The evidence base: the corpus store, the embedder and the vector index working together.

``EvidenceBase`` is what the CLI and the bot use. Its one rule: a contribution
is committed to the database first; embedding and indexing come after and may
fail without losing it (it stays ``pending`` and the next ``index_pending``,
``lnob reindex``, ``lnob analyse`` or bot start picks it up).

Erasure and consent changes reach beyond it (theme labels, files on disk):
``analysis.erasure`` runs them, using the low-level steps kept here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import overload

import numpy as np

from corpus.errors import NotFound
from corpus.files import open_to_others
from corpus.models import Consent, IndexStatus, Testimony
from corpus.redaction import ner_languages
from corpus.settings import Settings
from corpus.store import CorpusStore, TestimonyDraft, TestimonyFilter, TestimonyRecord
from corpus.stores import CorpusStores
from corpus.themes import ThemeStore

from analysis.calibration import ModelCalibration
from analysis.drivers import Codebook, DriverScorer
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
class Removal:
    """What the evidence base deleted for an erasure: ids and counts, never a text."""

    testimonies: list[str] = field(default_factory=list)  # testimony and linked proposal ids
    vectors: int = 0  # vectors deleted from the index
    contributor: bool = False  # the contributor, their consents and profile
    bot_state_rows: int = 0  # the person's conversation state and draft kept for the bot


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
    def codebook(self) -> Codebook:
        """The driver codebook (``settings.codebook_path``; default: the bundled ``analysis/drivers.yaml``),
        read once: every driver key and name in analysis, reports and the bot comes from it."""
        return Codebook.load(self.settings.codebook_path)

    @cached_property
    def driver_scorer(self) -> DriverScorer:
        """The driver scorer on the project's codebook (its phrases embedded once per process)."""
        return DriverScorer(self.codebook, self.embedder, temperature=self.calibration.driver_temperature).fit()

    @property
    def write_lock(self) -> threading.RLock:
        """Held while vectors are written and while anything is erased (``analysis.erasure`` holds it from
        reading what an erasure touches until the rows are gone)."""
        return self._write_lock

    # -- ingestion ------------------------------------------------------------------

    @overload
    def ingest(self, drafts: TestimonyDraft, *, index_now: bool = True) -> Testimony: ...

    @overload
    def ingest(self, drafts: Sequence[TestimonyDraft], *, index_now: bool = True) -> list[Testimony]: ...

    def ingest(self, drafts, *, index_now=True):
        """Validate, redact and durably commit one contribution, then (``index_now``) try to embed and index it.

        ``drafts`` is one draft, or several committed in one transaction, all or
        none (a testimony and the proposal linked to it by the ``id`` chosen for
        it: ``parent_id``); the result is then a list in the same order. A draft
        whose ``source_ref`` is already stored under its ``source`` is not stored
        again: the stored testimony stands in for it, and drafts linked to it are
        linked to that one, so that a step retried after a crash is stored once.
        """
        batch = [drafts] if isinstance(drafts, TestimonyDraft) else list(drafts)
        stored: dict[tuple[str, str], str] = {}  # (source, source_ref) -> id of the testimony already stored
        for source in {d.source for d in batch if d.source_ref}:
            refs = [d.source_ref for d in batch if d.source == source and d.source_ref]
            stored |= {(source, ref): found for ref, found in self.store.source_ref_ids(source, refs).items()}
        standing_in = {d.id: stored[(d.source, d.source_ref)] for d in batch if d.id and (d.source, d.source_ref) in stored}
        new = [
            replace(d, parent_id=standing_in.get(d.parent_id, d.parent_id))
            for d in batch
            if (d.source, d.source_ref) not in stored
        ]
        added = self.store.add_testimonies(new) if new else []
        fresh = iter(added)
        testimonies = [
            self.store.get_testimony(stored[(d.source, d.source_ref)]) if (d.source, d.source_ref) in stored else next(fresh)
            for d in batch
        ]
        if index_now and added:
            self.index_ids([t.id for t in added])
        return testimonies[0] if isinstance(drafts, TestimonyDraft) else testimonies

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
        """Give newly indexed testimonies a theme until the next analysis: the theme most of their nearest
        analysed neighbours are in, if the text is also near enough that theme's centre (the threshold).

        The neighbours decide because themes are found in the theme space (``analysis.analyse.ThemeSpace``:
        two models side by side, centred per language), where the stored centres (multilingual model only)
        are a rough guide: a near copy of a theme's member went to another theme by centre alone.
        """
        theme_ids, centroids = self.themes.centroids()
        if not theme_ids:
            return
        try:
            votes = self._neighbour_themes(vectors)
            assignments = self.driver_scorer.assign(self.driver_scorer.score(vectors))
        except Exception as exc:  # a provisional theme is a convenience; the row is stored and indexed
            log.warning("provisional themes skipped (%s)", exc.__class__.__name__)
            return
        similarities = np.asarray(vectors, dtype=np.float32) @ np.asarray(centroids, dtype=np.float32).T
        nearest = similarities.argmax(axis=1)
        position = {theme_id: i for i, theme_id in enumerate(theme_ids)}
        rows = []
        for i, (record, theme_id, a) in enumerate(zip(records, votes, assignments)):
            # no analysed neighbour: the nearest centre, as before the neighbours were asked
            column = position[theme_id] if theme_id in position else int(nearest[i])
            similarity = float(similarities[i, column])
            chosen = theme_ids[column] if similarity >= self.provisional_threshold else None
            rows.append((record.id, chosen, similarity if chosen is not None else None,
                         {"primary": a.primary, "intersecting": list(a.intersecting), "scores": a.scores}))
        self.themes.assign_provisional(rows)

    def _neighbour_themes(self, vectors: np.ndarray, k: int = 10) -> list[int | None]:
        """For each vector, the theme with the largest summed similarity among its ``k`` nearest analysed
        testimonies (None when none of them is analysed). Texts not yet analysed (those just added among
        them) have no vote; twice ``k`` neighbours are fetched so that a few of them do not leave too few."""
        hits = [self.index.query(vector, 2 * k) for vector in vectors]
        analysed = self.themes.assignments(list({h.id for found in hits for h in found}))
        votes: list[int | None] = []
        for found in hits:
            weight: dict[int, float] = {}
            voters = [h for h in found if (a := analysed.get(h.id)) is not None and a.theme_id is not None
                      and not a.provisional][:k]
            for hit in voters:
                theme_id = analysed[hit.id].theme_id
                weight[theme_id] = weight.get(theme_id, 0.0) + max(hit.score, 0.0)
            votes.append(max(weight, key=weight.get) if weight else None)
        return votes

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

    # -- erasure and consent (the low-level steps: ``analysis.erasure`` runs them in order) ----------

    def erasable_ids(self, *, contributor_id: int | None = None, testimony_ids: Sequence[str] = ()) -> list[str]:
        """The ids an erasure removes: everything the contributor shared, or these testimonies, each with the
        proposals linked to it."""
        if contributor_id is not None:
            testimony_ids = [r.id for r in self.store.contributor_records(contributor_id)]
        return self.store.with_linked(testimony_ids)

    def remove(self, ids: Sequence[str], *, contributor_id: int | None = None) -> Removal:
        """Delete ``ids`` (``erasable_ids``) from the vector index and the database, and with ``contributor_id``
        the contributor, their consents and what the bot keeps for them. The SQLite files' old bytes stay
        until ``store.wipe_journal``; themes and exports are not touched (``analysis.erasure.erase`` does both)."""
        with self._write_lock:
            removal = Removal(vectors=self.index.delete(ids))
            if contributor_id is not None:
                alias = self._pseudonym_of(contributor_id)
                removal.contributor = alias is not None
                removal.bot_state_rows = self._forget_chat_state(alias) if alias is not None else 0
                removal.testimonies = self.store.erase_contributor(contributor_id, wipe=False)
            else:
                removal.testimonies = self.store.erase_testimonies(ids, wipe=False)
        return removal

    def _pseudonym_of(self, contributor_id: int) -> str | None:
        """The contributor's pseudonym, or None when there is no such contributor."""
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

    def record_consent(self, contributor_id: int, level: str, text_version: str) -> Consent:
        """Record a consent (level ``quote`` or ``aggregate``) and carry the level into the index metadata.

        Search asks the index for ``consent = quote``; stale metadata would
        waste result slots on testimonies that may no longer be quoted. If the
        index cannot be updated the testimonies go back to ``pending``, so the
        next ``index_pending`` rewrites their metadata. Files already written
        are not touched: ``analysis.erasure.give_consent`` rebuilds them.
        """
        consent = self.store.give_consent(contributor_id, level, text_version)
        indexed = [r for r in self.store.contributor_records(contributor_id) if r.index_status == IndexStatus.indexed]
        if indexed:
            try:
                self.index.update_metadata(indexed)
            except Exception as exc:  # the database holds the truth; the index catches up later
                log.warning("consent metadata not updated in the index (%s); marked pending", exc.__class__.__name__)
                self.store.mark_index_status([r.id for r in indexed], IndexStatus.pending)
        return consent

    # -- semantic search ------------------------------------------------------------

    def query_vector(self, text: str) -> np.ndarray:
        """The embedding of a search query (query-side for models that tell queries from passages)."""
        return self.embedder.encode_query(text)
