"""What a report covers: one read of the corpus, themes and assignments for a country (or all of them),
with the scope's totals and theme sizes protected as the report shows them.

``ReportScope`` is shared by the report builder (``analysis.reports.builder``)
and the charts drawn from the evidence (``analysis.reports.figures``), so a
theme's size reads the same in a chart sent in chat and in a report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from corpus.store import TestimonyRecord

from analysis.counting import Breakdown, Cell, Count, cell_of, count_by, count_of, protect, protect_table, public
from analysis.counting import Table as CountTable
from analysis.drivers import NO_DRIVER, driver_keys
from analysis.evidence import EvidenceBase
from analysis.explore import protect_themes, theme_cells
from analysis.languages import CorpusLanguages, SingleLanguageRule, languages_of
from analysis.reports.quotefiles import hidden_quotes, readable_codebook

MAX_BREAKDOWN_VALUES = 12


class Counts:
    """The counts a report shows, under the small-cell rule of ``analysis.counting``.

    Each breakdown is protected on its own, as the CLI and the bot protect
    it, so it reads the same everywhere; it is protected once, under a name,
    and looked up by that name wherever the report shows one of its cells.
    """

    def __init__(self, small_cell: int) -> None:
        self.small_cell = small_cell
        self.breakdowns: dict[tuple, Breakdown] = {}

    def of(self, name: tuple, groups: dict[str, list[TestimonyRecord]]) -> Breakdown:
        """The breakdown ``name`` of these groups of records (protected on first use)."""
        if name not in self.breakdowns:
            self.breakdowns[name] = protect({k: count_of(v) for k, v in groups.items()}, self.small_cell)
        return self.breakdowns[name]

    def cell(self, name: tuple, value: str) -> Cell:
        """One value's cell of the breakdown ``name`` (an empty one if the value is not in it)."""
        breakdown = self.breakdowns[name]
        return breakdown.cells[value] if value in breakdown else Cell(Count(), "empty", self.small_cell)

    def text(self, name: tuple, limit: int = MAX_BREAKDOWN_VALUES) -> str:
        """``"KE 12, BD ≥5, NP <5, and 2 more"``, or that it is withheld."""
        return self.breakdowns[name].text(limit=limit, more="and {n} more")


def group_by(records: Iterable[TestimonyRecord], key: Callable[[TestimonyRecord], Iterable[str] | str]) -> dict[str, list]:
    """Records grouped by ``key`` (a record with several values, such as its groups, is in each)."""
    groups: dict[str, list] = defaultdict(list)
    for record in records:
        values = key(record)
        for value in [values] if isinstance(values, str) else values:
            groups[value].append(record)
    return dict(groups)


NO_GROUP = "none given"  # the group of those who gave none
BREAKDOWN_KEYS: dict[str, Callable[[TestimonyRecord], Iterable[str] | str]] = {
    "country": lambda r: r.country or "unknown",
    "organisation": lambda r: r.organisation or "unknown",
    "kind": lambda r: r.kind,
    "gender": lambda r: r.gender or "not given",
    "age band": lambda r: r.age_band or "not given",
    "group": lambda r: r.groups or (NO_GROUP,),
    "language": lambda r: r.language or "unknown",
}
# the places a report breaks contributions down by: countries, or regions within a country
PLACE: dict[str, Callable[[TestimonyRecord], str]] = {
    "country": lambda r: r.country or "unknown",
    "region": lambda r: r.region or "unknown",
}


@dataclass
class ThemeInScope:
    """A theme as a report sees it: its members within the report's scope, most central first."""

    id: int
    label: str
    primary_driver: str | None
    intersecting_drivers: list[str]
    subdriver: str | None
    keywords: list[str]
    overall_size: int
    members: list[TestimonyRecord]
    keywords_by_language: dict[str, list[str]] = field(default_factory=dict)


