"""Charts as PNG bytes, ready to send in chat or embed in a report.

The shortest working example::

    from analysis.charts import themes_by_size
    from analysis.explore import list_themes

    png = themes_by_size(list_themes(evidence))   # bytes, starts with b"\\x89PNG"

Five charts: themes by size coloured by their primary driver, contributions
by primary driver (largest first), drivers by country (places largest first,
drivers in the codebook's order), contributions by month, and a heatmap of
a protected table (places or groups by driver). Colours are the Okabe-Ito
palette (distinguishable with the common colour-vision deficiencies), each
driver always has the same colour, the heatmap's scale runs from white to the
palette's blue (read by lightness alone), and the same data always gives the
same bytes.

Legible on paper: every chart is drawn at the width it is printed at
(``PRINT_WIDTH_IN``, the text width of an A4 page; ``analysis.reports.wordfile``
inserts it at that width) and no text on it is smaller than ``MIN_FONT``
points. Its words can be given in the report's language (``ChartTexts``).

Small cells: a chart shows counts under the small-cell rule of
``analysis.counting``, as tables do. A bar that stands for fewer than
``small_cell`` contributors ("<5"), or that is hidden so that such a bar
cannot be worked out from a total ("≥5"), is never drawn at its true length
nor labelled with its number: it is drawn hatched, up to the threshold, and
labelled "<5" or "≥5". Pass the cells as the rest of a report shows them
(``cells=``), or the chart protects its numbers itself.

Matplotlib runs on the Agg backend through ``Figure`` objects, never
through ``pyplot``'s global state, so charts can be drawn from any thread of
the bot.
"""

from __future__ import annotations

import io
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from analysis.counting import EMPTY, OPEN, WITHHELD_TEXT, Breakdown, Cell, Count, Table, protect, protect_table
from analysis.drivers import NO_DRIVER, Codebook, driver_keys, driver_name

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

# Okabe & Ito (2008): a palette safe for deuteranopia, protanopia and tritanopia.
DRIVER_COLOURS = {
    "discrimination": "#E69F00",  # orange
    "geography": "#009E73",  # bluish green
    "governance": "#0072B2",  # blue
    "socio_economic": "#CC79A7",  # reddish purple
    "shocks": "#D55E00",  # vermillion
    NO_DRIVER: "#999999",  # grey
}
EXTRA_COLOURS = ("#56B4E9", "#F0E442", "#000000")  # sky blue, yellow, black: drivers beyond the five
TEXT_COLOUR = "#222222"
HEAT_COLOUR = "#0072B2"  # the heatmap's darkest cell: Okabe-Ito blue
DPI = 160
PRINT_WIDTH_IN = 6.3  # 160 mm: the text width of an A4 page with 20 mm margins, where reports print charts
MIN_FONT = 8  # points, at the printed size
TITLE_FONT = 10
LABEL_CHARS = 42
MAX_THEMES = 25
MAX_HEAT_ROWS = 30
PNG_METADATA = {"Software": None}  # no matplotlib version in the file: same data, same bytes


@dataclass(frozen=True)
class ChartTexts:
    """The words a chart writes besides its data, in one language (English by default).

    ``hidden`` takes ``{small}``; ``drivers`` names drivers (key -> name), else
    they are named from the codebook.
    """

    contributions: str = "contributions"
    hidden: str = "fewer than {small} people, or hidden with them (not to scale)"
    no_data: str = "no data"
    withheld: str = WITHHELD_TEXT
    no_driver: str = "No driver"
    drivers: Mapping[str, str] = field(default_factory=dict)

    def driver(self, key: str | None, codebook: Codebook | None = None) -> str:
        """A driver's display name."""
        if not key or key == NO_DRIVER:
            return self.no_driver
        return self.drivers.get(key) or driver_name(key, codebook=codebook)


ENGLISH = ChartTexts()


def driver_colour(key: str | None) -> str:
    """The fixed colour of a driver (grey for none)."""
    key = key or NO_DRIVER
    if key in DRIVER_COLOURS:
        return DRIVER_COLOURS[key]
    return EXTRA_COLOURS[sum(map(ord, key)) % len(EXTRA_COLOURS)]


