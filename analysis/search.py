"""Finding evidence: hybrid search (BM25 over words + semantic), fused by rank, with filters, across languages.

Results are quotes: only testimonies whose contributor agreed to be quoted,
always the redacted text, each with its scores and provenance.

The semantic side asks the vector index (with the filters it can apply:
country, organisation, kind, language, dates, consent) and post-filters the
candidates on the rest (driver, theme, group) from an in-memory catalogue of
the corpus, or scores the cached vectors exactly (a warm or one-shot
searcher, or filters the index cannot see); the lexical side searches a
BM25 index restricted to the ids the catalogue lets through. Reciprocal rank
fusion (RRF) combines the two lists.

The lexical side is saved in the database (``corpus.lexicon``): each text's
tokens, made again only when the text, its language or the tokenizer
changed (``corpus_tokens``), and the BM25 index built from them, loaded
while the corpus is the one it was built from (``lexical_index``). A
one-shot search (``Searcher.one_shot``, ``lnob search``) thus tokenises
nothing but the query and loads one language pipeline, and opens no vector
index: at 100,000 contributions it takes seconds, not the half minute a
fresh build took.
"""

from __future__ import annotations

import copy
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cached_property
from typing import NamedTuple

import numpy as np

from corpus.language import detect
from corpus.errors import InvalidText
from corpus.catalogue import CatalogueColumns
from corpus.lexicon import SavedTokens
from corpus.store import TestimonyRecord
from corpus.validation import parse_country, parse_date_bound, parse_language
from corpus.vocabulary import GROUPS, SEARCH_MODES, ConsentLevel

from analysis.evidence import EvidenceBase
from analysis.index import date_key
from analysis.lexical import LexicalIndex, WordStatistics
from analysis.text import TextProcessor, tokenizer_version

RRF_K = 60
MAX_BRIDGE_WORDS = 20_000  # most frequent corpus words a query word may be bridged to
BRIDGES_PER_WORD = 3


@dataclass
class SearchFilter:
    """Restrictions on a search; ``None`` means any."""

    country: str | None = None
    organisation: str | None = None
    kind: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    driver: str | None = None
    theme: int | None = None
    group: str | None = None

    def index_where(self) -> dict:
        """The part of the filter the vector index applies (quote consent always required)."""
        where: dict = {"consent": "quote"}
        if self.country:
            where["country"] = self.country.upper()
        if self.organisation:
            where["organisation"] = self.organisation.lower()
        if self.kind:
            where["kind"] = self.kind
        if self.language:
            where["language"] = self.language.lower()
        if self.since:
            where["date_from"] = date_key(self.since)
        if self.until:
            where["date_to"] = date_key(self.until)
        return where

    @property
    def needs_catalogue(self) -> bool:
        """Whether some condition is beyond the vector index's metadata."""
        return bool(self.driver or self.theme is not None or self.group)


def checked_filter(evidence: EvidenceBase, **given: str | int | None) -> SearchFilter:
    """The filter a person typed (``country="np"``, ``until="2026-03"``, ...), every value checked.

    A country that is not an ISO code, a language that is not a language code, a driver the codebook
    lacks, an organisation or profile group that does not exist, or a date that is no day, month or
    year raises ``InvalidText`` naming it (the error ``lnob report`` gives for a bad country), rather
    than a search that quietly finds nothing. Dates follow ``corpus.validation.parse_date_bound``.
    """
    values = {key: value for key, value in given.items() if value is not None and str(value).strip()}
    where = SearchFilter(**{k: v for k, v in values.items() if k in ("kind", "theme")})
    where.country = parse_country(values.get("country"))
    where.language = parse_language(values.get("language"))
    where.since = parse_date_bound(values.get("since"))
    where.until = parse_date_bound(values.get("until"), end=True)
    if "driver" in values:
        keys = evidence.codebook.keys
        where.driver = str(values["driver"]).strip().lower().replace("-", "_")
        if where.driver not in keys:
            raise InvalidText(f"driver {values['driver']!r} is not one of: {', '.join(keys)}")
    if "organisation" in values:
        codes = sorted(o.code for o in evidence.store.organisations())
        where.organisation = str(values["organisation"]).strip().lower()
        if where.organisation not in codes:
            raise InvalidText(f"organisation {values['organisation']!r} is not one of: {', '.join(codes) or 'none yet'}")
    if "group" in values:
        where.group = str(values["group"]).strip().lower()
        if where.group not in GROUPS:
            raise InvalidText(f"group {values['group']!r} is not one of: {', '.join(GROUPS)}")
    return where


