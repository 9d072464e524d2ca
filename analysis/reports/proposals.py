"""What communities propose: people's own proposals for what should be done, by driver and theme.

For each driver, the themes its proposals fall in, each with how many
proposals it holds (a cell of the theme's breakdown by kind, as its section
shows it) and its representative proposals, chosen and quoted as the
testimonies are (``analysis.reports.quoting``: quote consent only, redacted,
with their provenance). Proposals in no theme are counted in the totals but
not quoted: without a theme there is no centre to choose representatives by.
"""

from __future__ import annotations

from analysis.reports.outline import PROPOSALS, proposals_anchor, theme_anchor, theme_proposals_anchor
from analysis.reports.documents import Block, Heading, Link, Paragraph
from analysis.reports.quoting import Quoter
from analysis.reports.scope import ReportScope, ThemeInScope, group_by
from analysis.reports.wording import Wording


def proposals_section(scope: ReportScope, words: Wording, quoter: Quoter) -> list[Block]:
    """The section, or a line saying there are no proposals in this scope."""
    blocks: list[Block] = [Heading(words("h_proposals"), anchor=PROPOSALS)]
    proposals = [r for r in scope.records if r.kind == "proposal"]
    if not proposals:
        return blocks + [Paragraph(words("proposals_none"))]
    kinds = scope.kinds()
    blocks.append(Paragraph(words("proposals_intro", proposals=scope.counts.cell(kinds, "proposal").label,
                                  contributions=scope.scope.label)))
    by_driver = scope.counts.of(("proposals", "driver"), group_by(proposals, scope.driver_or_none))
    themes_by_driver = group_by([t for t in scope.themes if any(r.kind == "proposal" for r in t.members)],
                                lambda t: t.primary_driver if t.primary_driver in scope.keys else "")
    for key in [*scope.keys, ""]:
        themes = themes_by_driver.get(key, [])
        if not themes:
            continue
        title = words.driver(key) if key else words("h_unmapped")
        blocks.append(Heading(title, level=2, anchor=proposals_anchor(key or None)))
        if key:
            cell = by_driver.cells.get(key)
            count = words("withheld") if by_driver.withheld else (cell.label if cell is not None else "0")
            blocks.append(Paragraph(words("proposals_driver", count=count)))
        for theme in themes:
            blocks += _theme_proposals(scope, words, quoter, theme)
    return blocks


def _theme_proposals(scope: ReportScope, words: Wording, quoter: Quoter, theme: ThemeInScope) -> list[Block]:
    kinds = scope.theme_kinds(theme)
    shown = scope.counts.breakdowns[kinds]
    count = words("withheld") if shown.withheld else scope.counts.cell(kinds, "proposal").label
    blocks: list[Block] = [
        Heading(f"#{theme.id} {theme.label}", level=3, anchor=theme_proposals_anchor(theme.id)),
        Paragraph([words("proposals_theme", count=count) + " ", Link(words("see_theme"), theme_anchor(theme.id))]),
    ]
    quotes = quoter.quotes(theme, "proposal")
    if not quotes:
        return blocks + [Paragraph(words("proposals_none_quotable"), note=True)]
    return blocks + [quoter.block(q) for q in quotes]