def shorten(label: str, width: int = LABEL_CHARS) -> str:
    """A label cut at a word boundary to at most ``width`` characters, with an ellipsis."""
    printable = "".join(c for c in str(label) if unicodedata.category(c) != "Cc")
    return textwrap.shorten(" ".join(printable.split()), width=width, placeholder="…")


# -- the charts -----------------------------------------------------------------------


def themes_by_size(
    themes_rows: Sequence[Mapping],
    *,
    small_cell: int = 5,
    max_themes: int = MAX_THEMES,
    title: str = "Themes by size",
    codebook: Codebook | None = None,
    texts: ChartTexts = ENGLISH,
) -> bytes:
    """Horizontal bars of theme sizes, largest on top, coloured by primary driver, with a legend.

    ``themes_rows`` are ``analysis.explore.list_themes`` rows (``id``,
    ``label``, ``size``, ``contributors``, ``primary_driver``), each with its
    ``cell`` (``analysis.counting.Cell``) as the rest of a report shows it;
    without cells the sizes are protected here as one breakdown. Each bar is
    annotated with its size, or "<5" / "≥5" when it is hidden. Drivers are
    named from ``texts``, else from ``codebook`` (``EvidenceBase.codebook``; None: the bundled one).
    """
    cells = _theme_cells(themes_rows, small_cell)
    rows = sorted(themes_rows, key=lambda r: (-int(r.get("size") or 0), r.get("id") or 0))
    rows = [r for r in rows if not cells[r.get("id")].suppressed] + sorted(
        (r for r in rows if cells[r.get("id")].suppressed), key=lambda r: str(r.get("id")))  # hidden bars: no order
    shown, hidden = rows[:max_themes], rows[max_themes:]
    figure, axes = _figure(PRINT_WIDTH_IN, 1.5 + 0.3 * max(len(shown), 1))
    labels = [shorten(f"#{r.get('id')} {r.get('label', '')}") for r in shown]
    values, small, texts_on_bars = [], [], []
    for r in shown:
        cell = cells[r.get("id")]
        small.append(cell.suppressed)
        values.append(small_cell if cell.suppressed else int(r.get("size") or 0))
        texts_on_bars.append(cell.label)
    positions = list(range(len(shown)))[::-1]
    drivers = [r.get("primary_driver") or NO_DRIVER for r in shown]
    bars = axes.barh(positions, values, color=[driver_colour(d) for d in drivers], edgecolor="white", height=0.72)
    _hatch_small(bars, small)
    axes.set_yticks(positions, labels)
    axes.set_xlabel(texts.contributions, fontsize=MIN_FONT)
    _annotate_right(axes, bars, texts_on_bars)
    axes.margins(x=0.12)
    present = [d for d in (*driver_keys(codebook), NO_DRIVER) if d in drivers]
    present += sorted(set(drivers) - set(present))
    handles = [Patch(facecolor=driver_colour(d), label=texts.driver(d, codebook)) for d in present]
    if any(small):
        handles.append(_small_handle(small_cell, texts))
    if handles:
        axes.legend(handles=handles, loc="lower right", fontsize=MIN_FONT, frameon=False)
    if not shown:
        _empty(axes, texts.no_data)
    subtitle = f" ({len(shown)}/{len(rows)})" if hidden else ""
    _title(axes, shorten(title, 70) + subtitle)
    return _png(figure)


def drivers_by_size(
    drivers: Breakdown,
    *,
    small_cell: int = 5,
    title: str = "Contributions by primary driver",
    codebook: Codebook | None = None,
    texts: ChartTexts = ENGLISH,
) -> bytes:
    """Horizontal bars, one per driver (``drivers``: the protected breakdown of contributions by primary
    driver), in the order the breakdown shows them: largest first, hidden ones after, "No driver" last.

    A hidden bar is hatched, drawn to the threshold and labelled "<5" or "≥5"; a
    withheld breakdown is not drawn.
    """
    keys = [] if drivers.withheld else [k for k in drivers.cells if k != NO_DRIVER]
    if not drivers.withheld and NO_DRIVER in drivers.cells and drivers.cells[NO_DRIVER].count.contributions:
        keys.append(NO_DRIVER)
    figure, axes = _figure(PRINT_WIDTH_IN, 1.4 + 0.38 * max(len(keys), 1))
    cells = [drivers.cells[k] for k in keys]
    values = [small_cell if c.suppressed else c.count.contributions for c in cells]
    positions = list(range(len(keys)))[::-1]
    bars = axes.barh(positions, values, color=[driver_colour(k) for k in keys], edgecolor="white", height=0.7)
    _hatch_small(bars, [c.suppressed for c in cells])
    axes.set_yticks(positions, [textwrap.fill(texts.driver(k, codebook), 26) for k in keys])
    axes.set_xlabel(texts.contributions, fontsize=MIN_FONT)
    _annotate_right(axes, bars, [c.label for c in cells])
    axes.margins(x=0.12)
    if any(c.suppressed for c in cells):
        axes.legend(handles=[_small_handle(small_cell, texts)], loc="lower right", fontsize=MIN_FONT, frameon=False)
    if not keys:
        _empty(axes, texts.withheld if drivers.withheld else texts.no_data)
    _title(axes, shorten(title, 70))
    return _png(figure)


