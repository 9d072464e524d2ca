"""The theme explorer: one self-contained HTML file to browse the quotable voices offline.

The shortest working example::

    from analysis.reports.explorer import write_explorer

    path, export = write_explorer(evidence)   # under the exports dir, registered as kind "explorer"

The file holds a map of the quotable testimonies (where the last analysis
placed them: ``ThemeModel.map_``), coloured by theme or by driver; the theme
list with sizes, keywords and drivers; filters by country, driver, group,
language, kind and month; and a click on a point opens its quote with its
provenance. plotly draws the map (SVG, so no WebGL is needed); its JavaScript and
the data are inlined, so the file needs no network and no server (a laptop or a
USB stick will do). The JavaScript is plotly's small "basic" bundle where
``make install`` fetched it, else the plotly package's full one, which makes the
file open more slowly (``analysis.reports.plotlyjs``; the export's
``params["plotly_js"]`` says which).

What is in it, and what is not:

- only testimonies with ``quote`` consent that staff have not hidden, in their
  redacted form (``quote_rows``), and only those the analysis has placed;
- theme sizes as every other view shows them (``shown_themes``: people
  counted, ``<5`` cells and complementary suppression);
- the count of points a filter leaves is shown "<5" below the small-cell size;
- a self-identified group is offered as a filter only when at least
  ``LNOB_SMALL_CELL`` people on the map hold it (a rarer group would name
  the few people in it), and no quote shows its author's groups.

The file is registered in the export registry with the testimonies it quotes,
so an erasure or a consent change rebuilds it without them
(``analysis.reports``'s erasure of exports).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from corpus.errors import NotFound
from corpus.exports import ExportFile

from analysis.counting import person_of
from analysis.drivers import driver_name
from analysis.evidence import EvidenceBase
from analysis.explore import shown_themes
from analysis.languages import language_label
from analysis.reports.plotlyjs import Bundle, plotly_js
from analysis.reports.quotefiles import new_path, quote_rows, register_file

EXPLORER_KIND = "explorer"
UNTHEMED_LABEL = "unthemed"
_TEMPLATE = Path(__file__).with_name("explorer.html")


def explorer_data(evidence: EvidenceBase, *, exclude: Iterable[str] = ()) -> tuple[dict, list[str]]:
    """Everything the page shows, as JSON-ready columns (one entry per point; categories as indices), and
    the ids of the testimonies it quotes."""
    small = evidence.settings.small_cell
    assignments = {tid: a for tid, a in evidence.themes.assignments().items() if a.map_x is not None}
    rows = quote_rows(evidence, list(assignments), exclude=exclude)
    records = {r.id: r for r in evidence.store.records([row.testimony_id for row in rows])}
    themes = shown_themes(evidence)
    theme_index = {t["id"]: i for i, t in enumerate(themes)}
    columns: dict[str, list] = {name: [] for name in
                                ("id", "x", "y", "theme", "driver", "country", "language", "kind", "month",
                                 "groups", "text", "provenance")}
    categories: dict[str, dict[str, int]] = {name: {} for name in ("driver", "country", "language", "kind", "month")}

    def code(category: str, value: str) -> int:
        return categories[category].setdefault(value, len(categories[category]))

    group_people: dict[str, set] = defaultdict(set)  # distinct people per self-identified group
    for row in rows:
        record = records[row.testimony_id]
        for group in record.groups:
            group_people[group].add(person_of(record))
    groups = sorted(g for g, people in group_people.items() if len(people) >= small)
    group_index = {g: i for i, g in enumerate(groups)}
    for row in rows:
        record, assignment = records[row.testimony_id], assignments[row.testimony_id]
        columns["id"].append(row.testimony_id[:8])
        columns["x"].append(round(assignment.map_x, 4))
        columns["y"].append(round(assignment.map_y, 4))
        columns["theme"].append(theme_index.get(assignment.theme_id, -1))
        columns["driver"].append(code("driver", assignment.primary_driver or ""))
        columns["country"].append(code("country", record.country or ""))
        columns["language"].append(code("language", record.language or ""))
        columns["kind"].append(code("kind", record.kind))
        columns["month"].append(code("month", record.created_at.strftime("%Y-%m")))
        columns["groups"].append([group_index[g] for g in record.groups if g in group_index])
        columns["text"].append(row.text)
        columns["provenance"].append(row.provenance(evidence.codebook))
    names = {
        "driver": {key: driver_name(key, codebook=evidence.codebook) if key else "no driver"
                   for key in categories["driver"]},
        "country": {key: key or "country unknown" for key in categories["country"]},
        "language": {key: language_label(key) if key else "language unknown" for key in categories["language"]},
        "kind": {key: key for key in categories["kind"]},
        "month": {key: key for key in categories["month"]},
    }
    data = {
        "title": "Leave No One Behind: theme explorer",
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "small_cell": small,
        "points": columns,
        "categories": {name: [names[name][key] for key in sorted(values, key=values.get)]
                       for name, values in categories.items()},
        "groups": groups,
        "themes": [
            {
                "label": t["label"],
                "size": t["size"],
                "people": t["contributors"],
                "keywords": t["keywords"],
                "driver": driver_name(t["primary_driver"], codebook=evidence.codebook) if t["primary_driver"] else "",
                "intersecting": [driver_name(d, codebook=evidence.codebook) for d in t["intersecting_drivers"]],
            }
            for t in themes
        ],
        "unthemed_label": UNTHEMED_LABEL,
    }
    return data, [row.testimony_id for row in rows]


def render_explorer(data: dict, bundle: Bundle | None = None) -> str:
    """The explorer page for ``explorer_data``'s output: plotly.js (``bundle``, default ``plotly_js()``) and
    the data inlined, nothing fetched."""
    bundle = bundle or plotly_js()
    page = _TEMPLATE.read_text(encoding="utf-8")
    return (
        page.replace("/*PLOTLY_JS*/", _inline_script(bundle.script))
        .replace("/*EXPLORER_DATA*/", _inline_script(json.dumps(data, ensure_ascii=False, separators=(",", ":"))))
        .replace("<!--TITLE-->", _html(data["title"]))
    )


def write_explorer(
    evidence: EvidenceBase, *, created_by: str = "cli", exclude: Iterable[str] = (), title: str | None = None
) -> tuple[Path, ExportFile]:
    """Write the explorer under the exports dir and register it with the testimonies it quotes
    (``NotFound`` before the first analysis)."""
    if evidence.themes.last_run() is None:
        raise NotFound("this evidence base has not been analysed yet: there are no themes to explore")
    data, quoted = explorer_data(evidence, exclude=exclude)
    if title:
        data["title"] = title
    bundle = plotly_js()
    path = new_path(evidence.settings.exports_dir, EXPLORER_KIND, "themes", "html")
    path.write_text(render_explorer(data, bundle), encoding="utf-8")
    export = register_file(evidence, path, [], kind=EXPLORER_KIND, format="html", testimony_ids=quoted,
                           params={"plotly_js": bundle.name}, title=data["title"], created_by=created_by)
    return path, export


def _inline_script(text: str) -> str:
    """``text`` safe inside a <script> element (no closing tag or comment opener can end it early)."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
