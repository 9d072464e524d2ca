"""Finding evidence: semantic search over the vector index, with filters.

Results are quotes: only testimonies whose contributor agreed to be quoted,
always the redacted text, each with its score and provenance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from analysis.evidence import EvidenceBase
from analysis.index import date_key


@dataclass
class SearchFilter:
    """Restrictions on a search; ``None`` means any."""

    country: str | None = None
    organisation: str | None = None
    kind: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def index_where(self) -> dict:
        """The filter as vector-index metadata conditions (quote consent always required)."""
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


@dataclass
class SearchResult:
    """One quote found: redacted text, score and provenance."""

    id: str
    score: float
    text: str
    kind: str
    country: str | None
    organisation: str | None
    language: str | None
    date: str
    drivers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def semantic_search(evidence: EvidenceBase, query: str, k: int = 10, where: SearchFilter | None = None) -> list[SearchResult]:
    """The ``k`` quotes nearest in meaning to ``query`` that pass ``where``."""
    hits = evidence.index.query(evidence.query_vector(query), k, (where or SearchFilter()).index_where())
    records = {r.id: r for r in evidence.store.records([h.id for h in hits])}
    results = []
    for hit in hits:
        record = records.get(hit.id)
        if record is None or not record.quotable:
            continue
        results.append(
            SearchResult(
                id=record.id,
                score=round(hit.score, 4),
                text=record.text,
                kind=record.kind,
                country=record.country,
                organisation=record.organisation,
                language=record.language,
                date=record.created_at.date().isoformat(),
                drivers=list(record.self_drivers),
            )
        )
    return results