def drivers_by_country(
    counts: Mapping[str, Mapping[str, int]],
    *,
    contributors: Mapping[str, Mapping[str, int]] | None = None,
    small_cell: int = 5,
    title: str = "Contributions by driver and country",
    cells: Table | None = None,
    codebook: Codebook | None = None,
    texts: ChartTexts = ENGLISH,
) -> bytes:
    """Grouped bars: for each country, one bar per driver (``counts[country][driver]``).

    Places come in the order given (``analysis.reports.figures`` gives them
    largest first, as the breakdown by place shows them), drivers in the
    codebook's order. Countries and drivers add up (to the breakdowns by
    country and by driver), so the cells are protected as a table (``cells``:
    as the rest of a report shows them, e.g. for more places than are drawn;
    else protected here, a cell's people from ``contributors``). A hidden cell
    is drawn hatched up to the threshold and labelled "<5" or "≥5". Zero cells
    are left empty: an absent driver is itself a finding. A table that cannot
    be shown safely is not drawn. Drivers are named from ``texts``, else ``codebook``.
    """
    if cells is None:
        people = contributors if contributors is not None else counts
        cells = protect_table({c: {d: Count(int(n), int(people.get(c, {}).get(d, n))) for d, n in row.items()}
                               for c, row in counts.items()}, small_cell)
    countries = list(counts)
    present = {d for c in counts.values() for d, n in c.items() if n}
    known = driver_keys(codebook)
    keys = [d for d in known if d in present] + sorted(present - set(known))
    if cells.withheld:
        countries, keys = [], []
    width = 0.8 / max(len(keys), 1)
    figure, axes = _figure(PRINT_WIDTH_IN, 4.2)
    any_small = False
    for j, driver in enumerate(keys):
        xs, values, small, labels = [], [], [], []
        for i, country in enumerate(countries):
            n = int(counts[country].get(driver, 0))
            if not n:
                continue
            cell = cells.cells[(country, driver)]
            xs.append(i - 0.4 + width * (j + 0.5))
            values.append(small_cell if cell.suppressed else n)
            small.append(cell.suppressed)
            labels.append(cell.label)
        bars = axes.bar(xs, values, width=width * 0.92, color=driver_colour(driver))
        _hatch_small(bars, small)
        any_small = any_small or any(small)
        if len(countries) * len(keys) <= 20:
            for bar, text in zip(bars, labels):
                axes.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), xytext=(0, 2),
                              textcoords="offset points", ha="center", fontsize=MIN_FONT, color=TEXT_COLOUR)
    axes.set_xticks(range(len(countries)), [shorten(c, 14) for c in countries],
                    rotation=30 if len(countries) > 6 else 0, ha="right" if len(countries) > 6 else "center")
    axes.set_ylabel(texts.contributions, fontsize=MIN_FONT)
    axes.margins(y=0.12)
    if keys:
        handles = [Patch(facecolor=driver_colour(d), label=texts.driver(d, codebook)) for d in keys]
        if any_small:
            handles.append(_small_handle(small_cell, texts))
        axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14 if len(countries) <= 6 else -0.3),
                    ncol=3, fontsize=MIN_FONT, frameon=False)
    else:
        _empty(axes, texts.withheld if cells.withheld else texts.no_data)
    _title(axes, shorten(title, 70))
    return _png(figure)


