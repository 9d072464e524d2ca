"""Finding evidence: hybrid search (BM25 over words + semantic), fused by rank, with filters, across languages.

Results are quotes: only testimonies whose contributor agreed to be quoted,
always the redacted text, each with its scores and provenance.

The semantic side asks the vector index (with the filters it can apply:
country, organisation, kind, language, dates, consent) and post-filters the
candidates on the rest (driver, theme, group) from an in-memory catalogue of
the corpus; the lexical side searches a BM25 index restricted to the ids the
catalogue lets through. Reciprocal rank fusion (RRF) combines the two lists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np

from corpus.language import detect
from corpus.errors import InvalidText
from corpus.store import TestimonyRecord
from corpus.validation import parse_country, parse_date_bound, parse_language
from corpus.vocabulary import GROUPS, SEARCH_MODES

from analysis.evidence import EvidenceBase
from analysis.index import date_key
from analysis.lexical import LexicalIndex
from analysis.text import TextProcessor

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


class TestimonyTable:
    """The search catalogue: every testimony's record, and its metadata held in arrays, so any filter is a fast
    boolean mask."""

    def __init__(self, evidence: EvidenceBase) -> None:
        records = evidence.store.records()
        assignments = evidence.themes.assignments()
        self.records = {r.id: r for r in records}
        self.ids = [r.id for r in records]
        self.position = {tid: i for i, tid in enumerate(self.ids)}
        n = len(records)
        self.country = np.array([r.country or "" for r in records], dtype=object)
        self.organisation = np.array([r.organisation or "" for r in records], dtype=object)
        self.kind = np.array([r.kind for r in records], dtype=object)
        self.language = np.array([r.language or "" for r in records], dtype=object)
        self.date = np.array([date_key(r.created_at) for r in records], dtype=np.int64)
        hidden = evidence.stores.curation.hidden()
        self.quotable = np.array([r.quotable and r.id not in hidden for r in records], dtype=bool)
        self.theme = np.full(n, -1, dtype=np.int64)
        self.drivers: list[tuple[str, ...]] = [()] * n
        for i, record in enumerate(records):
            assignment = assignments.get(record.id)
            if assignment is not None:
                self.theme[i] = assignment.theme_id if assignment.theme_id is not None else -1
                model_drivers = [assignment.primary_driver] + list(assignment.intersecting_drivers or [])
                self.drivers[i] = tuple(d for d in model_drivers if d)
        self.groups = [set(r.groups) for r in records]

    def __len__(self) -> int:
        return len(self.ids)

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


class Searcher:
    """Hybrid, semantic or lexical search over the evidence base.

    Build once per process and reuse: the catalogue and BM25 index are built
    on first use and rebuilt by ``refresh()`` when the corpus or the themes
    changed (the bot calls it after contributions and analyses).
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
        self._catalogue: TestimonyTable | None = None
        self._lexical: LexicalIndex | None = None
        self._languages: list[str] = ["en"]
        self._vectors: np.ndarray | None = None
        self._tokens: dict[str, list[str]] = {}
        self._document_frequency: dict[str, int] = {}
        self._bridge_words: list[str] = []
        self._bridge_languages: np.ndarray = np.zeros(0, dtype=object)
        self._word_languages: dict[str, dict[str, int]] = {}
        self._bridge_vectors: np.ndarray | None = None

    def refresh(self) -> None:
        """Rebuild the catalogue and the BM25 index from the database."""
        catalogue = TestimonyTable(self.evidence)
        records = [catalogue.records[i] for i in catalogue.ids]
        tokens = self.processor.tokens_many([r.text for r in records], [r.language for r in records])
        self._lexical = LexicalIndex().fit(catalogue.ids, tokens)
        by_count = Counter(r.language or "en" for r in records)
        self._languages = [code for code, _ in by_count.most_common()] or ["en"]  # the main language first
        self._tokens = dict(zip(catalogue.ids, tokens))
        self._word_languages = word_languages(tokens, [r.language or "" for r in records])
        self._document_frequency = {word: sum(counts.values()) for word, counts in self._word_languages.items()}
        self._bridge_words = bridge_vocabulary(self._document_frequency)
        self._bridge_languages = np.array(
            [max(self._word_languages[w].items(), key=lambda item: item[1])[0] for w in self._bridge_words], dtype=object
        )
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
        fused = self._fuse(semantic, lexical)
        return [self._result(tid, score, semantic, lexical) for tid, score in fused[:k]]

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
            own = [code for code, n in self._word_languages.get(word, {}).items() if n >= 2]
            row = np.where(np.isin(self._bridge_languages, own), -np.inf, row) if own else row
            best = np.argsort(-row)[:BRIDGES_PER_WORD]
            found += [self._bridge_words[i] for i in best if row[i] >= threshold]
        return list(dict.fromkeys(found))

    def _feedback_terms(self, top: Sequence[str]) -> list[str]:
        """The most distinctive words shared by at least two of the ``top`` hits (document frequency x idf)."""
        counts: dict[str, int] = {}
        for tid in top:
            for word in set(self._tokens.get(tid, ())):
                counts[word] = counts.get(word, 0) + 1
        n = max(len(self._tokens), 1)
        scored = {w: c * np.log(n / self._document_frequency.get(w, 1)) for w, c in counts.items() if c >= 2}
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
            records = [self.catalogue.records[i] for i in self.catalogue.ids]
            model = self.evidence.settings.embedding_model
            cached = self.evidence.store.cached_embeddings({r.text_hash for r in records}, model)
            dim = len(next(iter(cached.values()))) if cached else 0
            matrix = np.zeros((len(records), dim), dtype=np.float32)
            for row, record in enumerate(records):
                if record.text_hash in cached:
                    matrix[row] = cached[record.text_hash]
            self._vectors = matrix
        return self._vectors

    def _semantic(self, vector: np.ndarray, depth: int, where: SearchFilter, mask: np.ndarray) -> list[str]:
        if where.needs_catalogue or self._vectors is not None:
            # filters the index cannot see, or a warm searcher: exact over the cached vectors
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
        cached vectors is exact and takes milliseconds at 100k.
        """
        vectors = self._catalogue_vectors()
        rows = np.flatnonzero(mask)
        if not len(rows) or not vectors.shape[1]:
            return []
        scores = vectors[rows] @ np.asarray(vector, dtype=np.float32)
        top = min(depth, len(rows))
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

    def _result(self, tid: str, score: float, semantic: Sequence[str], lexical: Sequence[str]) -> SearchResult:
        record = self.catalogue.records[tid]
        position = self.catalogue.position[tid]
        theme = int(self.catalogue.theme[position])
        return SearchResult.of(
            record,
            round(score, 5),
            drivers=list(self.catalogue.drivers[position]) or list(record.self_drivers),
            theme_id=theme if theme >= 0 else None,
            semantic_rank=semantic.index(tid) + 1 if tid in semantic else None,
            lexical_rank=lexical.index(tid) + 1 if tid in lexical else None,
        )


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


def word_languages(tokens: Sequence[Sequence[str]], languages: Sequence[str]) -> dict[str, dict[str, int]]:
    """For each word, in how many texts of each language it occurs."""
    found: dict[str, dict[str, int]] = {}
    for words, language in zip(tokens, languages):
        for word in set(words):
            counts = found.setdefault(word, {})
            counts[language] = counts.get(language, 0) + 1
    return found


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