@dataclass
class SearchResult:
    """One quote found: redacted text, scores and provenance."""

    id: str
    score: float
    text: str
    kind: str
    country: str | None
    organisation: str | None
    language: str | None
    date: str
    drivers: list[str] = field(default_factory=list)
    theme_id: int | None = None
    semantic_rank: int | None = None
    lexical_rank: int | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def of(cls, record: TestimonyRecord, score: float, **extra) -> "SearchResult":
        """The result view of a stored testimony (its redacted text only) with provenance."""
        return cls(
            id=record.id,
            score=score,
            text=record.text,
            kind=record.kind,
            country=record.country,
            organisation=record.organisation,
            language=record.language,
            date=record.created_at.date().isoformat(),
            **({"drivers": list(record.self_drivers)} | extra),
        )


class Contributed(NamedTuple):
    """A testimony and its contributor (None: none known), as ``analysis.counting`` counts people."""

    id: str
    contributor_id: int | None


class TestimonyTable:
    """The search catalogue: each testimony's metadata held in arrays, so any filter is a fast boolean mask.

    Built from full records (``with_records``, as the bot keeps it: its views
    read ``records``), or from the columns filters need only
    (``corpus.catalogue``: a one-shot search, ten times faster to read at
    100,000 contributions), in which case ``records`` is empty,
    ``records_of`` reads the few records a search shows, and the groups and
    themes are read only when a filter or a result needs them.
    """

    def __init__(self, evidence: EvidenceBase, *, with_records: bool = True) -> None:
        if with_records:
            records = evidence.store.records()
            self.records: dict[str, TestimonyRecord] = {r.id: r for r in records}
            columns = columns_of(records)
        else:
            columns = evidence.stores.catalogue.columns()
            self.records = {}
        self._store, self._queries, self._columns = evidence.store, evidence.stores.catalogue, columns
        self.ids = columns.ids
        self.position = dict(zip(self.ids, range(len(self.ids))))
        self.country = np.array([code or "" for code in columns.country], dtype=object)
        self.organisation = np.array([code or "" for code in columns.organisation], dtype=object)
        self.kind = np.array(columns.kind, dtype=object)
        self.language = np.array([code or "" for code in columns.language], dtype=object)
        self.date = np.array(columns.day, dtype=np.int64)
        self.consented = np.array(columns.consent_level, dtype=object) == ConsentLevel.quote.value  # to quotes
        hidden = evidence.stores.curation.hidden()
        self.quotable = self.consented & np.array([tid not in hidden for tid in self.ids], dtype=bool)
        self.text_hash = columns.text_hash  # the key of each redacted text: saved tokens, cached vectors
        self.contributor_id = columns.contributor_id
        if with_records:  # a long-lived catalogue reads every column now, before the bot freezes it (gc.freeze)
            _ = self.groups, self._themes

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def groups(self) -> list[set[str]]:
        """Each testimony's contributor's profile groups (read when a filter first needs them)."""
        return [set(found) for found in self._columns.groups()]

    @cached_property
    def _themes(self) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        """Each testimony's theme (-1: none) and the drivers the analysis gave it, read on first need."""
        theme = np.full(len(self.ids), -1, dtype=np.int64)
        drivers: list[tuple[str, ...]] = [()] * len(self.ids)
        for tid, (theme_id, found) in self._queries.themes().items():
            position = self.position.get(tid)
            if position is not None:
                theme[position] = theme_id if theme_id is not None else -1
                drivers[position] = found
        return theme, drivers

    @property
    def theme(self) -> np.ndarray:
        """Each testimony's theme id, -1 for none."""
        return self._themes[0]

    @property
    def drivers(self) -> list[tuple[str, ...]]:
        """The drivers the analysis gave each testimony, primary first."""
        return self._themes[1]

    def themes_of(self, ids: Sequence[str]) -> dict[str, tuple[int | None, tuple[str, ...]]]:
        """Theme id (None: none) and drivers of these testimonies: from the columns once read, else from the
        database for these ids alone (a search shows a few)."""
        if "_themes" not in self.__dict__:
            return {tid: found for tid, found in self._queries.themes(ids).items() if tid in self.position}
        return {tid: (int(t) if (t := self.theme[self.position[tid]]) >= 0 else None, self.drivers[self.position[tid]])
                for tid in ids if tid in self.position}

    def contributions(self, rows: Sequence[int]) -> list[Contributed]:
        """Who gave the testimonies at these positions, for counting them (``analysis.counting.count_of``)."""
        return [Contributed(self.ids[row], self.contributor_id[row]) for row in rows]

    def records_of(self, ids: Sequence[str]) -> dict[str, TestimonyRecord]:
        """The records of these testimonies, from memory when held, else read in one query; an id erased since
        the catalogue was read is left out."""
        missing = [tid for tid in ids if tid not in self.records]
        fetched = {r.id: r for r in self._store.records(missing)} if missing else {}
        return {tid: found for tid in ids if (found := self.records.get(tid) or fetched.get(tid)) is not None}

    def mask(self, where: SearchFilter) -> np.ndarray:
        """Which testimonies pass ``where`` and may be quoted."""
        mask = self.quotable.copy()
        if where.country:
            mask &= self.country == where.country.upper()
        if where.organisation:
            mask &= self.organisation == where.organisation.lower()
        if where.kind:
            mask &= self.kind == where.kind
        if where.language:
            mask &= self.language == where.language.lower()
        if where.since:
            mask &= self.date >= date_key(where.since)
        if where.until:
            mask &= self.date <= date_key(where.until)
        if where.theme is not None:
            mask &= self.theme == int(where.theme)
        if where.driver:
            mask &= np.array([where.driver in d for d in self.drivers], dtype=bool)
        if where.group:
            mask &= np.array([where.group in g for g in self.groups], dtype=bool)
        return mask


