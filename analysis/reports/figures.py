"""Figures drawn from the evidence, for chat and for reports: themes by size, drivers by place, a theme by month.

The shortest working example::

    from analysis.reports.figures import drivers_chart, theme_month_chart, themes_chart

    png = themes_chart(evidence, "NP")        # bytes, starts with b"\\x89PNG"

Each counts as the rest of the reports do (``analysis.reports.scope``,
``analysis.counting``), and ``analysis.charts`` draws it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from corpus.store import TestimonyFilter, TestimonyRecord

from analysis import charts
from analysis.counting import Cell, Count, count_by, count_of, protect, protect_table
from analysis.counting import Table as CountTable
from analysis.drivers import NO_DRIVER
from analysis.evidence import EvidenceBase
from analysis.explore import theme_members
from analysis.reports.quotefiles import readable_codebook
from analysis.reports.scope import PLACE, ReportScope, ThemeInScope, group_by
from analysis.reports.wording import Wording

MAX_REGIONS_CHARTED = 12


def chart_texts(words: Wording) -> charts.ChartTexts:
    """The words a chart writes besides its data, in a report's language."""
    keys = words.codebook.keys if words.codebook is not None else ()
    return charts.ChartTexts(contributions=words("axis_contributions"), hidden=words("chart_hidden", small="{small}"),
                             no_data=words("chart_no_data"), withheld=words("withheld"), no_driver=words("no_driver"),
                             drivers={key: words.driver(key) for key in keys})


def chart_rows(themes: Sequence[ThemeInScope], cells: dict[int, Cell]) -> list[dict]:
    """Rows for ``charts.themes_by_size``, each with its size's cell as the report shows it."""
    return [{"id": t.id, "label": t.label, "size": len(t.members), "contributors": count_of(t.members).contributors,
             "primary_driver": t.primary_driver, "cell": cells[t.id]} for t in themes]


def driver_place_table(
    records: Sequence[TestimonyRecord],
    driver_of: Callable[[TestimonyRecord], str | None],
    place: Callable[[TestimonyRecord], str],
    small_cell: int = 5,
    drivers: Sequence[str] = (),
) -> tuple[dict[str, dict[str, int]], CountTable]:
    """Contributions per place and primary driver (none: ``NO_DRIVER``), and the table protected as
    a whole (``analysis.counting.protect_table``), its totals as the breakdowns by place and by driver show
    them on their own (``/gaps``, a report's summary). Places come as that breakdown shows them."""
    driver = lambda r: driver_of(r) or NO_DRIVER  # noqa: E731
    by_place = group_by(records, place)
    places = protect({p: count_of(v) for p, v in by_place.items()}, small_cell)
    by_driver = protect(count_by(records, driver), small_cell)
    columns = list(dict.fromkeys([*drivers, *sorted(by_driver.cells), NO_DRIVER]))
    empty = Cell(Count(), "empty", small_cell)
    table = protect_table({p: count_by(by_place[p], driver) for p in places.cells}, small_cell, columns=columns,
                          row_totals=places.cells, column_totals={d: by_driver.cells.get(d, empty) for d in columns})
    counts = {p: {d: n for d in columns if (n := table.cells[(p, d)].count.contributions)} for p in places.cells}
    return counts, table


def themes_chart(evidence: EvidenceBase, country: str | None = None) -> bytes:
    """PNG: the themes by size (within ``country`` if given), coloured by primary driver."""
    scope = ReportScope(evidence, country).read()
    title = "Themes by size" + (f" in {scope.country}" if scope.country else "")
    return charts.themes_by_size(chart_rows(scope.themes, scope.theme_cells), small_cell=scope.small_cell,
                                 title=title, codebook=scope.codebook)


def drivers_chart(evidence: EvidenceBase, country: str | None = None) -> bytes:
    """PNG: contributions by primary driver per country, or per region within ``country``."""
    where = TestimonyFilter(country=country) if country else None
    records = evidence.store.records(where=where)
    assignments = evidence.themes.assignments() if records else {}
    place_name = "region" if country else "country"

    def driver_of(record: TestimonyRecord) -> str | None:
        assignment = assignments.get(record.id)
        return assignment.primary_driver if assignment is not None else None

    small = evidence.settings.small_cell
    counts, table = driver_place_table(records, driver_of, PLACE[place_name], small)
    top = dict(list(counts.items())[:MAX_REGIONS_CHARTED])
    title = f"Contributions by driver and {place_name}" + (f" in {country.upper()}" if country else "")
    return charts.drivers_by_country(top, small_cell=small, title=title, cells=table,
                                     codebook=readable_codebook(evidence))


def theme_month_chart(evidence: EvidenceBase, theme_id: int, country: str | None = None) -> bytes:
    """PNG: a theme's contributions by month (within ``country`` if given)."""
    theme = evidence.themes.theme(theme_id)
    records = theme_members(evidence, theme_id)
    if country:
        records = [r for r in records if r.country == country.upper()]
    months = count_by(records, lambda r: r.created_at.strftime("%Y-%m"))  # as `lnob theme` shows them
    small = evidence.settings.small_cell
    return charts.theme_by_month({m: c.contributions for m, c in months.items()}, small_cell=small,
                                 cells=protect(months, small), title=f"#{theme.id} {theme.label}: contributions by month",
                                 colour=charts.driver_colour(theme.primary_driver))
