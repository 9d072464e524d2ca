"""Breakdowns of a set of testimonies: who spoke, where, what kind, when.

Every number here is a count of testimonies (or of distinct contributors,
``analysis.counting``) that can be traced back to the ids it was computed
from. ``summarise`` gives the raw numbers for computing; what people see is
``shown_summary``, under the small-cell rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from corpus.store import TestimonyRecord

from analysis.counting import Cell, count_by, count_of, protect

BREAKDOWNS = ("country", "organisation", "gender", "age_band", "language")


def summarise(records: Sequence[TestimonyRecord]) -> dict:
    """Size, distinct contributors, kinds, breakdowns by country, organisation, gender, age band,
    language and self-identified group, and counts by month (``YYYY-MM``)."""
    summary: dict = {
        "size": len(records),
        "contributors": count_of(records).contributors,
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


def shown_summary(records: Sequence[TestimonyRecord], size: Cell, small_cell: int = 5) -> dict:
    """``summarise`` as people see it: ``size`` is the set's own cell (a theme's, as every view shows it),
    and each breakdown (kinds, quote consent, the fields, groups, months) is protected on its own
    (``analysis.counting.protect``): labels such as "12", "<5", "≥5"."""
    kinds = protect(count_by(records, lambda r: r.kind), small_cell)
    consent = protect(count_by(records, lambda r: "quotable" if r.quotable else "aggregate"), small_cell)
    summary: dict = {
        "size": size.label,
        "contributors": size.people,
        "testimonies": _label(kinds, "testimony"),
        "proposals": _label(kinds, "proposal"),
        "quotable": _label(consent, "quotable"),
    }
    for field_name in BREAKDOWNS:
        summary[f"by_{field_name}"] = protect(count_by(records, lambda r: getattr(r, field_name)), small_cell).labels()
    summary["by_group"] = protect(count_by(records, lambda r: r.groups or ["none"]), small_cell).labels()
    months = protect(count_by(records, lambda r: r.created_at.strftime("%Y-%m")), small_cell).labels()
    summary["by_month"] = dict(sorted(months.items()))
    return summary


def _label(breakdown, key: str) -> str:
    if breakdown.withheld:
        return "withheld"
    return breakdown[key].label if key in breakdown else "0"
