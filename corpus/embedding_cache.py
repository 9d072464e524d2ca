"""The embedding cache: each text's vector per model, keyed by the hash of its redacted text.

Embedding is the slow part of indexing; a rebuilt index, a re-analysis or a
switch back to an earlier model reads the vectors here instead. An erased
text's vector goes with it (``corpus.deletion``) unless another text has the same hash.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

import numpy as np
from sqlalchemy import func, insert
from sqlmodel import select

from corpus.db import EngineStore, session_scope
from corpus.models import Embedding, utcnow

WHOLE_READ_FROM = 5_000  # from this many hashes asked, all the model's vectors may be read at once


class EmbeddingCache(EngineStore):
    """The embedding-cache side of ``CorpusStore``."""

    def cached_embeddings(self, hashes: set[str], model: str) -> dict[str, np.ndarray]:
        """Cached vectors for the given text hashes under ``model``."""
        return {digest: np.frombuffer(vector, dtype=np.float32) for digest, vector in self._vectors(hashes, model)}

    def cached_matrix(self, hashes: Sequence[str], model: str) -> np.ndarray:
        """The cached vectors of these text hashes under ``model`` as one matrix, a row per hash in their order,
        zeros where none is cached (no columns when none is)."""
        matrix: np.ndarray | None = None
        for rows, vectors in self.cached_batches(hashes, model):
            if matrix is None:
                matrix = np.zeros((len(hashes), vectors.shape[1]), dtype=np.float32)
            matrix[rows] = vectors
        return matrix if matrix is not None else np.zeros((len(hashes), 0), dtype=np.float32)

    def cached_batches(self, hashes: Sequence[str], model: str, size: int = 4096) -> Iterator[tuple[list[int], np.ndarray]]:
        """The cached vectors of these text hashes under ``model``, a batch of about ``size`` at a time: the
        positions in ``hashes`` and their vectors, one row each. Read as they come, so that a caller that
        scores them need never hold a whole corpus's vectors (at 100,000, 150 MB)."""
        rows_of: dict[str, list[int]] = {}
        for row, digest in enumerate(hashes):
            rows_of.setdefault(digest, []).append(row)
        rows: list[int] = []
        vectors: list[bytes] = []
        for digest, vector in self._vectors(rows_of, model):
            for row in rows_of[digest]:  # texts alike share a hash, and a vector
                rows.append(row)
                vectors.append(vector)
            if len(rows) >= size:
                yield rows, np.frombuffer(b"".join(vectors), dtype=np.float32).reshape(len(rows), -1)
                rows, vectors = [], []
        if rows:
            yield rows, np.frombuffer(b"".join(vectors), dtype=np.float32).reshape(len(rows), -1)

    def _vectors(self, hashes: Collection[str], model: str) -> Iterator[tuple[str, bytes]]:
        """(hash, vector bytes) of the given hashes cached under ``model``, as they are read.

        Read as two columns, not ORM objects, 500 hashes a query; when they are
        most of the model's vectors (a search over a whole corpus), all of the
        model's are read in one query instead: at 100,000 a third of the time.
        """
        columns = select(Embedding.text_hash, Embedding.vector).where(Embedding.model == model)
        with self.engine.connect() as connection:
            if len(hashes) > WHOLE_READ_FROM and 2 * len(hashes) >= self._vector_count(connection, model):
                yield from ((d, v) for d, v in connection.execute(columns) if d in hashes)
                return
            wanted = list(hashes)
            for start in range(0, len(wanted), 500):
                yield from connection.execute(columns.where(Embedding.text_hash.in_(wanted[start : start + 500])))

    @staticmethod
    def _vector_count(connection, model: str) -> int:
        """How many vectors are cached under ``model``."""
        return int(connection.execute(select(func.count()).select_from(Embedding).where(Embedding.model == model)).scalar())

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
