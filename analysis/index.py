"""The vector index: a Chroma collection derived from the corpus database.

Embedded (``PersistentClient`` in the data dir) by default, a Chroma server
(``HttpClient``) when ``LNOB_CHROMA_URL`` is set. We always pass our own
vectors, so the collection has no embedding function (Chroma's default one
would try to download a model). The space is cosine.

Filtered queries: a Chroma ``where`` filter costs 200-500 ms at 100k vectors
whatever its selectivity (it scans the metadata), against ~15 ms unfiltered.
So a filtered query first over-fetches from the unfiltered HNSW search and
filters the candidates' metadata in Python, sizing a second fetch from the
share that matched. A filter too rare for that (about 1% or less) is answered
exactly from the ids that match it, which ``candidates`` (the corpus database,
through its indexed columns) supplies, and only without it by Chroma's
``where``. ``bench/bench_search.py`` measures every path.
"""

from __future__ import annotations

import logging
import math
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from corpus.settings import Settings
from corpus.store import TestimonyRecord

log = logging.getLogger(__name__)

RESIDUE_KEY = "lnob_erased_since_rebuild"  # collection metadata: deleted vectors Chroma's files may still hold
MODEL_KEY = "lnob_embedding_model"  # collection metadata: the model whose vectors the collection holds
CHROMA_DATABASE = "chroma.sqlite3"  # an embedded index's own database (and its -wal, -shm), beside segment folders


class IndexUnavailable(RuntimeError):
    """The Chroma index (embedded folder or server) cannot be opened or reached."""


