"""Charts as PNG bytes, ready to send in chat or embed in a report.

The shortest working example::

    from analysis.charts import themes_by_size
    from analysis.explore import list_themes

    png = themes_by_size(list_themes(evidence))   # bytes, starts with b"\\x89PNG"

Three charts: themes by size coloured by their primary driver, drivers by
country, and contributions by month. Colours are the Okabe-Ito palette
(distinguishable with the common colour-vision deficiencies), each driver
always has the same colour, and the same data always gives the same bytes.

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

from analysis.counting import WITHHELD_TEXT, Breakdown, Count, Table, protect, protect_table
from analysis.drivers import NO_DRIVER, Codebook, driver_keys, driver_name

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

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
DPI = 120
LABEL_CHARS = 42
MAX_THEMES = 25
PNG_METADATA = {"Software": None}  # no matplotlib version in the file: same data, same bytes


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
) -> bytes:
    """Horizontal bars of theme sizes, largest on top, coloured by primary driver, with a legend.

    ``themes_rows`` are ``analysis.explore.list_themes`` rows (``id``,
    ``label``, ``size``, ``contributors``, ``primary_driver``), each with its
    ``cell`` (``analysis.counting.Cell``) as the rest of a report shows it;
    without cells the sizes are protected here as one breakdown. Each bar is
    annotated with its size, or "<5" / "≥5" when it is hidden. Drivers are
    named from ``codebook`` (``EvidenceBase.codebook``; None: the bundled one).
    """
    cells = _theme_cells(themes_rows, small_cell)
    rows = sorted(themes_rows, key=lambda r: (-int(r.get("size") or 0), r.get("id") or 0))
    rows = [r for r in rows if not cells[r.get("id")].suppressed] + sorted(
        (r for r in rows if cells[r.get("id")].suppressed), key=lambda r: str(r.get("id")))  # hidden bars: no order
    shown, hidden = rows[:max_themes], rows[max_themes:]
    height = 1.6 + 0.36 * max(len(shown), 1)
    figure, axes = _figure(8.5, height)
    labels = [shorten(f"#{r.get('id')} {r.get('label', '')}") for r in shown]
    values, small, texts = [], [], []
    for r in shown:
        cell = cells[r.get("id")]
        small.append(cell.suppressed)
        values.append(small_cell if cell.suppressed else int(r.get("size") or 0))
        texts.append(cell.label)
    positions = list(range(len(shown)))[::-1]
    drivers = [r.get("primary_driver") or NO_DRIVER for r in shown]
    bars = axes.barh(positions, values, color=[driver_colour(d) for d in drivers], edgecolor="white", height=0.72)
    _hatch_small(bars, small)
    axes.set_yticks(positions, labels)
    axes.set_xlabel("contributions")
    for bar, text in zip(bars, texts):
        axes.annotate(text, (bar.get_width(), bar.get_y() + bar.get_height() / 2), xytext=(3, 0),
                      textcoords="offset points", va="center", fontsize=8, color=TEXT_COLOUR)
    axes.margins(x=0.12)
    present = [d for d in (*driver_keys(codebook), NO_DRIVER) if d in drivers]
    present += sorted(set(drivers) - set(present))
    handles = [Patch(facecolor=driver_colour(d), label=driver_name(d, codebook=codebook)) for d in present]
    if any(small):
        handles.append(_small_handle(small_cell))
    if handles:
        axes.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    if not shown:
        _empty(axes)
    subtitle = f" (top {max_themes} of {len(rows)})" if hidden else ""
    axes.set_title(shorten(title, 70) + subtitle, loc="left", fontsize=11, color=TEXT_COLOUR)
    return _png(figure)


def drivers_by_country(
    counts: Mapping[str, Mapping[str, int]],
    *,
    contributors: Mapping[str, Mapping[str, int]] | None = None,
    small_cell: int = 5,
    title: str = "Contributions by driver and country",
    cells: Table | None = None,
    codebook: Codebook | None = None,
) -> bytes:
    """Grouped bars: for each country, one bar per driver (``counts[country][driver]``).

    Countries and drivers add up (to the breakdowns by country and by
    driver), so the cells are protected as a table (``cells``: as the rest
    of a report shows them, e.g. for more places than are drawn; else
    protected here, a cell's people from ``contributors``). A hidden cell is
    drawn hatched up to the threshold and labelled "<5" or "≥5". Zero cells
    are left empty: an absent driver is itself a finding. A table that
    cannot be shown safely is not drawn. Drivers are named from ``codebook`` (None: the bundled one).
    """
    if cells is None:
        people = contributors if contributors is not None else counts
        cells = protect_table({c: {d: Count(int(n), int(people.get(c, {}).get(d, n))) for d, n in row.items()}
                               for c, row in counts.items()}, small_cell)
    countries = sorted(counts)
    present = {d for c in counts.values() for d, n in c.items() if n}
    known = driver_keys(codebook)
    keys = [d for d in known if d in present] + sorted(present - set(known))
    if cells.withheld:
        countries, keys = [], []
    width = 0.8 / max(len(keys), 1)
    figure, axes = _figure(min(11.0, max(6.0, 1.2 + 0.3 * len(countries) * max(len(keys), 1))), 4.4)
    any_small = False
    for j, driver in enumerate(keys):
        xs, values, small, texts = [], [], [], []
        for i, country in enumerate(countries):
            n = int(counts[country].get(driver, 0))
            if not n:
                continue
            cell = cells.cells[(country, driver)]
            xs.append(i - 0.4 + width * (j + 0.5))
            values.append(small_cell if cell.suppressed else n)
            small.append(cell.suppressed)
            texts.append(cell.label)
        bars = axes.bar(xs, values, width=width * 0.92, color=driver_colour(driver))
        _hatch_small(bars, small)
        any_small = any_small or any(small)
        if len(countries) * len(keys) <= 20:
            for bar, text in zip(bars, texts):
                axes.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                              xytext=(0, 2), textcoords="offset points", ha="center", fontsize=7, color=TEXT_COLOUR)
    axes.set_xticks(range(len(countries)), countries)
    axes.set_ylabel("contributions")
    axes.margins(y=0.12)
    if keys:
        handles = [Patch(facecolor=driver_colour(d), label=driver_name(d, codebook=codebook)) for d in keys]
        if any_small:
            handles.append(_small_handle(small_cell))
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    else:
        _empty(axes, WITHHELD_TEXT if cells.withheld else None)
    axes.set_title(shorten(title, 70), loc="left", fontsize=11, color=TEXT_COLOUR)
    return _png(figure)


def theme_by_month(
    by_month: Mapping[str, int],
    *,
    contributors: Mapping[str, int] | None = None,
    small_cell: int = 5,
    title: str = "Contributions by month",
    colour: str | None = None,
    cells: Breakdown | None = None,
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
    figure, axes = _figure(max(6.0, 1.5 + 0.45 * len(months)), 3.8)
    values, small, texts = [], [], []
    for month in months:
        n = int(by_month.get(month, 0))
        cell = cells.cells.get(month)
        hidden = cell is not None and cell.suppressed and n > 0
        values.append(small_cell if hidden else n)
        small.append(hidden)
        texts.append(cell.label if hidden else str(n))
    bars = axes.bar(range(len(months)), values, color=colour or DRIVER_COLOURS["governance"], width=0.75)
    _hatch_small(bars, small)
    if len(months) <= 24:
        for bar, value, text in zip(bars, values, texts):
            if value:
                axes.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                              xytext=(0, 2), textcoords="offset points", ha="center", fontsize=7, color=TEXT_COLOUR)
    step = max(1, len(months) // 12)
    axes.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right")
    axes.set_ylabel("contributions")
    axes.margins(y=0.12)
    if any(small):
        axes.legend(handles=[_small_handle(small_cell)], loc="upper left", fontsize=8, frameon=False)
    if not months:
        _empty(axes, WITHHELD_TEXT if cells.withheld else None)
    axes.set_title(shorten(title, 70), loc="left", fontsize=11, color=TEXT_COLOUR)
    return _png(figure)


# -- drawing --------------------------------------------------------------------------


def _figure(width: float, height: float):
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(labelsize=8, colors=TEXT_COLOUR)
    return figure, axes


def _hatch_small(bars, small: Sequence[bool]) -> None:
    for bar, is_small in zip(bars, small):
        if is_small:
            bar.set_hatch("///")
            bar.set_edgecolor(TEXT_COLOUR)
            bar.set_alpha(0.45)


def _small_handle(small_cell: int) -> Patch:
    return Patch(facecolor="white", edgecolor=TEXT_COLOUR, hatch="///",
                 label=f"fewer than {small_cell} people, or hidden with them (not to scale)")


def _theme_cells(rows: Sequence[Mapping], small_cell: int) -> dict:
    """Each row's cell: its own ``cell``, else the sizes protected as one breakdown."""
    if all(r.get("cell") is not None for r in rows):
        return {r.get("id"): r["cell"] for r in rows}
    counts = {r.get("id"): Count(int(r.get("size") or 0), int(r["contributors"]) if r.get("contributors") is not None
                                 else int(r.get("size") or 0)) for r in rows}
    return protect(counts, small_cell).cells


def _empty(axes, note: str | None = None) -> None:
    axes.text(0.5, 0.5, shorten(note, 60) if note else "no data", transform=axes.transAxes, ha="center", va="center",
              color=TEXT_COLOUR)
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