class ReportScope:
    """The contributions, themes and counts within a report's scope (``country``; None: all countries).

    ``exclude`` leaves testimonies out entirely (a report rebuilt after an
    erasure, in case the caller has not removed them from the store yet).
    Call ``read`` once; its results are attributes.
    """

    def __init__(self, evidence: EvidenceBase, country: str | None, *, exclude: Iterable[str] = ()) -> None:
        self.evidence = evidence
        self.country = country.upper() if country else None
        self.exclude = set(exclude)
        self.counts = Counts(evidence.settings.small_cell)
        self.small_cell = evidence.settings.small_cell

    def read(self) -> ReportScope:
        """Read the scope's records, themes and assignments, and protect its counts; returns itself."""
        store, themes = self.evidence.store, self.evidence.themes
        all_records = [r for r in store.records() if r.id not in self.exclude]
        self.all_groups = sorted({g for r in all_records for g in r.groups})
        self.records = [r for r in all_records if self.country is None or r.country == self.country]
        self.assignments = themes.assignments() if self.records else {}
        # a theme's overall size, as `lnob themes` shows it
        self.overall_cells = theme_cells(self.evidence).themes if self.assignments else {}
        # a theme's language flag is about the clustering, so it is judged on the whole analysed corpus
        self.rule = SingleLanguageRule.for_settings(self.evidence.settings)
        self.languages: CorpusLanguages = languages_of(
            all_records, {tid: a.theme_id for tid, a in self.assignments.items()}, self.rule,
            hidden_sizes=[t for t, cell in self.overall_cells.items() if cell.suppressed])
        self.run = themes.last_run()
        self.hidden = hidden_quotes(self.evidence)
        active = themes.themes()
        overall = themes.sizes()
        by_theme: dict[int, list[TestimonyRecord]] = defaultdict(list)
        for record in self.records:
            assignment = self.assignments.get(record.id)
            if assignment is not None and assignment.theme_id is not None:
                by_theme[assignment.theme_id].append(record)
        self.themes: list[ThemeInScope] = []
        for theme in active:
            members = by_theme.get(theme.id)
            if not members:
                continue
            members.sort(key=lambda r: -(self.assignments[r.id].similarity or 0.0))
            self.themes.append(
                ThemeInScope(
                    id=theme.id,
                    label=theme.label,
                    primary_driver=theme.primary_driver,
                    intersecting_drivers=list(theme.intersecting_drivers or []),
                    subdriver=theme.subdriver,
                    keywords=[k for k, _ in (theme.keywords or [])[:8]],
                    keywords_by_language={
                        code: [k for k, _ in words[:6]] for code, words in (theme.keywords_by_language or {}).items()
                    },
                    overall_size=overall.get(theme.id, 0),
                    members=members,
                )
            )
        themed = {r.id for t in self.themes for r in t.members}
        self.unthemed = [r for r in self.records if r.id not in themed]
        self.codebook = readable_codebook(self.evidence)
        self.keys = list(driver_keys(self.codebook))
        self.organisations = {o.code: o.name for o in store.organisations()}
        self._protect(all_records)
        return self

    def _protect(self, all_records: Sequence[TestimonyRecord]) -> None:
        """How the report's totals and theme sizes are shown (``analysis.counting``).

        The scope's total is public for the global report, and within a
        country that country's cell of the breakdown by country (as ``/gaps``
        shows it). Theme sizes are, globally, protected with their drivers'
        totals as ``lnob themes`` protects them; within a country, as a
        breakdown of the country's contributions. Themes whose size is hidden
        come after the others, by id: their place says nothing of their size.
        """
        small = self.small_cell
        if self.country is None:
            self.scope = public(count_of(self.records), small)
            drivers = {t.id: t.primary_driver for t in self.themes}
            totals = {d: count_of([r for t in self.themes if t.primary_driver == d for r in t.members])
                      for d in set(drivers.values())}
            self.theme_cells = protect_themes({t.id: count_of(t.members) for t in self.themes}, drivers, totals,
                                              small).themes
            self.unthemed_cell = public(count_of(self.unthemed), small)
        else:
            by_country = protect(count_by(all_records, lambda r: r.country), small)
            self.scope = by_country.cells.get(self.country) or cell_of(count_of(self.records), small)
            sizes = protect({t.id: count_of(t.members) for t in self.themes} | {None: count_of(self.unthemed)}, small)
            self.theme_cells = {t.id: sizes[t.id] for t in self.themes}
            self.unthemed_cell = sizes[None] if None in sizes else Cell(Count(), "empty", small)
        self.themes.sort(key=lambda t: (self.theme_cells[t.id].suppressed,
                                        0 if self.theme_cells[t.id].suppressed else -len(t.members), t.id))
        self.by_driver = self.counts.of(("driver",), group_by(self.records, lambda r: self._driver_of(r) or NO_DRIVER))

    def _driver_of(self, record: TestimonyRecord) -> str | None:
        """The primary driver of a record's assignment (None: unassigned, or no driver)."""
        assignment = self.assignments.get(record.id)
        return assignment.primary_driver if assignment is not None else None

    def driver_or_none(self, record: TestimonyRecord) -> str:
        return self._driver_of(record) or NO_DRIVER

    # -- the breakdowns and tables several sections show ----------------------------------

    @property
    def place_name(self) -> str:
        """What a place is in this scope: a country (the global report) or a region within the country."""
        return "country" if self.country is None else "region"

    def kinds(self) -> tuple:
        """The name of the scope's breakdown by kind (testimony, proposal)."""
        self.counts.of(("by", "kind"), group_by(self.records, BREAKDOWN_KEYS["kind"]))
        return ("by", "kind")

    def consent(self) -> tuple:
        """The name of the scope's breakdown by consent (quotable, aggregate), as ``lnob theme`` has it."""
        self.counts.of(("consent",), group_by(self.records, lambda r: "quotable" if r.quotable else "aggregate"))
        return ("consent",)

    def theme_kinds(self, theme: ThemeInScope) -> tuple:
        """The name of a theme's breakdown by kind (its testimonies and proposals), as its section shows it."""
        self.counts.of(("theme", theme.id, "kind"), group_by(theme.members, BREAKDOWN_KEYS["kind"]))
        return ("theme", theme.id, "kind")

    def places(self) -> Breakdown:
        """The breakdown of the scope by place, as the summary and ``/gaps`` show it."""
        return self.counts.of(("by", self.place_name), group_by(self.records, PLACE[self.place_name]))

    def place_table(self) -> CountTable:
        """Contributions per place and primary driver, the table protected as a whole, its totals as the
        breakdowns by place and by driver show them."""
        if not hasattr(self, "_place_table"):
            places = self.places()
            by_place = group_by(self.records, PLACE[self.place_name])
            counts = {p: count_by(by_place.get(p, []), self.driver_or_none) for p in places.cells}
            self._place_table = protect_table(counts, self.small_cell, columns=self.driver_columns(),
                                              row_totals=places.cells, column_totals=self.driver_totals())
        return self._place_table

    def group_table(self) -> tuple[Breakdown, CountTable]:
        """Contributions per self-identified group (and none given) and primary driver: the breakdown by
        group, with the groups heard elsewhere but not here as empty rows, and the table protected as a whole."""
        if not hasattr(self, "_group_table"):
            groups = group_by(self.records, BREAKDOWN_KEYS["group"])
            shown = self.counts.of(("by", "group"), groups)
            empty = Cell(Count(), "empty", self.small_cell)
            rows = Breakdown(dict(shown.cells) | {g: empty for g in self.all_groups if g not in shown},
                             self.small_cell, shown.withheld)
            if NO_GROUP in rows.cells:  # the row of those who gave no group comes last
                rows.cells[NO_GROUP] = rows.cells.pop(NO_GROUP)
            counts = {g: count_by(groups.get(g, []), self.driver_or_none) for g in rows.cells}
            table = protect_table(counts, self.small_cell, columns=self.driver_columns(), row_totals=rows.cells,
                                  column_totals=self.driver_totals())
            self._group_table = (rows, table)
        return self._group_table

    def driver_columns(self) -> list[str]:
        """The codebook's drivers, then any other primary driver found, then none."""
        return list(dict.fromkeys([*self.keys, *sorted(self.by_driver.cells), NO_DRIVER]))

    def driver_totals(self) -> dict[str, Cell]:
        empty = Cell(Count(), "empty", self.small_cell)
        return {d: self.by_driver.cells.get(d, empty) for d in self.driver_columns()}