def columns_of(records: Sequence[TestimonyRecord]) -> CatalogueColumns:
    """The catalogue's columns of these records, in their order (as ``corpus.catalogue`` reads them)."""
    return CatalogueColumns(
        ids=[r.id for r in records], kind=[r.kind for r in records], language=[r.language for r in records],
        day=[date_key(r.created_at) for r in records], country=[r.country for r in records],
        organisation=[r.organisation for r in records], consent_level=[r.consent_level for r in records],
        stored_groups=[list(r.groups) for r in records], text_hash=[r.text_hash for r in records],
        contributor_id=[r.contributor_id for r in records],
    )


class Searcher:
    """Hybrid, semantic or lexical search over the evidence base.

    Build once per process and reuse: the catalogue and BM25 index are built
    on first use and rebuilt by ``refresh()`` when the corpus or the themes
    changed (the bot calls it after contributions and analyses). Each text's
    tokens are saved (``corpus_tokens``), so a rebuild tokenises only what
    changed. A process that searches once (``lnob search``) builds it with
    ``Searcher.one_shot``.
    """

    def __init__(
        self,
        evidence: EvidenceBase,
        *,
        candidates: int = 50,
        lexical_weight: float = 1.0,
        feedback_docs: int = 10,
        feedback_terms: int = 5,
        bridges: bool = True,
    ) -> None:
        self.evidence = evidence
        self.candidates = candidates
        self.lexical_weight = lexical_weight
        self.feedback_docs = feedback_docs
        self.feedback_terms = feedback_terms
        self.bridges = bridges
        self.processor = TextProcessor()
        self.short_lived = False  # True: built for one search (``one_shot``)
        self._catalogue: TestimonyTable | None = None
        self._lexical: LexicalIndex | None = None
        self._words: WordStatistics | None = None
        self._languages: list[str] = ["en"]
        self._vectors: np.ndarray | None = None
        self._bridge_words: list[str] = []
        self._bridge_languages: np.ndarray = np.zeros(0, dtype=object)
        self._bridge_vectors: np.ndarray | None = None

    @classmethod
    def one_shot(cls, evidence: EvidenceBase, **options) -> Searcher:
        """A searcher for a process that searches once and exits (``lnob search``): it loads only what one
        search needs.

        The catalogue is read as columns, and only the records of the results
        (``TestimonyTable``); meaning is scored exactly over the cached vectors
        of the testimonies the filters let through, so the vector index is
        never opened (no Chroma to load; the warm bot scores the same way);
        the BM25 index is the saved one while the corpus is unchanged, else
        built from the saved tokens and saved (``lexical_index``), so only the
        query's language pipeline is loaded. Results are the same as a
        ``Searcher``'s, up to the approximate neighbours of the vector index.
        """
        searcher = cls(evidence, **options)
        searcher.short_lived = True
        return searcher

    def refresh(self) -> None:
        """Rebuild the catalogue and the BM25 index from the database (``lexical_index``)."""
        catalogue = TestimonyTable(self.evidence, with_records=not self.short_lived)
        self._lexical = lexical_index(self.evidence, catalogue, self.processor, save=self.short_lived)
        languages = [code or "" for code in catalogue.language.tolist()]
        by_count = Counter(code or "en" for code in languages)
        self._languages = [code for code, _ in by_count.most_common()] or ["en"]  # the main language first
        self._words = WordStatistics(self._lexical, languages)
        frequency = self._words.frequency.tolist()
        self._bridge_words = bridge_vocabulary({w: n for w, n in zip(self._words.words, frequency) if n >= 2})
        self._bridge_languages = np.array([self._words.language_of(w) for w in self._bridge_words], dtype=object)
        self._bridge_vectors = None
        self._catalogue = catalogue
        self._vectors = None

    @property
    def catalogue(self) -> TestimonyTable:
        if self._catalogue is None:
            self.refresh()
        return self._catalogue

    def search(self, query: str, k: int = 10, where: SearchFilter | None = None, mode: str = "hybrid") -> list[SearchResult]:
        """The ``k`` best quotes for ``query`` that pass ``where``, best first."""
        if mode not in SEARCH_MODES:
            raise ValueError(f"search mode {mode!r} is not one of {', '.join(SEARCH_MODES)}")
        where = where or SearchFilter()
        mask = self.catalogue.mask(where)
        if not mask.any() or k <= 0:
            return []
        depth = max(k, self.candidates)
        vector = self.evidence.query_vector(query) if mode != "lexical" else None
        semantic = self._semantic(vector, depth, where, mask) if mode != "lexical" else []
        lexical = self._lexical_hits(self._lexical_query(query, semantic if mode == "hybrid" else []), depth, mask) if mode != "semantic" else []
        fused = self._fuse(semantic, lexical)[:k]
        records = self.catalogue.records_of([tid for tid, _ in fused])
        themes = self.catalogue.themes_of(list(records))
        return [self._result(records[tid], score, semantic, lexical, themes.get(tid, (None, ())))
                for tid, score in fused if tid in records]

    def _lexical_query(self, query: str, first_pass: Sequence[str]) -> list[str]:
        """The BM25 query: the query's words in its own language, their bridges, and feedback terms.

        The query is read in the language it is written in (detected, the
        corpus's main language as the hint for short queries): read with
        another language's stop list, "have" or "no" would become search terms.
        """
        language = detect(query, hint=self._languages[0]).code or self._languages[0]
        tokens = list(dict.fromkeys(self.processor.tokens(query, language)))
        own = list(tokens)
        if self.bridges:
            tokens += [w for w in self._bridged(own) if w not in tokens]
        if self.feedback_docs and self.feedback_terms and first_pass:
            tokens += [w for w in self._feedback_terms(first_pass[: self.feedback_docs]) if w not in tokens]
        return tokens

    def _bridged(self, words: Sequence[str]) -> list[str]:
        """Corpus words in other languages nearest in meaning to each query word, above the model's threshold.

        A word is only bridged into the languages it is not already used in:
        within one language BM25 matches it itself, and single-word vectors
        mostly find look-alikes there ("tent" and "test"), which measurably
        hurt English search. A word's language is the language of most of the
        texts that use it.
        """
        if not words or not self._bridge_words:
            return []
        threshold = self.evidence.calibration.term_match_threshold
        similarity = self.evidence.embedder.encode_terms(list(words)) @ self._word_vectors().T
        found: list[str] = []
        for word, row in zip(words, similarity):
            own = self._words.languages_of(word, at_least=2)
            row = np.where(np.isin(self._bridge_languages, own), -np.inf, row) if own else row
            best = np.argsort(-row)[:BRIDGES_PER_WORD]
            found += [self._bridge_words[i] for i in best if row[i] >= threshold]
        return list(dict.fromkeys(found))

    def _feedback_terms(self, top: Sequence[str]) -> list[str]:
        """The most distinctive words shared by at least two of the ``top`` hits (document frequency x idf)."""
        counts: dict[str, int] = {}
        for tid in top:
            for word in self._lexical.words_of(tid):
                counts[word] = counts.get(word, 0) + 1
        n = max(len(self._lexical), 1)
        scored = {w: c * np.log(n / (self._words.frequency_of(w) or 1)) for w, c in counts.items() if c >= 2}
        return [w for w, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[: self.feedback_terms]]

    def warm(self) -> None:
        """Load every cached vector now, so every later search is scored exactly in memory.

        A long-running process (the bot) does this off the hot path: at 100k
        contributions a matrix product over the masked vectors beats the
        vector index's filtered query (BENCHMARKS.md, "Staff in chat"). The
        corpus words' vectors for cross-language bridges are loaded (or encoded
        once, then cached) too.
        """
        self._catalogue_vectors()
        self._word_vectors()

    def _word_vectors(self) -> np.ndarray:
        """The vectors of the corpus words a query word may be bridged to, loaded once per refresh."""
        if self._bridge_vectors is None:
            self._bridge_vectors = self.evidence.embedder.encode_terms(self._bridge_words)
        return self._bridge_vectors

    def _catalogue_vectors(self) -> np.ndarray:
        """Every catalogued testimony's cached vector (zeros for one not embedded yet), loaded once per refresh."""
        if self._vectors is None:
            self._vectors = self._cached_vectors(np.arange(len(self.catalogue)))
        return self._vectors

    def _cached_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The cached vectors of these catalogue rows under the configured model (zeros for a text not embedded)."""
        hashes = [self.catalogue.text_hash[row] for row in rows.tolist()]
        return self.evidence.store.cached_matrix(hashes, self.evidence.settings.embedding_model)

    def _semantic(self, vector: np.ndarray, depth: int, where: SearchFilter, mask: np.ndarray) -> list[str]:
        if self.short_lived or where.needs_catalogue or self._vectors is not None:
            # filters the index cannot see, a warm searcher or a one-shot one: exact over the cached vectors
            return self._semantic_exact(vector, depth, mask)
        fetch = depth
        position = self.catalogue.position
        kept: list[str] = []
        for _ in range(3):
            hits = self.evidence.index.query(vector, fetch, where.index_where())
            kept = [h.id for h in hits if h.id in position and mask[position[h.id]]]
            if len(kept) >= depth or len(hits) < fetch:
                return kept[:depth]
            fetch *= 4
        return kept[:depth]

    def _semantic_exact(self, vector: np.ndarray, depth: int, mask: np.ndarray) -> list[str]:
        """Exact nearest neighbours among the ids the catalogue lets through (driver, theme, group filters).

        Such filters are invisible to the vector index, so over-fetching from
        it could need most of the index; a matrix product over the masked
        cached vectors is exact and takes milliseconds at 100k. A one-shot
        searcher scores the masked rows' vectors batch by batch as they are
        read, never holding them all. A text without a vector (not embedded
        yet) is not found by meaning, as in the index.
        """
        rows = np.flatnonzero(mask)
        query = np.asarray(vector, dtype=np.float32)
        scores = np.full(len(rows), -np.inf, dtype=np.float32)
        if self.short_lived and self._vectors is None:
            hashes = [self.catalogue.text_hash[row] for row in rows.tolist()]
            model = self.evidence.settings.embedding_model
            for found, vectors in self.evidence.store.cached_batches(hashes, model):
                scores[found] = vectors @ query
        else:
            vectors = self._catalogue_vectors()[rows]
            if vectors.shape[1]:
                scores = np.where(vectors.any(axis=1), vectors @ query, -np.inf).astype(np.float32)
        embedded = np.isfinite(scores)
        rows, scores = rows[embedded], scores[embedded]
        top = min(depth, len(rows))
        if not top:
            return []
        best = np.argpartition(-scores, top - 1)[:top]
        best = best[np.argsort(-scores[best])]
        return [self.catalogue.ids[rows[i]] for i in best]

    def _lexical_hits(self, tokens: Sequence[str], depth: int, mask: np.ndarray) -> list[str]:
        allowed = None if mask.all() else {self.catalogue.ids[i] for i in np.flatnonzero(mask)}
        return [tid for tid, _ in self._lexical.search(tokens, depth, allowed)]

    def _fuse(self, semantic: Sequence[str], lexical: Sequence[str]) -> list[tuple[str, float]]:
        scores: dict[str, float] = {}
        for rank, tid in enumerate(semantic, start=1):
            scores[tid] = scores.get(tid, 0.0) + 1.0 / (RRF_K + rank)
        for rank, tid in enumerate(lexical, start=1):
            scores[tid] = scores.get(tid, 0.0) + self.lexical_weight / (RRF_K + rank)
        return sorted(scores.items(), key=lambda kv: -kv[1])

    def _result(self, record: TestimonyRecord, score: float, semantic: Sequence[str], lexical: Sequence[str],
                theme: tuple[int | None, tuple[str, ...]]) -> SearchResult:
        theme_id, drivers = theme
        return SearchResult.of(
            record,
            round(score, 5),
            drivers=list(drivers) or list(record.self_drivers),
            theme_id=theme_id,
            semantic_rank=semantic.index(record.id) + 1 if record.id in semantic else None,
            lexical_rank=lexical.index(record.id) + 1 if record.id in lexical else None,
        )


def relevance(score: float, mode: str, lexical_weight: float = 1.0) -> int:
    """A fused (reciprocal rank) score as a share of the best possible in ``mode``, from 0 to 100.

    The best is a result ranked first by every list the mode fuses: 1/(k+1) from the semantic list and
    ``lexical_weight``/(k+1) from the lexical one (k = ``RRF_K``). It ranks one search's results; it is no
    absolute measure. ``lnob search`` and the bot's ``/search`` show it.
    """
    weights = {"hybrid": 1.0 + lexical_weight, "semantic": 1.0, "lexical": lexical_weight}
    best = weights[mode] / (RRF_K + 1)
    return max(0, min(100, round(100 * score / best)))


def aggregate_only(searcher: Searcher, where: SearchFilter, small_cell: int) -> str | None:
    """How many contributions pass ``where`` whose authors allowed aggregate use only, when ``where``
    leaves none that may be quoted (else None): only "<5" or "≥5" (for ``small_cell`` 5), never the
    number, since a mix of search filters could land on a cell that another view hides."""
    from analysis.counting import count_of

    catalogue = searcher.catalogue
    if catalogue.mask(where).any():
        return None
    everyone = copy.copy(catalogue)  # the same catalogue with every row quotable: its mask is the filter alone
    everyone.quotable = np.ones_like(catalogue.quotable)
    unquotable = catalogue.contributions(np.flatnonzero(everyone.mask(where) & ~catalogue.consented).tolist())
    if not unquotable:
        return None
    return f"<{small_cell}" if count_of(unquotable).is_small(small_cell) else f"≥{small_cell}"


def lexical_index(evidence: EvidenceBase, catalogue: TestimonyTable, processor: TextProcessor, *,
                  save: bool = False) -> LexicalIndex:
    """The BM25 index of the catalogued testimonies: the saved one (``corpus.lexicon``) when it was built from
    this very corpus (``lexical_fingerprint``), else one built from their tokens (``corpus_tokens``),
    then saved when ``save`` (a short-lived searcher: the bot rebuilds too often to write each one)."""
    lexicon = evidence.stores.lexicon
    fingerprint = lexical_fingerprint(catalogue)
    saved = lexicon.index(fingerprint)
    if saved is not None:
        return LexicalIndex.from_bytes(catalogue.ids, saved)
    index = LexicalIndex().fit(catalogue.ids, corpus_tokens(evidence, catalogue, processor))
    if save:
        lexicon.save_index(fingerprint, index.to_bytes(), len(catalogue))
    return index


def lexical_fingerprint(catalogue: TestimonyTable) -> str:
    """What a BM25 index is built from: every testimony's id, text hash and language in catalogue order,
    and the tokenizer's version (SHA-256 over each column joined by a control character, which no id, hash
    or language code holds)."""
    digest = hashlib.sha256(tokenizer_version().encode())
    for column in (catalogue.ids, catalogue.text_hash, catalogue.language.tolist()):
        digest.update(b"\x00" + "\x1f".join(column).encode())
    return digest.hexdigest()


def corpus_tokens(evidence: EvidenceBase, catalogue: TestimonyTable, processor: TextProcessor) -> list[list[str]]:
    """Each catalogued testimony's search tokens: those saved (``corpus.lexicon``) while they still match its
    redacted text, its language and the tokenizer's version; the others are made now and saved.

    So a search tokenises only what changed since the last one (nothing, usually) and loads the
    language pipelines of those texts only. The tokens are those ``processor`` makes of the text,
    saved or not, so search finds exactly what it would over freshly made tokens. Should saving fail
    (``Lexicon.save``: a database busy for too long), the search goes on with the tokens just made.
    """
    version = tokenizer_version()
    saved = evidence.stores.lexicon.all()
    languages = [code or None for code in catalogue.language.tolist()]
    tokens: list[list[str]] = []
    stale: list[int] = []
    for position, (tid, digest, language) in enumerate(zip(catalogue.ids, catalogue.text_hash, languages)):
        row = saved.get(tid)
        if row is not None and row.matches(digest, language, version):
            tokens.append(list(row.tokens))
        else:
            tokens.append([])
            stale.append(position)
    if stale:
        records = catalogue.records_of([catalogue.ids[p] for p in stale])
        stale = [p for p in stale if catalogue.ids[p] in records]  # erased since the catalogue was read: no tokens
        made = processor.tokens_many([records[catalogue.ids[p]].text for p in stale], [languages[p] for p in stale])
        for position, words in zip(stale, made):
            tokens[position] = words
        evidence.stores.lexicon.save([
            SavedTokens(catalogue.ids[p], catalogue.text_hash[p], languages[p], version, tuple(words))
            for p, words in zip(stale, made)
        ])
    return tokens


def bridge_vocabulary(document_frequency: dict[str, int]) -> list[str]:
    """The corpus words a query word may be bridged to: those in at least two texts, most frequent first."""
    frequent = sorted((w for w, n in document_frequency.items() if n >= 2), key=lambda w: (-document_frequency[w], w))
    return frequent[:MAX_BRIDGE_WORDS]


def prepare_word_bridges(evidence: EvidenceBase, tokens: Sequence[Sequence[str]]) -> int:
    """Encode (and cache) the vectors of the corpus words searches bridge to, so that no search pays for it.

    ``lnob analyse`` calls this with the tokens it already has; returns how many words there are.
    """
    words = bridge_vocabulary(document_frequencies(tokens))
    evidence.embedder.encode_terms(words)
    return len(words)


def document_frequencies(tokens: Sequence[Sequence[str]]) -> dict[str, int]:
    """In how many token lists each word occurs."""
    frequency: dict[str, int] = {}
    for words in tokens:
        for word in set(words):
            frequency[word] = frequency.get(word, 0) + 1
    return frequency


def semantic_search(evidence: EvidenceBase, query: str, k: int = 10, where: SearchFilter | None = None) -> list[SearchResult]:
    """The ``k`` quotes nearest in meaning to ``query`` (no BM25 index is built)."""
    hits = evidence.index.query(evidence.query_vector(query), k, (where or SearchFilter()).index_where())
    records = {r.id: r for r in evidence.store.records([h.id for h in hits])}
    return [
        SearchResult.of(r, round(h.score, 4))
        for h in hits
        if (r := records.get(h.id)) is not None and r.quotable
    ]
