"""A report's gaps: heatmaps of places and groups by driver, a short list of the largest gaps, and where partners'
evidence overlaps or only one partner speaks.

The heatmaps draw the tables as the rest of the report protects them
(``ReportScope.place_table``, ``group_table``): a cell under the small-cell rule
is hatched and marked "<5" (or "≥5" when hidden with one), and a table that
cannot be shown safely is not drawn. The largest gaps are read from the same
tables, so an empty combination is named only where the table is shown.
"""

from __future__ import annotations

from collections import Counter

from analysis import charts
from analysis.counting import count_of
from analysis.counting import Table as CountTable
from analysis.reports.outline import GAPS, GAP_GROUPS, GAP_PLACES, LARGEST_GAPS, OVERLAPS, SINGLE_PARTNER, theme_anchor
from analysis.reports.documents import Block, Bullets, Chart, Heading, Link, Paragraph, Table
from analysis.reports.figures import chart_texts
from analysis.reports.scope import BREAKDOWN_KEYS, NO_GROUP, PLACE, ReportScope, group_by
from analysis.reports.wording import Wording

LARGEST = 3  # drivers (or groups) named in each line of the largest gaps
NAMED = 5  # places or groups named in one line


def gaps_section(scope: ReportScope, words: Wording) -> list[Block]:
    blocks: list[Block] = [Heading(words("h_gaps"), anchor=GAPS),
                           Paragraph(words("gaps_intro", small=scope.small_cell))]
    if not scope.records:
        return blocks + [Paragraph(words("no_contributions"))]
    blocks += _place_heatmap(scope, words)
    blocks += _group_heatmap(scope, words)
    blocks += [Heading(words("h_largest_gaps"), level=2, anchor=LARGEST_GAPS),
               Bullets(largest_gaps(scope, words) or [words("gaps_none", small=scope.small_cell)])]
    blocks += _overlaps(scope, words)
    return blocks


def _columns(scope: ReportScope, table: CountTable) -> list[str]:
    """The drivers in the codebook's order, then "No driver" when any contribution has none."""
    return [d for d in scope.driver_columns() if d in scope.keys or table.columns[d].count.contributions]


def _place_heatmap(scope: ReportScope, words: Wording) -> list[Block]:
    """Places by driver: the heatmap, then the numbers behind it as a table (for screen readers and copying)."""
    table = scope.place_table()
    country = scope.country is None
    key = "countries" if country else "regions"
    blocks: list[Block] = [Heading(words(f"h_{key}_drivers"), level=2, anchor=GAP_PLACES)]
    if table.withheld:
        return blocks + [Paragraph(words(f"heatmap_withheld_{key}"))]
    places = scope.places()
    names = {p: words.country(p) if country else p for p in places.cells}
    columns = _columns(scope, table)
    png = charts.heatmap(table, list(places.cells), columns, row_names=names,
                         column_names={d: words.driver(d) for d in columns}, small_cell=scope.small_cell,
                         texts=chart_texts(words), title=words(f"h_{key}_drivers"))
    total = len(places.cells)
    note = words("heatmap_more", shown=charts.MAX_HEAT_ROWS, total=total) if total > charts.MAX_HEAT_ROWS else ""
    caption = words(f"heatmap_caption_{key}", small_mark=words.small_mark, hidden_mark=words.hidden_mark)
    rows = [[names[p], cell.label, cell.people, *(table.cells[(p, d)].label for d in scope.keys)]
            for p, cell in places.items()]  # as the breakdown shows them: hidden places after the others
    headers = [words("col_country" if country else "col_region"), words("col_contributions"),
               words("col_contributors"), *(words.driver(d) for d in scope.keys)]
    return blocks + [Chart(f"heatmap-{key}", png, (caption + " " + note).strip()),
                     Paragraph(words("heatmap_numbers")), Table(headers, rows)]


def _group_heatmap(scope: ReportScope, words: Wording) -> list[Block]:
    """Groups by driver: the heatmap, then the numbers behind it."""
    groups, table = scope.group_table()
    blocks: list[Block] = [Heading(words("h_groups_drivers"), level=2, anchor=GAP_GROUPS)]
    if table.withheld:
        return blocks + [Paragraph(words("heatmap_withheld_groups"))]
    names = {g: _group_name(words, g) for g in groups.cells}
    columns = _columns(scope, table)
    png = charts.heatmap(table, list(groups.cells), columns, row_names=names,
                         column_names={d: words.driver(d) for d in columns}, small_cell=scope.small_cell,
                         texts=chart_texts(words), title=words("h_groups_drivers"))
    rows = [[names[g], cell.label, *(table.cells[(g, d)].label for d in scope.keys)] for g, cell in groups.items()]
    headers = [words("col_group"), words("col_contributions"), *(words.driver(d) for d in scope.keys)]
    caption = words("heatmap_caption_groups", small_mark=words.small_mark, hidden_mark=words.hidden_mark)
    return blocks + [Chart("heatmap-groups", png, caption), Paragraph(words("heatmap_numbers")), Table(headers, rows)]


