"""Key findings: a short executive summary generated from the evidence, each number linked to its section.

What it says, in order: how much evidence and from whom; the largest
themes; the fastest-growing themes (when there are enough contributions to
tell); the drivers and the drivers that meet in the same themes; who is least
heard; and how many contributions are proposals. Every number is a cell of a
breakdown protected as the rest of the report shows it (``analysis.counting``:
"<5", "≥5"), and every theme named links to its section, where its quotes
carry their testimony references.

Growth compares each theme's contributions in the latest ``GROWTH_DAYS`` days
up to the scope's last contribution with the ``GROWTH_DAYS`` days before
(by ``created_at``), protected as a breakdown of the theme (latest, before,
earlier). A theme counts as growing only when both periods' cells are shown
(each rests on at least ``small_cell`` contributors) and the latest is larger;
the fastest-growing are those with the largest increase. When no theme
qualifies the findings say that there are too few to tell, never more.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from analysis.counting import OPEN, Cell, count_of
from analysis.languages import percent
from analysis.reports.outline import CHARTS, FINDINGS, LARGEST_GAPS, PROPOSALS, driver_anchor, theme_anchor
from analysis.reports.documents import Block, Bullets, Heading, Link, Span
from analysis.reports.scope import PLACE, ReportScope, ThemeInScope, group_by
from analysis.reports.wording import Wording

GROWTH_DAYS = 91  # about three months: the latest period and the one before it
LARGEST = 3  # themes named as the largest, and as the fastest-growing
PAIRS = 3  # driver pairs named as meeting most often


@dataclass
class Growth:
    """A theme whose contributions grew from one period to the next, as the report shows the two counts."""

    theme: ThemeInScope
    latest: Cell
    before: Cell

    @property
    def increase(self) -> int:
        return self.latest.count.contributions - self.before.count.contributions


@dataclass
class Periods:
    """The two periods growth compares: the latest ``days`` up to ``end``, and the ``days`` before them."""

    start: datetime
    middle: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime, days: int = GROWTH_DAYS) -> Periods:
        middle = end - timedelta(days=days)
        return cls(middle - timedelta(days=days), middle, end)

    def of(self, when: datetime) -> str:
        """``latest``, ``before`` or ``earlier``."""
        return "latest" if when > self.middle else "before" if when > self.start else "earlier"


def growing_themes(scope: ReportScope) -> tuple[list[Growth], Periods | None]:
    """The themes that grew most from the period before to the latest, largest increase first (see the module)."""
    if not scope.records:
        return [], None
    periods = Periods.ending(max(r.created_at for r in scope.records))
    grown = []
    for theme in scope.themes:
        by_period = group_by(theme.members, lambda r: periods.of(r.created_at))
        shown = scope.counts.of(("theme", theme.id, "period"), by_period)
        latest, before = shown.cells.get("latest"), shown.cells.get("before")
        if shown.withheld or latest is None or before is None:
            continue
        if latest.state == before.state == OPEN and latest.count.contributions > before.count.contributions:
            grown.append(Growth(theme, latest, before))
    grown.sort(key=lambda g: (-g.increase, g.theme.id))
    return grown, periods


def key_findings(scope: ReportScope, words: Wording) -> list[Block]:
    """The key findings section."""
    blocks: list[Block] = [Heading(words("h_findings"), anchor=FINDINGS)]
    if not scope.records:
        return blocks + [Bullets([words("no_contributions")])]
    items = [_scope_line(scope, words), _largest(scope, words), _growing(scope, words), _drivers(scope, words),
             _intersections(scope, words), *_least_heard(scope, words), _proposals(scope, words)]
    return blocks + [Bullets([item for item in items if item])]


def _scope_line(scope: ReportScope, words: Wording) -> str:
    c = scope.counts
    kinds = scope.kinds()
    first = min(r.created_at for r in scope.records)
    last = max(r.created_at for r in scope.records)
    values = dict(contributions=scope.scope.label, testimonies=c.cell(kinds, "testimony").label,
                  proposals=c.cell(kinds, "proposal").label, people=scope.scope.people,
                  first=words.date(first), last=words.date(last))
    if scope.country:
        return words("finding_scope_country", country=words.country(scope.country), **values)
    countries = len({r.country for r in scope.records if r.country})
    return words("finding_scope_global", countries=countries, **values)


def _largest(scope: ReportScope, words: Wording) -> list[Span]:
    shown = [t for t in scope.themes if not scope.theme_cells[t.id].suppressed][:LARGEST]
    if not shown:
        return [words("finding_largest_none")]
    return [words("finding_largest") + " ", *_joined(
        [[_theme_link(t), f" ({scope.theme_cells[t.id].label})"] for t in shown]), "."]


def _growing(scope: ReportScope, words: Wording) -> list[Span]:
    grown, periods = growing_themes(scope)
    if periods is None:
        return []
    day = timedelta(days=1)
    span = dict(days=GROWTH_DAYS,
                latest=words("period", first=words.date(periods.middle + day), last=words.date(periods.end)),
                before=words("period", first=words.date(periods.start + day), last=words.date(periods.middle)))
    if not grown:
        return [words("finding_growing_none", **span)]
    parts = [[_theme_link(g.theme), " " + words("finding_growth", latest=g.latest.label, before=g.before.label)]
             for g in grown[:LARGEST]]
    return [words("finding_growing", **span) + " ", *_joined(parts), "."]


def _drivers(scope: ReportScope, words: Wording) -> list[Span]:
    shown = scope.by_driver
    if shown.withheld:
        return [words("finding_drivers") + " " + words("withheld") + "."]
    parts = [[Link(words.driver(key), driver_anchor(key) if key in scope.keys else CHARTS),
              f" {cell.label}"] for key, cell in shown.items() if cell.count.contributions]
    return [words("finding_drivers") + " ", *_joined(parts), "."]


def _intersections(scope: ReportScope, words: Wording) -> list[Span]:
    """The pairs of drivers that meet in the most themes (a theme's primary driver and one it intersects)."""
    order = {key: i for i, key in enumerate(scope.keys)}
    pairs: dict[tuple[str, str], list[ThemeInScope]] = defaultdict(list)
    for theme in scope.themes:
        if not theme.primary_driver:
            continue
        for other in theme.intersecting_drivers:
            if other != theme.primary_driver:
                pair = tuple(sorted((theme.primary_driver, other), key=lambda k: (order.get(k, 99), k)))
                pairs[pair].append(theme)
    if not pairs:
        return [words("finding_intersections_none")]
    ranked = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), order.get(kv[0][0], 99), order.get(kv[0][1], 99)))
    parts = []
    for (a, b), themes in ranked[:PAIRS]:
        links: list[Span] = []
        for i, theme in enumerate(sorted(themes, key=lambda t: t.id)):
            links += [", " if i else "", Link(f"#{theme.id}", theme_anchor(theme.id))]
        parts.append([f"{words.driver(a)} + {words.driver(b)} (", *links, ")"])
    return [words("finding_intersections") + " ", *_joined(parts, "; "), "."]


