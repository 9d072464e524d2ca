"""Breakdowns of a set of testimonies: who spoke, where, what kind, when.

Every number here is a count of testimonies (or of distinct contributors)
that can be traced back to the ids it was computed from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from corpus.store import TestimonyRecord

BREAKDOWNS = ("country", "organisation", "gender", "age_band", "language")


def summarise(records: Sequence[TestimonyRecord]) -> dict:
    """Size, distinct contributors, kinds, breakdowns by country, organisation, gender, age band,
    language and self-identified group, and counts by month (``YYYY-MM``)."""
    summary: dict = {
        "size": len(records),
        "contributors": len({r.contributor_id for r in records if r.contributor_id is not None}),
        "testimonies": sum(1 for r in records if r.kind == "testimony"),
        "proposals": sum(1 for r in records if r.kind == "proposal"),
        "quotable": sum(1 for r in records if r.quotable),
    }
    for field_name in BREAKDOWNS:
        summary[f"by_{field_name}"] = _ordered(Counter(getattr(r, field_name) or "unknown" for r in records))
    summary["by_group"] = _ordered(Counter(g for r in records for g in r.groups))
    months = Counter(r.created_at.strftime("%Y-%m") for r in records)
    summary["by_month"] = dict(sorted(months.items()))
    return summary


def _ordered(counts: Counter) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
