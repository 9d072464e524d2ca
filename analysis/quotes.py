"""Representative quotes: central, diverse, consented, de-identified, with provenance.

Selection is maximal marginal relevance (MMR): each next quote is the one
most similar to the theme's centre and least similar to the quotes already
chosen. Near-duplicates are never shown twice, only testimonies whose
contributor agreed to be quoted are eligible, and the text is always the
redacted one. ``balance_by`` takes quotes in turn from each country (or
gender, age band, group, organisation, language) so one voice does not drown
the rest. Without ``balance_by``, a theme that spans languages (at least two,
each with ``LANGUAGE_BALANCE_SHARE`` of the candidates) is balanced by
language, so its quotes are not all in the corpus's majority language; pass
``balance_by="none"`` for no balancing at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from corpus.store import TestimonyRecord
from corpus.textkey import normalise_text
from corpus.vocabulary import BALANCE_FIELDS, NO_BALANCE

from analysis.drivers import Codebook, driver_name
from analysis.languages import LanguageMix, language_label

# A language with at least this share of a theme's quotable candidates counts towards balancing by
# language by default (two such languages are needed); lower shares are too few texts to take turns.
LANGUAGE_BALANCE_SHARE = 0.10


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

    def provenance(self, codebook: Codebook | None = None) -> str:
        """Where the quote came from, as one line for documents (see ``provenance``)."""
        return provenance(self.id, self.date, self.country, self.organisation, self.kind, self.language,
                          drivers=self.drivers, pinned=self.pinned, codebook=codebook)


def provenance(
    testimony_id: str,
    date: str,
    country: str | None,
    organisation: str | None,
    kind: str,
    language: str | None,
    *,
    theme: str = "",
    drivers: Sequence[str] = (),
    pinned: bool = False,
    codebook: Codebook | None = None,
) -> str:
    """A quote's provenance as one line, the same in every file it is written to:
    ``testimony ID · date · country · organisation · kind · language[ · theme T][ · drivers: ...][ · pinned by staff]``.

    Unknown values are said to be unknown; drivers are named from ``codebook``
    (``EvidenceBase.codebook``; None: the bundled one).
    """
    parts = [f"testimony {testimony_id}", date, country or "country unknown",
             organisation or "organisation unknown", kind, language_label(language)]
    if theme:
        parts.append(f"theme {theme}")
    if drivers:
        parts.append("drivers: " + ", ".join(driver_name(d, codebook=codebook) for d in drivers))
    if pinned:
        parts.append("pinned by staff")
    return " · ".join(parts)


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


def default_balance(records: Sequence[TestimonyRecord], min_share: float = LANGUAGE_BALANCE_SHARE) -> str | None:
    """``"language"`` when ``records`` span languages (at least two, each with ``min_share`` of them), else None."""
    mix = LanguageMix.of(records)
    spanned = [language for language in mix.languages if mix.share(language) >= min_share]
    return "language" if len(spanned) >= 2 else None


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
    ``balance_by`` None balances by language when the eligible records span
    languages (``default_balance``); ``"none"`` does not balance.
    """
    if balance_by is not None and balance_by not in (*BALANCE_FIELDS, NO_BALANCE):
        raise ValueError(f"cannot balance by {balance_by!r}: use one of {', '.join((*BALANCE_FIELDS, NO_BALANCE))}")
    eligible = [i for i, r in enumerate(records) if r.quotable and r.id not in hidden]
    if not eligible or n <= 0:
        return []
    if balance_by is None:
        balance_by = default_balance([records[i] for i in eligible])
    elif balance_by == NO_BALANCE:
        balance_by = None
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
