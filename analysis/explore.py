"""What staff ask of the themes: the list, one theme in detail, its quotes.

Shared by the CLI and the bot, so both show the same numbers.
"""

from __future__ import annotations

import numpy as np

from corpus.curation import CurationStore
from corpus.themes import Theme

from analysis.evidence import EvidenceBase
from analysis.quotes import Quote, quote_of, select_quotes
from analysis.summaries import summarise


def theme_row(theme: Theme, size: int, contributors: int | None = None) -> dict:
    """The short form of a theme: label, size, driver, keywords and change since the last analysis."""
    if theme.previous_size is None:
        change = "new"
    else:
        delta = size - theme.previous_size
        change = f"{delta:+d}" if delta else "="
    return {
        "id": theme.id,
        "label": theme.label,
        "label_source": theme.label_source,
        "size": size,
        "contributors": contributors,
        "primary_driver": theme.primary_driver,
        "intersecting_drivers": list(theme.intersecting_drivers or []),
        "subdriver": theme.subdriver,
        "keywords": [k for k, _ in (theme.keywords or [])[:6]],
        "change": change,
    }


def list_themes(evidence: EvidenceBase) -> list[dict]:
    """Every active theme, largest first, with its distinct contributor count."""
    sizes = evidence.themes.sizes()
    contributors = evidence.themes.contributor_counts()
    return [theme_row(t, sizes.get(t.id, 0), contributors.get(t.id, 0)) for t in evidence.themes.themes()]


def unthemed_count(evidence: EvidenceBase) -> int:
    """Testimonies the last analysis left explicitly unthemed (or that arrived with no close theme)."""
    return sum(1 for a in evidence.themes.assignments().values() if a.theme_id is None)


def theme_members(evidence: EvidenceBase, theme_id: int):
    """The member records of a theme, most central first."""
    members = evidence.themes.members(theme_id)
    return evidence.store.records([m.testimony_id for m in members])


def theme_detail(evidence: EvidenceBase, theme_id: int, n_quotes: int = 3) -> dict:
    """A theme's keywords, drivers, breakdowns, counts by month and representative quotes."""
    theme = evidence.themes.theme(theme_id)
    records = theme_members(evidence, theme_id)
    summary = summarise(records)
    detail = theme_row(theme, summary["size"], summary["contributors"])
    detail.update(
        {
            "status": theme.status,
            "merged_into": theme.merged_into,
            "keywords": [[k, s] for k, s in theme.keywords or []],
            "keywords_by_language": theme.keywords_by_language or {},
            "driver_scores": theme.driver_scores,
            "summary": summary,
            "quotes": [q.to_dict() for q in theme_quotes(evidence, theme_id, n=n_quotes, records=records)],
        }
    )
    return detail


def theme_quotes(
    evidence: EvidenceBase,
    theme_id: int,
    *,
    n: int = 5,
    country: str | None = None,
    balance_by: str | None = None,
    records=None,
    hidden: set[str] | None = None,
    pinned: list[str] | None = None,
) -> list[Quote]:
    """Representative quotes of a theme (MMR around its centroid), optionally from one country.

    Staff pins come first and hidden quotes never appear (both from the
    curation store unless given).
    """
    theme = evidence.themes.theme(theme_id)
    curation = CurationStore(evidence.store.engine)
    hidden = curation.hidden() if hidden is None else hidden
    pinned = curation.pinned(theme_id) if pinned is None else pinned
    records = records if records is not None else theme_members(evidence, theme_id)
    if country:
        records = [r for r in records if r.country == country.upper()]
    records = [r for r in records if r.quotable]
    if not records or theme.centroid is None:
        return []
    vectors = evidence.embedder.encode([r.text for r in records])
    centre = np.frombuffer(theme.centroid, dtype=np.float32)
    assignments = evidence.themes.assignments([r.id for r in records])
    chosen = select_quotes(records, vectors, centre, n=n, balance_by=balance_by, hidden=hidden, pinned=pinned)
    quotes = []
    for record, score in chosen:
        assignment = assignments.get(record.id)
        drivers = [assignment.primary_driver, *assignment.intersecting_drivers] if assignment else []
        quotes.append(quote_of(record, score, [d for d in drivers if d], theme_id))
    return quotes
