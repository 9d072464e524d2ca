"""A report's content, built as document blocks from one read of its scope, in the report's language.

The sections, in order: key findings (``findings``), what communities
propose (``proposals``), a summary of who spoke, charts, a section per driver
with its themes and their testimonies, the gaps (``gaps``), and an annex on
method and data protection (``annex``). ``analysis.reports.builder`` renders
and registers what is built here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from analysis import charts
from analysis.evidence import EvidenceBase
from analysis.reports.outline import CHARTS, SUMMARY, driver_anchor, theme_anchor, theme_proposals_anchor
from analysis.reports.annex import method_annex
from analysis.reports.documents import Block, Chart, Contents, Heading, Link, Paragraph, Table, section_titles
from analysis.reports.figures import chart_rows, chart_texts
from analysis.reports.findings import key_findings, language_flag
from analysis.reports.gaps import gaps_section
from analysis.reports.proposals import proposals_section
from analysis.reports.quoting import Quoter
from analysis.reports.scope import BREAKDOWN_KEYS, MAX_BREAKDOWN_VALUES, ReportScope, ThemeInScope, group_by
from analysis.reports.wording import Wording
from analysis.texts import DEFAULT_LANGUAGE

SUMMARY_BREAKDOWNS = ("country", "organisation", "kind", "gender", "age band", "group", "language")


@dataclass
class Report:
    """A report's content before it is rendered: its blocks and the ids of every testimony it quotes."""

    title: str
    country: str | None
    blocks: list[Block]
    quoted_ids: list[str]
    generated_at: datetime
    language: str = DEFAULT_LANGUAGE
    header: str = ""  # the running header of a printed page
    page_text: str = "Page {page} of {pages}"

    @property
    def sections(self) -> list[str]:
        """The top-level section headings, in order."""
        return section_titles(self.blocks)


