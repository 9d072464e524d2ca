"""Representative quotes: central, diverse, consented, de-identified, with provenance.

Selection is maximal marginal relevance (MMR): each next quote is the one
most similar to the theme's centre and least similar to the quotes already
chosen. Near-duplicates are never shown twice, only testimonies whose
contributor agreed to be quoted are eligible, and the text is always the
redacted one. ``balance_by`` takes quotes in turn from each country (or
gender, age band, group, organisation) so one voice does not drown the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from corpus.store import TestimonyRecord
from corpus.textkey import normalise_text

BALANCE_FIELDS = ("country", "organisation", "gender", "age_band", "group", "language", "kind")


@dataclass
class Quote:
    """A quote ready for a report: redacted text and where it came from."""

    id: str
    text: str
    date: str
    country: str | None
    region: str | None
    organisation: str | None
    kind: str
    language: str | None
    drivers: list[str] = field(default_factory=list)
    theme_id: int | None = None
    score: float = 0.0
    pinned: bool = False

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def quote_of(record: TestimonyRecord, score: float, drivers: Sequence[str] = (), theme_id: int | None = None) -> Quote:
    """The quote view of a stored testimony (its redacted text only)."""
    return Quote(
        id=record.id,
        text=record.text,
        date=record.created_at.date().isoformat(),
        country=record.country,
        region=record.region,
        organisation=record.organisation,
        kind=record.kind,
        language=record.language,
        drivers=list(drivers),
        theme_id=theme_id,
        score=round(float(score), 4),
    )


def balance_key(record: TestimonyRecord, by: str) -> str:
    """The value a record is balanced on (its first group for ``group``)."""
    if by == "group":
        return record.groups[0] if record.groups else "none"
    return str(getattr(record, by) or "unknown")


def select_quotes(
    records: Sequence[TestimonyRecord],
    vectors: np.ndarray,
    centre: np.ndarray,
    *,
    n: int = 5,
    diversity: float = 0.3,
    near_duplicate: float = 0.92,
    balance_by: str | None = None,
    hidden: Collection[str] = (),
    pinned: Sequence[str] = (),
) -> list[tuple[TestimonyRecord, float]]:
    """Pick up to ``n`` quotable records by MMR around ``centre``; returns (record, centrality) pairs.

    ``diversity`` is MMR's trade-off (0: only centrality, 1: only novelty).
    ``pinned`` ids come first (if quotable), ``hidden`` ids never appear.
    """
    if balance_by is not None and balance_by not in BALANCE_FIELDS:
        raise ValueError(f"cannot balance by {balance_by!r}: use one of {', '.join(BALANCE_FIELDS)}")
    eligible = [i for i, r in enumerate(records) if r.quotable and r.id not in hidden]
    if not eligible or n <= 0:
        return []
    vectors = np.asarray(vectors, dtype=np.float32)
    centrality = vectors @ np.asarray(centre, dtype=np.float32)
    chosen: list[int] = []
    seen_texts: set[str] = set()
    by_id = {records[i].id: i for i in eligible}
    for pin in pinned:
        if pin in by_id and len(chosen) < n:
            chosen.append(by_id[pin])
            seen_texts.add(normalise_text(records[by_id[pin]].text).lower())
    candidates = [i for i in eligible if i not in chosen]
    counts: Counter = Counter(balance_key(records[i], balance_by) for i in chosen) if balance_by else Counter()
    while candidates and len(chosen) < n:
        pool = _least_represented(candidates, records, balance_by, counts) if balance_by else list(candidates)
        pool_array = np.asarray(pool)
        if chosen:
            redundancy = (vectors[pool_array] @ vectors[np.asarray(chosen)].T).max(axis=1)
        else:
            redundancy = np.zeros(len(pool))
        mmr = (1 - diversity) * centrality[pool_array] - diversity * redundancy
        best = None
        for position in np.argsort(-mmr):
            index = pool[int(position)]
            text_key = normalise_text(records[index].text).lower()
            if redundancy[int(position)] >= near_duplicate or text_key in seen_texts:
                candidates.remove(index)  # a near-duplicate of a chosen quote: never eligible again
                continue
            best = index
            break
        if best is None:
            continue
        chosen.append(best)
        seen_texts.add(normalise_text(records[best].text).lower())
        candidates.remove(best)
        if balance_by:
            counts[balance_key(records[best], balance_by)] += 1
    return [(records[i], float(centrality[i])) for i in chosen]


def _least_represented(candidates: list[int], records, by: str, counts: Counter) -> list[int]:
    """Candidates whose balance value has been quoted least so far."""
    fewest = min(counts.get(balance_key(records[i], by), 0) for i in candidates)
    return [i for i in candidates if counts.get(balance_key(records[i], by), 0) == fewest]