def largest_gaps(scope: ReportScope, words: Wording) -> list:
    """A few readable lines: who is least heard, where the evidence is thin, and which drivers places and groups
    say nothing about (read from the protected tables, only where they are shown)."""
    small = scope.small_cell
    by_group = group_by(scope.records, lambda r: r.groups)
    thin = [g for g in scope.all_groups if by_group.get(g) and count_of(by_group[g]).is_small(small)]
    lines: list = []
    if thin:
        names = words.listing((_group_name(words, g) for g in thin), NAMED)
        lines.append(words("gap_thin_groups", small=small, groups=names))
    lines += _absent_groups(scope, words)
    by_place = group_by(scope.records, PLACE[scope.place_name])
    thin_places = [p for p in scope.places().cells if p in by_place and count_of(by_place[p]).is_small(small)]
    if thin_places:
        names = [words.country(p) if scope.country is None else p for p in thin_places]
        key = "gap_thin_countries" if scope.country is None else "gap_thin_regions"
        lines.append(words(key, small=small, places=words.listing(names, NAMED), count=len(thin_places),
                           total=len(scope.places().cells)))
    lines += _silent_places(scope, words)
    lines += _silent_groups(scope, words)
    absent = [words.driver(k) for k in scope.keys if not scope.by_driver.cells.get(k) or
              not scope.by_driver.cells[k].count.contributions]
    if absent:
        lines.append(words("gap_absent_drivers", drivers=words.listing(absent)))
    return lines


def _absent_groups(scope: ReportScope, words: Wording) -> list[str]:
    by_group = group_by(scope.records, lambda r: r.groups)
    if scope.country:
        absent = [g for g in scope.all_groups if not by_group.get(g)]
        if not absent:
            return []
        return [words("gap_absent_groups_here", groups=words.listing((_group_name(words, g) for g in absent), NAMED))]
    by_place = group_by(scope.records, PLACE["country"])
    missing = []
    for group in scope.all_groups:
        absent_in = [p for p in sorted(by_place) if not any(group in r.groups for r in by_place[p])]
        if absent_in:
            missing.append(f"{_group_name(words, group)} ({', '.join(words.country(p) for p in absent_in)})")
    return [words("gap_absent_groups_countries", groups=words.listing(missing, NAMED))] if missing else []


def _silent_places(scope: ReportScope, words: Wording) -> list[str]:
    """For the drivers most places say nothing about: how many places, and the largest of them."""
    table = scope.place_table()
    if table.withheld:
        return []
    places = list(scope.places().cells)
    silent = {key: [p for p in places if not table.cells[(p, key)].count.contributions] for key in scope.keys}
    ranked = sorted((k for k in scope.keys if silent[k]), key=lambda k: (-len(silent[k]), scope.keys.index(k)))
    key = "gap_silent_countries" if scope.country is None else "gap_silent_regions"
    name = (lambda p: words.country(p)) if scope.country is None else (lambda p: p)  # noqa: E731
    return [words(key, driver=words.driver(k), count=len(silent[k]), total=len(places),
                  places=words.listing([name(p) for p in silent[k]], NAMED)) for k in ranked[:LARGEST]]


def _silent_groups(scope: ReportScope, words: Wording) -> list[str]:
    """For the largest groups: the drivers they say nothing about."""
    groups, table = scope.group_table()
    if table.withheld:
        return []
    heard = [g for g, cell in groups.items() if g != NO_GROUP and cell.state == "open"]
    lines = []
    for group in heard:
        silent = [words.driver(k) for k in scope.keys if not table.cells[(group, k)].count.contributions]
        if silent:
            lines.append(words("gap_silent_group", group=_group_name(words, group), drivers=words.listing(silent)))
        if len(lines) == LARGEST:
            break
    return lines


def _overlaps(scope: ReportScope, words: Wording) -> list[Block]:
    """Which partners speak to each theme: overlaps, and themes only one partner speaks to."""
    c = scope.counts
    shared_rows, single = [], []
    pairs: Counter = Counter()
    for theme in scope.themes:
        by_org = group_by([r for r in theme.members if r.organisation], lambda r: r.organisation)
        name = ("theme", theme.id, "organisation")  # as the theme's section shows it
        shown = c.of(name, group_by(theme.members, BREAKDOWN_KEYS["organisation"]))
        text = words("withheld") if shown.withheld else shown.text(words.names("organisation", shown.cells))
        if len(by_org) >= 2:
            shared_rows.append([f"#{theme.id} {theme.label}", str(len(by_org)), text])
            orgs = sorted(by_org)
            for i, a in enumerate(orgs):
                for b in orgs[i + 1:]:
                    pairs[(a, b)] += 1
        elif len(by_org) == 1:
            org = next(iter(by_org))
            count = text if shown.withheld else words("n_contributions", count=c.cell(name, org).label)
            single.append([Link(f"#{theme.id} {theme.label}", theme_anchor(theme.id)),
                           ": " + words("single_partner", organisation=words.organisation(org), count=count)])
    blocks: list[Block] = [Heading(words("h_overlaps"), level=2, anchor=OVERLAPS)]
    if shared_rows:
        blocks += [Paragraph(words("overlaps_intro")),
                   Table([words("col_theme"), words("col_partners"), words("col_by_partner")], shared_rows)]
    if pairs:
        ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
        blocks += [Paragraph(words("pairs_intro")),
                   Bullets([words("pair", a=words.organisation(a), b=words.organisation(b), n=n)
                            for (a, b), n in ranked])]
    blocks += [Heading(words("h_single"), level=2, anchor=SINGLE_PARTNER),
               Bullets(single or [words("single_none")])]
    return blocks


def _group_name(words: Wording, group: str) -> str:
    return words("no_group") if group == NO_GROUP else words.value("group", group)