def theme_by_month(
    by_month: Mapping[str, int],
    *,
    contributors: Mapping[str, int] | None = None,
    small_cell: int = 5,
    title: str = "Contributions by month",
    colour: str | None = None,
    cells: Breakdown | None = None,
    texts: ChartTexts = ENGLISH,
) -> bytes:
    """Bars of contributions per month (``"YYYY-MM"`` keys; months in between are shown as zero).

    The months are a breakdown of the total (``cells``: as the rest of a
    report shows them; else protected here, each month's people from
    ``contributors``): hidden months are hatched up to the threshold and
    labelled "<5" or "≥5", as in the other charts. Months that cannot be
    shown safely are not drawn.
    """
    if cells is None:
        people = contributors if contributors is not None else by_month
        cells = protect({m: Count(int(n), int(people.get(m, n))) for m, n in by_month.items()}, small_cell)
    months = [] if cells.withheld else _month_range(sorted(by_month))
    figure, axes = _figure(PRINT_WIDTH_IN, 3.4)
    values, small, labels = [], [], []
    for month in months:
        n = int(by_month.get(month, 0))
        cell = cells.cells.get(month)
        hidden = cell is not None and cell.suppressed and n > 0
        values.append(small_cell if hidden else n)
        small.append(hidden)
        labels.append(cell.label if hidden else str(n))
    bars = axes.bar(range(len(months)), values, color=colour or DRIVER_COLOURS["governance"], width=0.75)
    _hatch_small(bars, small)
    if len(months) <= 24:
        for bar, value, text in zip(bars, values, labels):
            if value:
                axes.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), xytext=(0, 2),
                              textcoords="offset points", ha="center", fontsize=MIN_FONT, color=TEXT_COLOUR)
    step = max(1, len(months) // 12)
    axes.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right")
    axes.set_ylabel(texts.contributions, fontsize=MIN_FONT)
    axes.margins(y=0.15)
    if any(small):
        axes.legend(handles=[_small_handle(small_cell, texts)], loc="upper left", fontsize=MIN_FONT, frameon=False)
    if not months:
        _empty(axes, texts.withheld if cells.withheld else texts.no_data)
    _title(axes, shorten(title, 70))
    return _png(figure)


def heatmap(
    table: Table,
    rows: Sequence[str],
    columns: Sequence[str],
    *,
    row_names: Mapping[str, str] | None = None,
    column_names: Mapping[str, str] | None = None,
    small_cell: int = 5,
    title: str = "",
    texts: ChartTexts = ENGLISH,
) -> bytes:
    """A grid of a protected table (``analysis.counting.protect_table``): ``rows`` by ``columns`` in the order
    given, each cell shaded by its count and labelled as the table shows it.

    Shown cells go from white (few) to blue (the most), labelled with their
    number; a cell hidden under the small-cell rule is hatched grey and
    labelled "<5" or "≥5", never shaded by its count; an empty cell is white
    and labelled 0, since an absent combination is itself a finding. A table
    that cannot be shown safely (``table.withheld``) is not drawn. At most
    ``MAX_HEAT_ROWS`` rows are drawn.
    """
    rows = [] if table.withheld else list(rows)[:MAX_HEAT_ROWS]
    columns = [] if table.withheld else list(columns)
    row_names, column_names = row_names or {}, column_names or {}
    height = 1.5 + 0.3 * max(len(rows), 1)
    figure, axes = _figure(PRINT_WIDTH_IN, height)
    cells = {(r, c): table.cells.get((r, c)) for r in rows for c in columns}
    shown = [cell.count.contributions for cell in cells.values() if cell is not None and cell.state == OPEN]
    top = max(shown, default=1) or 1
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            cell = cells[(row, column)] or Cell(Count(), EMPTY, small_cell)
            _heat_cell(axes, j, len(rows) - 1 - i, cell, top)
    axes.set_xlim(0, max(len(columns), 1))
    axes.set_ylim(0, max(len(rows), 1))
    axes.set_xticks([j + 0.5 for j in range(len(columns))],
                    [textwrap.fill(column_names.get(c, c), 14) for c in columns])
    axes.xaxis.tick_top()
    axes.set_yticks([len(rows) - 1 - i + 0.5 for i in range(len(rows))],
                    [shorten(row_names.get(r, r), 30) for r in rows])
    axes.tick_params(length=0)
    for side in ("left", "bottom"):
        axes.spines[side].set_visible(False)
    if any(cell is not None and cell.suppressed for cell in cells.values()):
        axes.legend(handles=[_small_handle(small_cell, texts)], loc="upper left", bbox_to_anchor=(0.0, 0.0),
                    fontsize=MIN_FONT, frameon=False)
    if not rows:
        _empty(axes, texts.withheld if table.withheld else texts.no_data)
    if title:
        figure.suptitle(shorten(title, 80), x=0.02, ha="left", fontsize=TITLE_FONT, color=TEXT_COLOUR)
    return _png(figure)


# -- drawing --------------------------------------------------------------------------


def _figure(width: float, height: float):
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(labelsize=MIN_FONT, colors=TEXT_COLOUR)
    return figure, axes


def _title(axes, title: str) -> None:
    axes.set_title(title, loc="left", fontsize=TITLE_FONT, color=TEXT_COLOUR)


def _annotate_right(axes, bars, labels: Sequence[str]) -> None:
    for bar, text in zip(bars, labels):
        axes.annotate(text, (bar.get_width(), bar.get_y() + bar.get_height() / 2), xytext=(3, 0),
                      textcoords="offset points", va="center", fontsize=MIN_FONT, color=TEXT_COLOUR)


def _heat_cell(axes, x: int, y: int, cell: Cell, top: int) -> None:
    """One square of the heatmap: shaded by its count when shown, hatched when hidden, white when empty."""
    if cell.state == OPEN:
        share = 0.12 + 0.88 * cell.count.contributions / top
        blue = to_rgb(HEAT_COLOUR)
        colour = tuple(1 - share * (1 - c) for c in blue)
        ink = "white" if share > 0.6 else TEXT_COLOUR
        axes.add_patch(Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="white", linewidth=1.5))
    elif cell.suppressed:
        axes.add_patch(Rectangle((x, y), 1, 1, facecolor="#eeeeee", edgecolor="white", linewidth=1.5))
        axes.add_patch(Rectangle((x, y), 1, 1, facecolor="none", edgecolor="#aaaaaa", hatch="///", linewidth=0))
        ink = TEXT_COLOUR
    else:
        axes.add_patch(Rectangle((x, y), 1, 1, facecolor="white", edgecolor="#dddddd", linewidth=0.8))
        ink = "#777777"
    axes.text(x + 0.5, y + 0.5, cell.label, ha="center", va="center", fontsize=MIN_FONT, color=ink,
              fontweight="bold" if cell.suppressed else "normal",
              bbox={"facecolor": "white", "edgecolor": "none", "pad": 1} if cell.suppressed else None)