class ReportBuilder(ReportScope):
    """Builds one report's blocks from one read of its scope (``ReportScope``): its corpus, themes and assignments."""

    def __init__(self, evidence: EvidenceBase, country: str | None, *, n_quotes: int, exclude: set[str],
                 language: str = DEFAULT_LANGUAGE) -> None:
        super().__init__(evidence, country, exclude=exclude)
        self.n_quotes = n_quotes
        self.language = language
        self.generated_at = datetime.now(timezone.utc)

    def build(self) -> Report:
        """Read the scope and build the report's blocks, noting every testimony quoted."""
        self.read()
        self.words = words = Wording(self.language, organisations=self.organisations, codebook=self.codebook,
                                     small_cell=self.small_cell)
        self.quoter = Quoter(self, words, self.n_quotes)
        place = words.country(self.country) if self.country else words("scope_global")
        title = words("title_country", country=place) if self.country else words("title_global")
        blocks: list[Block] = [
            Paragraph(words("generated", date=words.date(self.generated_at),
                            time=self.generated_at.strftime("%H:%M UTC"), scope=place), note=True),
            Contents(words("contents"), words("contents_hint")),
        ]
        blocks += key_findings(self, words)
        blocks += proposals_section(self, words, self.quoter)
        blocks += self._summary()
        blocks += self._charts()
        blocks += self._drivers()
        blocks += gaps_section(self, words)
        blocks += method_annex(self, words, self.n_quotes)
        return Report(title=title, country=self.country, blocks=blocks,
                      quoted_ids=list(dict.fromkeys(self.quoter.quoted)), generated_at=self.generated_at,
                      language=self.language, header=title, page_text=words("page", page="{page}", pages="{pages}"))

    # -- summary -------------------------------------------------------------------------

    def _summary(self) -> list[Block]:
        records, c, words = self.records, self.counts, self.words
        kinds, consent = self.kinds(), self.consent()
        rows = [
            [words("row_contributions"), self.scope.label],
            [words("row_testimonies"), c.cell(kinds, "testimony").label],
            [words("row_proposals"), c.cell(kinds, "proposal").label],
            [words("row_contributors"), self.scope.people],
            [words("row_quotable"), c.cell(consent, "quotable").label],
            [words("row_aggregate"), c.cell(consent, "aggregate").label],
            [words("row_countries" if self.country is None else "row_regions"),
             str(len({(r.country if self.country is None else r.region) or "unknown" for r in records}))],
            [words("row_organisations"), str(len({r.organisation for r in records if r.organisation}))],
            [words("row_languages"), str(len({r.language for r in records if r.language}))],
            [words("row_themes"), str(len(self.themes))],
            [words("row_unthemed"), self.unthemed_cell.label],
        ]
        if records:
            first = min(r.created_at for r in records)
            last = max(r.created_at for r in records)
            rows.append([words("row_period"), words("period", first=words.date(first), last=words.date(last))])
        blocks: list[Block] = [Heading(words("h_summary"), anchor=SUMMARY),
                               Table(["", words("col_count")], rows)]
        breakdown_rows = [[words(f"by_{name.replace(' ', '_')}"), self.breakdown_text(("by", name), name, records)]
                          for name in SUMMARY_BREAKDOWNS if not (name == "country" and self.country)]
        if records:
            blocks += [Paragraph(words("who_spoke")),
                       Table([words("col_by"), words("col_contributions")], breakdown_rows)]
        return blocks

    def breakdown_text(self, name: tuple, breakdown: str, records) -> str:
        """A breakdown as one line, its values named in the report's language: ``"Kenya 12, Nepal <5"``."""
        shown = self.counts.of(name, group_by(records, BREAKDOWN_KEYS[breakdown]))
        if shown.withheld:
            return self.words("withheld")
        return shown.text(self.words.names(breakdown, shown.cells), limit=MAX_BREAKDOWN_VALUES,
                          more=self.words("and_more", n="{n}"))

    # -- charts --------------------------------------------------------------------------

    def _charts(self) -> list[Block]:
        if not self.records:
            return []
        words, small = self.words, self.small_cell
        texts = chart_texts(words)
        by_month = group_by(self.records, lambda r: r.created_at.strftime("%Y-%m"))
        months = self.counts.of(("month",), by_month)
        blocks: list[Block] = [Heading(words("h_charts"), anchor=CHARTS)]
        if self.themes:
            blocks.append(Chart("themes", charts.themes_by_size(
                chart_rows(self.themes, self.theme_cells), small_cell=small, codebook=self.codebook, texts=texts,
                title=words("chart_themes_title")), words("chart_themes")))
        blocks.append(Chart("drivers", charts.drivers_by_size(self.by_driver, small_cell=small, codebook=self.codebook,
                                                              texts=texts, title=words("chart_drivers_title")),
                            words("chart_drivers")))
        blocks.append(Chart("months", charts.theme_by_month(
            {m: len(v) for m, v in by_month.items()}, small_cell=small, cells=months, texts=texts,
            title=words("chart_months_title")), words("chart_months")))
        return blocks

    # -- drivers and their themes --------------------------------------------------------------

    def _drivers(self) -> list[Block]:
        words = self.words
        blocks: list[Block] = []
        by_driver = group_by(self.themes, lambda t: t.primary_driver if t.primary_driver in self.keys else "")
        for key in self.keys:
            blocks.append(Heading(words.driver(key), anchor=driver_anchor(key)))
            description = self._driver_description(key)
            if description:
                blocks.append(Paragraph(description, note=True))
            themes = by_driver.get(key, [])
            intersecting = [t for t in self.themes if key in t.intersecting_drivers and t.primary_driver != key]
            blocks.append(Paragraph([words("driver_count", count=self.counts.cell(("driver",), key).label),
                                     " ", *_theme_links(words("driver_themes"), themes, words)]
                                    + ([" ", *_theme_links(words("driver_intersects"), intersecting, words)]
                                       if intersecting else [])))
            for theme in themes:
                blocks += self._theme(theme)
        unmapped = by_driver.get("", [])
        if unmapped:
            blocks.append(Heading(words("h_unmapped"), anchor=driver_anchor(None)))
            for theme in unmapped:
                blocks += self._theme(theme)
        return blocks

    def _driver_description(self, key: str) -> str:
        """The codebook's description of a driver (written in English only: shown in English reports)."""
        if self.language != DEFAULT_LANGUAGE or self.codebook is None:
            return ""
        try:
            return self.codebook.get(key).description
        except KeyError:
            return ""

    def _theme(self, theme: ThemeInScope) -> list[Block]:
        c, words = self.counts, self.words
        cell = self.theme_cells[theme.id]
        if self.country:
            overall = self.overall_cells.get(theme.id)
            size = words("theme_size_in", count=cell.label, people=cell.people, country=words.country(self.country),
                         overall=overall.label if overall is not None else words("not_shown"))
        else:
            size = words("theme_size", count=cell.label, people=cell.people)
        kinds = self.theme_kinds(theme)
        rows = [
            [words("row_size"), size],
            [words("row_kinds"), f"{c.cell(kinds, 'testimony').label} / {c.cell(kinds, 'proposal').label}"
             if not c.breakdowns[kinds].withheld else words("withheld")],
            [words("row_drivers"), self._theme_drivers(theme)],
            [words("row_keywords"), ", ".join(theme.keywords) or "-"],
        ]
        if len(theme.keywords_by_language) > 1:
            rows += [[words("row_keywords_in", language=words.language_name(code)), ", ".join(keywords)]
                     for code, keywords in theme.keywords_by_language.items() if keywords]
        for name in ("country", "organisation", "gender", "age band", "group", "language"):
            if name == "country" and self.country:
                continue
            rows.append([words("row_by", name=words(f"by_{name.replace(' ', '_')}")),
                         self.breakdown_text(("theme", theme.id, name), name, theme.members)])
        blocks: list[Block] = [Heading(f"#{theme.id} {theme.label}", level=2, anchor=theme_anchor(theme.id)),
                               Table(["", ""], rows)]
        flag = language_flag(self, theme, words)
        if flag:
            blocks.append(Paragraph(flag, note=True))
        blocks += self._testimonies(theme, kinds)
        return blocks

    def _theme_drivers(self, theme: ThemeInScope) -> str:
        words = self.words
        drivers = words.driver(theme.primary_driver) if theme.primary_driver else words("none")
        if theme.intersecting_drivers:
            drivers = words("intersecting", primary=drivers,
                            others=", ".join(words.driver(d) for d in theme.intersecting_drivers))
        if theme.subdriver:
            drivers += "; " + words("subdriver", name=theme.subdriver.replace("_", " "))
        return drivers

    def _testimonies(self, theme: ThemeInScope, kinds: tuple) -> list[Block]:
        """The theme's representative testimonies; a theme of proposals only points to them."""
        words = self.words
        blocks: list[Block] = []
        proposals_link = Link(words("see_proposals"), theme_proposals_anchor(theme.id))
        has_testimonies = any(r.kind == "testimony" for r in theme.members)
        quotes = self.quoter.quotes(theme, "testimony") if has_testimonies else []
        if quotes:
            blocks.append(Paragraph(words("quotes_heading")))
            blocks += [self.quoter.block(q) for q in quotes]
        elif has_testimonies:
            blocks.append(Paragraph(words("quotes_none"), note=True))
        if any(r.kind == "proposal" for r in theme.members):
            blocks.append(Paragraph([words("theme_has_proposals") + " ", proposals_link],
                                    note=not has_testimonies))
        return blocks


def _theme_links(lead: str, themes: list[ThemeInScope], words: Wording, limit: int = 8) -> list:
    """``"Themes mainly about it: #3, #10, #14."``, each theme a link to its section."""
    spans: list = [lead + " "]
    if not themes:
        return [lead + " " + words("none") + "."]
    for i, theme in enumerate(themes[:limit]):
        spans += [", " if i else "", Link(f"#{theme.id} {theme.label}", theme_anchor(theme.id))]
    if len(themes) > limit:
        spans.append(" " + words("and_more", n=len(themes) - limit))
    return spans + ["."]