class _Reopening:
    """A Chroma collection that reopens itself by name when another process rebuilt it.

    ``lnob reindex`` drops and recreates the collection; a running bot still
    holds the old one, whose every call then fails with ``NotFoundError``.
    Such a call reopens the collection and is tried once more, so the bot goes
    on (searching what the rebuild has added so far) without a restart.
    """

    def __init__(self, open_collection: Callable[[], object]) -> None:
        from chromadb.errors import NotFoundError

        self._open = open_collection
        self._missing = NotFoundError
        self._collection = open_collection()

    def __getattr__(self, name: str):
        attribute = getattr(self._collection, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            try:
                return getattr(self._collection, name)(*args, **kwargs)
            except self._missing:
                log.info("the Chroma collection was rebuilt elsewhere; reopening it")
                self._collection = self._open()
                return getattr(self._collection, name)(*args, **kwargs)

        return call


@dataclass(frozen=True)
class Hit:
    """One nearest neighbour: testimony id, cosine similarity and its index metadata."""

    id: str
    score: float
    metadata: dict


def metadata_for(record: TestimonyRecord) -> dict:
    """Index metadata for filtering: Chroma metadata values cannot be None, so absent ones are omitted."""
    values = {
        "kind": record.kind,
        "country": record.country,
        "organisation": record.organisation,
        "language": record.language,
        "consent": record.consent_level,
        "date": int(record.created_at.strftime("%Y%m%d")),
    }
    return {k: v for k, v in values.items() if v is not None}


def matches(metadata: dict, where: dict) -> bool:
    """Whether index metadata satisfies a filter of equalities and ``date`` bounds."""
    for key, wanted in where.items():
        if key == "date_from":
            if metadata.get("date", 0) < wanted:
                return False
        elif key == "date_to":
            if metadata.get("date", 99999999) > wanted:
                return False
        elif metadata.get(key) != wanted:
            return False
    return True


def chroma_where(where: dict) -> dict | None:
    """The same filter in Chroma's ``where`` syntax."""
    clauses = []
    for key, wanted in where.items():
        if key == "date_from":
            clauses.append({"date": {"$gte": wanted}})
        elif key == "date_to":
            clauses.append({"date": {"$lte": wanted}})
        else:
            clauses.append({key: {"$eq": wanted}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _is_segment_id(name: str) -> bool:
    """Whether a folder name is a segment id (a UUID), as Chroma names segment folders."""
    try:
        return str(uuid.UUID(name)) == name.lower()
    except ValueError:
        return False


def date_key(value: datetime) -> int:
    """The ``date`` metadata value of a datetime (YYYYMMDD as an integer)."""
    return int(value.strftime("%Y%m%d"))


class VectorIndex:
    """Add, update, delete and query testimony vectors by testimony id."""

    def __init__(
        self,
        settings: Settings,
        *,
        overfetch: int = 8,
        max_rounds: int = 3,
        max_fetch: int = 1000,
        max_exact: int = 2000,
        candidates: Callable[[dict], Sequence[str] | None] | None = None,
    ) -> None:
        self.settings = settings
        self.overfetch = overfetch
        self.max_rounds = max_rounds
        self.max_fetch = max_fetch  # beyond this many over-fetched hits, reading their metadata costs more than the exact path
        self.max_exact = max_exact  # up to this many candidate ids are scored exactly, more go to HNSW
        self.candidates = candidates  # where -> the ids that satisfy it (None: cannot tell)
        self.client = self._client(settings)
        try:
            self.collection = _Reopening(self._open)
        except Exception as exc:
            raise IndexUnavailable(f"cannot open the Chroma collection {settings.chroma_collection!r}: {exc}") from exc

    def _open(self):
        return self.client.get_or_create_collection(
            self.settings.chroma_collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={MODEL_KEY: self.settings.embedding_model},
        )

    @staticmethod
    def _client(settings: Settings):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise IndexUnavailable(f"LNOB_CHROMA_URL {settings.chroma_url!r} is not like http://127.0.0.1:8000")
            try:
                return chromadb.HttpClient(
                    host=url.hostname,
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            except Exception as exc:
                raise IndexUnavailable(
                    f"cannot reach the Chroma server at {settings.chroma_url}: {exc}. Is `chroma run` started?"
                ) from exc
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)

    # -- writing --------------------------------------------------------------------

    def upsert(self, records: Sequence[TestimonyRecord], vectors: np.ndarray) -> None:
        """Add or replace the vectors of these testimonies (in batches Chroma accepts).

        Refuses (``IndexUnavailable``) while the index holds another model's
        vectors: mixing two models' vectors in one index would make every
        similarity meaningless. ``lnob reindex`` rebuilds it with the current model.
        """
        if not records:
            return
        other = self.other_model()
        if other is not None:
            raise IndexUnavailable(
                f"the index holds vectors of the model {other!r}, not {self.settings.embedding_model!r}: run `lnob reindex`"
            )
        batch = max(1, min(5000, self.client.get_max_batch_size()))
        for start in range(0, len(records), batch):
            chunk = records[start : start + batch]
            self.collection.upsert(
                ids=[r.id for r in chunk],
                embeddings=np.asarray(vectors[start : start + batch], dtype=np.float32),
                metadatas=[metadata_for(r) for r in chunk],
            )

    def update_metadata(self, records: Sequence[TestimonyRecord]) -> None:
        """Refresh metadata (e.g. after a consent change) without touching vectors."""
        if records:
            self.collection.update(ids=[r.id for r in records], metadatas=[metadata_for(r) for r in records])

    def delete(self, ids: Sequence[str]) -> int:
        """Remove these testimonies from the index (absent ids are ignored); returns how many it held.

        A deleted vector is gone from every query and ``get`` at once, but
        Chroma's files keep its bytes for a while (its write-ahead log until the
        segment is next persisted, the HNSW graph's storage until a rebuild). The
        collection's metadata counts such vectors (``RESIDUE_KEY``) until
        :meth:`reset`, which ``lnob reindex`` calls, drops them for good.
        """
        ids, held = list(ids), 0
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            held += len(self.collection.get(ids=chunk, include=[])["ids"])
            self.collection.delete(ids=chunk)
        if held:
            self._set_residue(self.residue() + held)
        return held

    def model(self) -> str | None:
        """The model whose vectors the collection holds (None: an index made before models were recorded)."""
        metadata = self.client.get_collection(self.settings.chroma_collection).metadata or {}
        return metadata.get(MODEL_KEY)

    def other_model(self) -> str | None:
        """The model of the vectors held, when they are not the configured model's (an unrecorded one counts)."""
        if self.count() == 0:
            return None
        held = self.model()
        return None if held == self.settings.embedding_model else (held or "an unrecorded model")

    def residue(self) -> int:
        """How many deleted vectors Chroma's files may still hold (until the next :meth:`reset`)."""
        metadata = self.client.get_collection(self.settings.chroma_collection).metadata or {}
        return int(metadata.get(RESIDUE_KEY, 0))

    def _set_residue(self, count: int) -> None:
        metadata = dict(self.client.get_collection(self.settings.chroma_collection).metadata or {})
        metadata[RESIDUE_KEY] = count
        self.collection.modify(metadata=metadata)

    def reset(self) -> None:
        """Drop and recreate the collection (before a full rebuild), and delete the files it no longer uses.

        Chroma leaves a dropped collection's vector segment folder on disk, with
        every vector it held, erased ones included; :meth:`remove_stale_files`
        deletes such folders.
        """
        self.client.delete_collection(self.settings.chroma_collection)
        self.collection = _Reopening(self._open)
        self.remove_stale_files()

    # -- files of the embedded index --------------------------------------------------

    def stale_files(self) -> list[Path] | None:
        """Every file under the embedded index's folder that no live segment uses, or None when that
        cannot be told (a Chroma server, whose files are not ours, or a database Chroma changed).

        An embedded index is ``chroma.sqlite3`` (with its ``-wal`` and ``-shm``)
        and one folder per vector segment, named by the segment's id in that
        database's ``segments`` table. Anything else, above all the folder of a
        segment no collection uses any more, is stale and may hold erased
        vectors (an empty stale folder counts as one).
        """
        if self.settings.chroma_url:
            return None
        root = self._embedded_root()
        if root is None:
            return []
        live = self._live_segments(root)
        if live is None:
            return None
        stale: list[Path] = []
        for entry in sorted(root.iterdir()):
            if entry.is_dir() and entry.name not in live:
                stale += sorted(p for p in entry.rglob("*") if not p.is_dir()) or [entry]
            elif not entry.is_dir() and not entry.name.startswith(CHROMA_DATABASE):
                stale.append(entry)
        return stale

    def remove_stale_files(self) -> int:
        """Delete the segment folders no collection uses (see :meth:`stale_files`); returns how many.

        Only folders named like a segment id are deleted; any other stray file
        is left for a person to look at (``lnob doctor`` lists it).
        """
        root = self._embedded_root()
        live = self._live_segments(root) if root is not None else None
        if root is None or live is None:
            return 0
        removed = 0
        for entry in root.iterdir():
            if entry.is_dir() and entry.name not in live and _is_segment_id(entry.name):
                shutil.rmtree(entry)
                removed += 1
        if removed:
            log.info("removed %d index folders no collection uses", removed)
        return removed

    def _embedded_root(self) -> Path | None:
        if self.settings.chroma_url:
            return None
        root = Path(self.settings.chroma_path)
        return root if (root / CHROMA_DATABASE).is_file() else None

    @staticmethod
    def _live_segments(root: Path) -> set[str] | None:
        """Ids of every segment of every collection in an embedded index, or None when they cannot be read."""
        try:
            uri = f"{(root / CHROMA_DATABASE).as_uri()}?mode=ro"
            with closing(sqlite3.connect(uri, uri=True, timeout=30)) as database:
                return {str(row[0]) for row in database.execute("SELECT id FROM segments")}
        except sqlite3.Error as exc:
            log.warning("cannot read the index's segments (%s); no index file is judged stale", exc.__class__.__name__)
            return None

    # -- reading --------------------------------------------------------------------

    def count(self) -> int:
        """How many vectors the index holds."""
        return int(self.collection.count())

    def ids(self) -> set[str]:
        """Every id in the index (paged, so large indexes do not load vectors)."""
        found: set[str] = set()
        offset, page = 0, 10000
        while True:
            result = self.collection.get(include=[], limit=page, offset=offset)
            found.update(result["ids"])
            if len(result["ids"]) < page:
                return found
            offset += page

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of these ids."""
        found: dict[str, np.ndarray] = {}
        ids = list(ids)
        for start in range(0, len(ids), 5000):
            result = self.collection.get(ids=ids[start : start + 5000], include=["embeddings"])
            for key, vector in zip(result["ids"], result["embeddings"]):
                found[key] = np.asarray(vector, dtype=np.float32)
        return found

    def query(self, vector: np.ndarray, k: int = 10, where: dict | None = None) -> list[Hit]:
        """The ``k`` nearest testimonies to ``vector`` that satisfy ``where``, best first."""
        if k <= 0:
            return []
        if not where:
            return self._query(vector, k, None)
        limit = max(self.max_fetch, 2 * k)
        fetch = min(k * self.overfetch, limit)
        for _ in range(self.max_rounds):
            found = self._query(vector, fetch, None)
            hits = [h for h in found if matches(h.metadata, where)]
            if len(hits) >= k or len(found) < fetch:  # enough, or the whole index was searched
                return hits[:k]
            share = max(len(hits), 0.5) / len(found)
            fetch = max(2 * fetch, math.ceil(1.5 * k / share))  # enough for k, had the share held
            if fetch > limit:
                break
        return self._exact(vector, k, where)

    def _exact(self, vector: np.ndarray, k: int, where: dict) -> list[Hit]:
        """A rare filter: score the ids that satisfy it (exactly, when few), else let Chroma apply ``where``."""
        if self.candidates is not None:
            try:
                ids = self.candidates(where)
                if ids is not None and len(ids) <= self.max_exact:
                    return self._scan(vector, k, list(ids), where)
                if ids is not None:
                    return [h for h in self._query(vector, k, None, ids=list(ids)) if matches(h.metadata, where)]
            except Exception as exc:  # e.g. an id the index lacks (see `lnob doctor`): Chroma's where still works
                log.debug("candidate ids unusable (%s); using Chroma where", exc.__class__.__name__)
        log.debug("filter too selective for over-fetch; using Chroma where")
        return self._query(vector, k, chroma_where(where))

    def _scan(self, vector: np.ndarray, k: int, ids: list[str], where: dict) -> list[Hit]:
        """Brute force over these ids' stored vectors (HNSW with a small allow-list misses neighbours).

        Ids the index lacks are skipped; the winners' metadata is read and checked last, so a stale
        candidate is dropped rather than returned.
        """
        found_ids, vectors = [], []
        for start in range(0, len(ids), 5000):
            result = self.collection.get(ids=ids[start : start + 5000], include=["embeddings"])
            found_ids += result["ids"]
            vectors += list(result["embeddings"])
        if not found_ids:
            return []
        matrix = np.asarray(vectors, dtype=np.float32)
        query = np.asarray(vector, dtype=np.float32)
        scores = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query) + 1e-12)
        hits: list[Hit] = []
        order = np.argsort(-scores, kind="stable")
        for start in range(0, len(order), 2 * k):
            best = [found_ids[i] for i in order[start : start + 2 * k]]
            result = self.collection.get(ids=best, include=["metadatas"])
            metadata = {i: m or {} for i, m in zip(result["ids"], result["metadatas"])}
            for i in order[start : start + 2 * k]:
                if matches(metadata.get(found_ids[i], {}), where):
                    hits.append(Hit(id=found_ids[i], score=float(scores[i]), metadata=metadata[found_ids[i]]))
                    if len(hits) == k:
                        return hits
        return hits

    def _query(self, vector: np.ndarray, n: int, where: dict | None, ids: list[str] | None = None) -> list[Hit]:
        result = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=n,
            where=where,
            include=["distances", "metadatas"],
            **({"ids": ids} if ids is not None else {}),
        )
        return [
            Hit(id=i, score=1.0 - float(d), metadata=m or {})
            for i, d, m in zip(result["ids"][0], result["distances"][0], result["metadatas"][0])
        ]
