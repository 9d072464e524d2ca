"""What staff ask of the themes: the list, one theme in detail, its quotes, its languages.

Shared by the CLI and the bot, so both show the same numbers. A theme's size
is shown the same way everywhere (``theme_cells``): the themes of each driver
add up to the driver's total, and the drivers to everything themed, so a
small theme's size is hidden ("<5") and so is a complement ("≥5"), a driver's
total before another theme's size (``analysis.counting``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from corpus.themes import Theme

from analysis.counting import OPEN, Cell, Count, Disclosure, cell_of
from analysis.evidence import EvidenceBase
from analysis.languages import CorpusLanguages, SingleLanguageRule, languages_of
from analysis.quotes import Quote, quote_of, select_quotes
from analysis.summaries import shown_summary, summarise


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
        "previous_size": theme.previous_size,
    }


def list_themes(evidence: EvidenceBase) -> list[dict]:
    """Every active theme, largest first, with its distinct contributor count (raw numbers: show them
    through ``shown_themes``)."""
    sizes = evidence.themes.sizes()
    contributors = evidence.themes.contributor_counts()
    return [theme_row(t, sizes.get(t.id, 0), contributors.get(t.id, 0)) for t in evidence.themes.themes()]


@dataclass
class ThemeCells:
    """How the sizes of the active themes, and of their drivers' totals, are shown."""

    themes: dict[int, Cell]
    drivers: dict[str | None, Cell]


def protect_themes(sizes: Mapping[int, Count], drivers: Mapping[int, str | None],
                   driver_totals: Mapping[str | None, Count], small_cell: int = 5) -> ThemeCells:
    """The cells of theme sizes (``sizes``: id -> count, ``drivers``: id -> primary driver) and of the
    drivers' totals: each driver's themes add up to its total, and the totals to everything themed."""
    disclosure = Disclosure(small_cell)
    for driver, count in driver_totals.items():
        disclosure.add(("driver", driver), count)
    for theme_id, count in sizes.items():
        disclosure.add(("theme", theme_id), count, cost=1)
    disclosure.tie(None, [("driver", d) for d in driver_totals])
    for driver in driver_totals:
        disclosure.tie(("driver", driver), [("theme", t) for t in sizes if drivers.get(t) == driver])
    cells = disclosure.protect()
    return ThemeCells({t: cells[("theme", t)] for t in sizes}, {d: cells[("driver", d)] for d in driver_totals})


def theme_cells(evidence: EvidenceBase, rows: list[dict] | None = None) -> ThemeCells:
    """The cells of every active theme's size, as every view shows them (``rows``: ``list_themes``'s, if read)."""
    rows = list_themes(evidence) if rows is None else rows
    sizes = {r["id"]: Count(r["size"], r["contributors"] or 0) for r in rows}
    drivers = {r["id"]: r["primary_driver"] for r in rows}
    totals = {d: Count(*n) for d, n in evidence.themes.driver_counts().items() if d in set(drivers.values())}
    for driver in set(drivers.values()) - set(totals):
        totals[driver] = Count()
    return protect_themes(sizes, drivers, totals, evidence.settings.small_cell)


def shown_row(row: dict, cell: Cell) -> dict:
    """A ``theme_row`` as staff see it: size and contributors as labels ("12", "<5", "≥5"), and the change
    since the last analysis as a number only when the size is shown and the earlier one was not small."""
    row = dict(row)
    previous = row.pop("previous_size", None) or 0
    change = row["change"]
    if change not in ("new", "=") and (cell.state != OPEN or previous < cell.small_cell):
        change = "grew" if change.startswith("+") else "shrank"
    return row | {"size": cell.label, "contributors": cell.people, "change": change}


def shown_themes(evidence: EvidenceBase, rows: list[dict] | None = None) -> list[dict]:
    """``list_themes`` as staff see it (``shown_row``): the themes whose size is shown largest first, then
    those whose size is hidden by id (their place in the list says nothing of their size)."""
    rows = list_themes(evidence) if rows is None else rows
    cells = theme_cells(evidence, rows).themes
    return [shown_row(r, cells[r["id"]]) for r in in_shown_order(rows, cells)]


def in_shown_order(rows: list[dict], cells: Mapping[int, Cell]) -> list[dict]:
    """Theme rows (or anything with an ``id``), shown sizes largest first, then hidden ones by id."""
    return sorted(rows, key=lambda r: (cells[r["id"]].suppressed,
                                       0 if cells[r["id"]].suppressed else -cells[r["id"]].count.contributions, r["id"]))


def theme_languages(evidence: EvidenceBase, rule: SingleLanguageRule | None = None) -> CorpusLanguages:
    """The languages of the evidence base's analysed corpus and of each theme of the last analysis
    (``analysis.languages``); a theme whose size is hidden gets no flag and no share."""
    assignments = evidence.themes.assignments()
    theme_of = {tid: a.theme_id for tid, a in assignments.items()}
    records = [r for r in evidence.store.iter_records() if r.id in theme_of] if theme_of else []
    hidden = [t for t, cell in theme_cells(evidence).themes.items() if cell.suppressed] if theme_of else []
    return languages_of(records, theme_of, rule or SingleLanguageRule.for_settings(evidence.settings), hidden)


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
    cell = theme_cells(evidence).themes.get(theme_id)
    if cell is None:  # not an active theme: its size is in no list, so only the primary rule applies
        cell = cell_of(Count(summary["size"], summary["contributors"]), evidence.settings.small_cell)
    detail = shown_row(theme_row(theme, summary["size"], summary["contributors"]), cell)
    detail.update(
        {
            "status": theme.status,
            "merged_into": theme.merged_into,
            "keywords": [[k, s] for k, s in theme.keywords or []],
            "keywords_by_language": theme.keywords_by_language or {},
            "driver_scores": theme.driver_scores,
            "summary": shown_summary(records, cell, evidence.settings.small_cell),
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
    curation = evidence.stores.curation
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