def _hatch_small(bars, small: Sequence[bool]) -> None:
    for bar, is_small in zip(bars, small):
        if is_small:
            bar.set_hatch("///")
            bar.set_edgecolor(TEXT_COLOUR)
            bar.set_alpha(0.45)


def _small_handle(small_cell: int, texts: ChartTexts = ENGLISH) -> Patch:
    return Patch(facecolor="white", edgecolor=TEXT_COLOUR, hatch="///", label=texts.hidden.format(small=small_cell))


def _theme_cells(rows: Sequence[Mapping], small_cell: int) -> dict:
    """Each row's cell: its own ``cell``, else the sizes protected as one breakdown."""
    if all(r.get("cell") is not None for r in rows):
        return {r.get("id"): r["cell"] for r in rows}
    counts = {r.get("id"): Count(int(r.get("size") or 0), int(r["contributors"]) if r.get("contributors") is not None
                                 else int(r.get("size") or 0)) for r in rows}
    return protect(counts, small_cell).cells


def _empty(axes, note: str) -> None:
    axes.text(0.5, 0.5, shorten(note, 60), transform=axes.transAxes, ha="center", va="center",
              fontsize=MIN_FONT, color=TEXT_COLOUR)
    axes.set_xticks([])
    axes.set_yticks([])


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata=PNG_METADATA, facecolor="white")
    return buffer.getvalue()


def _month_range(months: Sequence[str]) -> list[str]:
    """Every ``YYYY-MM`` from the first to the last given (unparseable keys kept as they are)."""
    try:
        pairs = [tuple(int(p) for p in m.split("-")[:2]) for m in months]
    except ValueError:
        return list(months)
    if not pairs:
        return []
    (year, month), last = pairs[0], pairs[-1]
    out = []
    while (year, month) <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
