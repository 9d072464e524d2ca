"""Where the evidence is thin: counts by country, region, driver and group, small and empty cells, partners.

    from analysis.gaps import compute_gaps
    gaps = compute_gaps(evidence)            # or compute_gaps(evidence, country="NP")
    gaps.thin_groups, gaps.absent_groups, gaps.overlaps, gaps.single_partner

Every count is a pair: contributions and distinct contributors
(``analysis.counting``). What staff see goes through the small-cell rule of
``analysis.counting``: a cell resting on fewer than ``small_cell``
contributors (``settings.small_cell``) is shown as "<5", and a cell that would
let one be worked out from the total is hidden too ("≥5"):
``gaps.breakdown("country").text()``. ``aggregate`` contributions count like
any other: nothing here quotes a text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from corpus.store import TestimonyFilter, TestimonyRecord
from corpus.vocabulary import GROUPS

from analysis.counting import UNKNOWN, Breakdown, Cell, Count, cell_of, count_by, count_of, protect, public
from analysis.evidence import EvidenceBase

STATS_BREAKDOWNS = ("by_kind", "by_country", "by_language", "by_organisation", "by_consent")


BREAKDOWN_KEYS: dict[str, Callable[[TestimonyRecord], str | Iterable[str] | None]] = {
    "country": lambda r: r.country,
    "organisation": lambda r: r.organisation,
    "gender": lambda r: r.gender,
    "age_band": lambda r: r.age_band,
    "group": lambda r: r.groups or ["none"],
}


def breakdowns(records: Sequence[TestimonyRecord], fields: Sequence[str] = tuple(BREAKDOWN_KEYS)) -> dict[str, dict[str, Count]]:
    """The breakdowns of a theme or any set: by country, organisation, gender, age band and group."""
    return {name: count_by(records, BREAKDOWN_KEYS[name]) for name in fields}


@dataclass
class ThemeOverlap:
    """A theme and the partner organisations whose contributions are in it."""

    theme_id: int
    label: str
    organisations: dict[str, Count]
    shown: Breakdown | None = None  # all its contributions by organisation ("unknown" too), as staff see them


@dataclass
class Gaps:
    """The gaps and overlaps of the evidence in one scope (a country, or everything)."""

    country: str | None
    small_cell: int
    total: Count
    by_country: dict[str, Count]
    by_region: dict[str, Count]
    by_driver: dict[str, Count]
    by_group: dict[str, Count]
    drivers_by_place: dict[str, dict[str, Count]]
    thin_groups: list[str] = field(default_factory=list)
    absent_groups: list[str] = field(default_factory=list)
    thin_regions: list[str] = field(default_factory=list)
    thin_countries: list[str] = field(default_factory=list)
    absent_drivers: list[str] = field(default_factory=list)
    empty_place_drivers: list[tuple[str, str]] = field(default_factory=list)
    overlaps: list[ThemeOverlap] = field(default_factory=list)
    single_partner: list[ThemeOverlap] = field(default_factory=list)
    total_cell: Cell | None = None
    protected: dict[str, Breakdown] = field(default_factory=dict)

    def shown(self, count: Count) -> str:
        """A lone count under this scope's primary small-cell rule (a breakdown's cells: ``breakdown``)."""
        return count.shown(self.small_cell)

    def breakdown(self, name: str) -> Breakdown:
        """``"country"``, ``"region"``, ``"driver"`` or ``"group"`` as staff see it (``analysis.counting``)."""
        return self.protected[name]


def gaps_of(
    records: Sequence[TestimonyRecord],
    driver_of: Mapping[str, str | None],
    theme_of: Mapping[str, int | None],
    theme_labels: Mapping[int, str],
    drivers: Sequence[str],
    *,
    small_cell: int = 5,
    country: str | None = None,
    scope_total: Cell | None = None,
) -> Gaps:
    """The gaps of ``records``: ``driver_of`` and ``theme_of`` map testimony ids to the primary driver and theme.

    Regions are ``"KE/Turkana"`` so that a region name used in two countries
    stays two regions. "Thin" means fewer than ``small_cell`` contributors,
    "absent" none at all; groups come from the profile vocabulary, drivers
    from the codebook, so what nobody spoke about is listed too.

    Within a country, the total is that country's cell of the global
    breakdown by country (``scope_total``, as ``compute_gaps`` finds it), so
    that it is shown the same way in both.
    """
    primary = lambda r: driver_of.get(r.id) or UNKNOWN  # noqa: E731
    by_group = count_by(records, lambda r: r.groups)
    groups = {g: by_group.get(g, Count()) for g in (*GROUPS, *sorted(set(by_group) - set(GROUPS)))}
    by_driver_found = count_by(records, primary)
    by_driver = {d: by_driver_found.get(d, Count()) for d in drivers}
    if UNKNOWN in by_driver_found:
        by_driver[UNKNOWN] = by_driver_found[UNKNOWN]
    by_country = count_by(records, lambda r: r.country)
    by_region = count_by(records, lambda r: f"{r.country or UNKNOWN}/{r.region or UNKNOWN}")
    place = (lambda r: r.country) if country is None else (lambda r: r.region)
    per_place: dict[str, list[TestimonyRecord]] = defaultdict(list)
    for record in records:
        per_place[place(record) or UNKNOWN].append(record)
    drivers_by_place = {
        p: {d: c for d, c in count_by(members, primary).items()} for p, members in sorted(per_place.items())
    }
    gaps = Gaps(
        country=country,
        small_cell=small_cell,
        total=count_of(records),
        by_country=by_country,
        by_region=by_region,
        by_driver=by_driver,
        by_group=groups,
        drivers_by_place=drivers_by_place,
        thin_groups=[g for g, c in groups.items() if c.contributions and c.is_small(small_cell)],
        absent_groups=[g for g, c in groups.items() if not c.contributions],
        thin_regions=[p for p, c in by_region.items() if c.is_small(small_cell)],
        thin_countries=[p for p, c in by_country.items() if c.is_small(small_cell)],
        absent_drivers=[d for d in drivers if not by_driver[d].contributions],
        empty_place_drivers=[(p, d) for p, cells in drivers_by_place.items() for d in drivers if d not in cells],
    )
    members: dict[int, list[TestimonyRecord]] = defaultdict(list)
    for record in records:
        theme_id = theme_of.get(record.id)
        if theme_id is not None and theme_id in theme_labels:
            members[theme_id].append(record)
    total = gaps.total
    gaps.total_cell = public(total, small_cell) if country is None else (scope_total or cell_of(total, small_cell))
    gaps.protected = {"country": protect(by_country, small_cell), "region": protect(by_region, small_cell),
                      "driver": protect(by_driver, small_cell), "group": protect(groups, small_cell)}
    for theme_id, theme_members in sorted(members.items()):  # by id: an order by size would hint at hidden sizes
        organisations = count_by([r for r in theme_members if r.organisation], lambda r: r.organisation)
        shown = protect(count_by(theme_members, lambda r: r.organisation), small_cell)
        overlap = ThemeOverlap(theme_id, theme_labels[theme_id], organisations, shown)
        if len(organisations) >= 2:
            gaps.overlaps.append(overlap)
        elif len(organisations) == 1:
            gaps.single_partner.append(overlap)
    return gaps


def compute_gaps(evidence: EvidenceBase, country: str | None = None) -> Gaps:
    """The gaps of the whole evidence base, or of one country (then places are its regions)."""
    country = country.upper() if country else None
    records = evidence.store.records(where=TestimonyFilter(country=country) if country else None)
    assignments = evidence.themes.assignments() if records else {}
    driver_of = {tid: a.primary_driver for tid, a in assignments.items()}
    theme_of = {tid: a.theme_id for tid, a in assignments.items()}
    labels = {t.id: t.label for t in evidence.themes.themes()}
    drivers = evidence.codebook.keys
    small_cell = evidence.settings.small_cell
    scope_total = country_cells(evidence).cells.get(country) if country else None
    return gaps_of(records, driver_of, theme_of, labels, drivers, small_cell=small_cell, country=country,
                   scope_total=scope_total)


def country_cells(evidence: EvidenceBase) -> Breakdown:
    """The breakdown of the whole evidence base by country, as staff see it: a country's total is shown
    as its cell here wherever it appears (``/gaps NP``, a country report)."""
    stats = evidence.store.stats()
    people = stats["people"]["by_country"]
    counts = {k: Count(n, people.get(k, 0)) for k, n in stats["by_country"].items()}
    return protect(counts, evidence.settings.small_cell)


def stats_shown(stats: Mapping, small_cell: int = 5) -> dict:
    """``CorpusStore.stats()`` as staff see it: every breakdown of contributions under the small-cell rule
    (labels such as "12", "<5", "≥5"); the totals of the whole evidence base and the index states as they are."""
    shown = {key: value for key, value in stats.items() if key != "people"}
    for key in STATS_BREAKDOWNS:
        people = stats["people"][key]
        shown[key] = protect({k: Count(n, people.get(k, 0)) for k, n in stats[key].items()}, small_cell).labels()
    return shown
