"""The embedding cache: each text's vector per model, keyed by the hash of its redacted text.

Embedding is the slow part of indexing; a rebuilt index, a re-analysis or a
switch back to an earlier model reads the vectors here instead. An erased
text's vector goes with it (``corpus.deletion``) unless another text has the same hash.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import insert
from sqlmodel import select

from corpus.db import EngineStore, session_scope
from corpus.models import Embedding, utcnow


class EmbeddingCache(EngineStore):
    """The embedding-cache side of ``CorpusStore``."""

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