def _least_heard(scope: ReportScope, words: Wording) -> list[list[Span]]:
    """Groups and places with fewer than ``small_cell`` contributors, and groups heard elsewhere but not here."""
    small = scope.small_cell
    by_group = group_by(scope.records, lambda r: r.groups)
    thin = [g for g in scope.all_groups if by_group.get(g) and count_of(by_group[g]).is_small(small)]
    absent = [g for g in scope.all_groups if not by_group.get(g)]
    by_place = group_by(scope.records, PLACE[scope.place_name])
    thin_places = [p for p in scope.places().cells if p in by_place and count_of(by_place[p]).is_small(small)]
    link = Link(words("see_gaps"), LARGEST_GAPS)
    lines: list[list[Span]] = []
    if thin:
        lines.append([words("finding_thin_groups", groups=words.listing(words.value("group", g) for g in thin),
                            small=small) + " ", link])
    if absent and scope.country:
        lines.append([words("finding_absent_groups", groups=words.listing(words.value("group", g) for g in absent))])
    if thin_places:
        key = "finding_thin_regions" if scope.country else "finding_thin_countries"
        names = [words.country(p) if scope.country is None else p for p in thin_places]
        lines.append([words(key, places=words.listing(names, limit=6), small=small)])
    if not lines:
        lines.append([words("finding_all_heard", small=small)])
    return lines


def _proposals(scope: ReportScope, words: Wording) -> list[Span]:
    kinds = scope.kinds()
    cell = scope.counts.cell(kinds, "proposal")
    if not cell.count.contributions:
        return [words("finding_no_proposals")]
    return [words("finding_proposals", proposals=cell.label, contributions=scope.scope.label) + " ",
            Link(words("h_proposals"), PROPOSALS), "."]


def language_flag(scope: ReportScope, theme: ThemeInScope, words: Wording) -> str:
    """"Essentially one language: ..." when the theme may gather a language rather than a subject, else ""."""
    flag = scope.languages.of(theme.id).flag
    if flag is None:
        return ""
    corpus = percent(flag.corpus_share) if flag.corpus_share is not None else words("flag_smaller_share")
    return words("flag", where=words("flag_across") if scope.country else "", share=percent(flag.theme_share),
                 texts=flag.theme_texts, language=words.language_name(flag.language), corpus=corpus)


def _theme_link(theme: ThemeInScope) -> Link:
    return Link(f"#{theme.id} {theme.label}", theme_anchor(theme.id))


def _joined(parts: list[list[Span]], separator: str = ", ") -> list[Span]:
    out: list[Span] = []
    for i, part in enumerate(parts):
        out += ([separator] if i else []) + part
    return out
