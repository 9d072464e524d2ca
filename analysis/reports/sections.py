"""A report's content: its sections (method, summary, charts, a section per driver with its themes and
quotes, gaps and overlaps) built as document blocks from one read of its scope.

``analysis.reports.builder`` renders and registers what is built here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from corpus.redaction import ner_languages
from corpus.store import TestimonyRecord

from analysis import charts
from analysis.counting import Breakdown, Cell, Count, count_of, protect_table
from analysis.counting import Table as CountTable
from analysis.drivers import NO_DRIVER, driver_name
from analysis.evidence import EvidenceBase
from analysis.explore import theme_quotes
from analysis.languages import LanguageMix, language_label
from analysis.quotes import Quote
from analysis.reports.documents import Block, Bullets, Chart, Heading, Paragraph, QuoteBlock, Table, section_titles
from analysis.reports.figures import MAX_REGIONS_CHARTED, chart_rows, driver_place_table
from analysis.reports.quotefiles import pinned_quotes
from analysis.reports.scope import (
    BREAKDOWN_KEYS,
    MAX_BREAKDOWN_VALUES,
    NO_GROUP,
    PLACE,
    ReportScope,
    ThemeInScope,
    group_by,
)

QUOTE_CANDIDATES = 200  # most central quotable members per theme considered for quotes (keeps reports fast)


@dataclass
class Report:
    """A report's content before it is rendered: its blocks and the ids of every testimony it quotes."""

    title: str
    country: str | None
    blocks: list[Block]
    quoted_ids: list[str]
    generated_at: datetime

    @property
    def sections(self) -> list[str]:
        """The top-level section headings, in order."""
        return section_titles(self.blocks)


class ReportBuilder(ReportScope):
    """Builds one report's blocks from one read of its scope (``ReportScope``): its corpus, themes and assignments."""

    def __init__(self, evidence: EvidenceBase, country: str | None, *, n_quotes: int, exclude: set[str]) -> None:
        super().__init__(evidence, country, exclude=exclude)
        self.n_quotes = n_quotes
        self.quoted: list[str] = []
        self.generated_at = datetime.now(timezone.utc)

    def build(self) -> Report:
        """Read the scope and build the report's blocks, noting every testimony quoted."""
        self.read()
        scope = self.country or "all countries"
        title = (f"Leave No One Behind: evidence report for {self.country}" if self.country
                 else "Leave No One Behind: global evidence report")
        blocks: list[Block] = [
            Paragraph(f"Generated {self.generated_at.strftime('%Y-%m-%d %H:%M UTC')} from the evidence base; "
                      f"scope: {scope}. Every quote is consented and redacted; see the method note.", note=True)
        ]
        blocks += self._method()
        blocks += self._summary()
        blocks += self._charts()
        blocks += self._drivers()
        blocks += self._gaps()
        return Report(title=title, country=self.country, blocks=blocks, quoted_ids=list(dict.fromkeys(self.quoted)),
                      generated_at=self.generated_at)

    def _method(self) -> list[Block]:
        settings = self.evidence.settings
        run = self.run
        if run is not None:
            finished = run.finished_at.strftime("%Y-%m-%d %H:%M UTC") if run.finished_at else "unfinished"
            analysis = (f"Themes come from analysis run {run.id} ({finished}, random_state {run.random_state}): "
                        "density clustering of sentence embeddings, keywords by class-based TF-IDF, and each "
                        "theme mapped onto the five drivers of UNDP's \"What does it mean to leave no one behind?\" "
                        f"(2018) with the project's codebook{self._codebook_version()}.")
            model = run.embedding_model
        else:
            analysis = "No analysis has been run yet, so there are no themes: run `lnob analyse`."
            model = settings.embedding_model
        redaction = ("phone numbers, e-mail addresses, web links, handles and identity numbers are replaced by "
                     "placeholders such as [PHONE]")
        redaction += self._names_and_places_note()
        c, kinds, consent = self.counts, self._kinds(), self._consent()
        return [
            Heading("Method"),
            Bullets([
                f"Embedding model: {model}.",
                analysis,
                f"Counts: {self.scope.label} contributions ({c.cell(kinds, 'testimony').label} "
                f"testimonies, {c.cell(kinds, 'proposal').label} proposals) from "
                f"{self.scope.people} contributors; {c.cell(consent, 'quotable').label} of them may be quoted.",
                "Consent: only contributions whose contributor gave 'quote' consent are quoted, anonymously; "
                "contributions under 'aggregate' consent are counted in every number but never quoted. "
                "Quotes hidden by staff are never shown.",
                f"Small cells: any count that rests on fewer than {self.small_cell} contributors is shown as "
                f"\"<{self.small_cell}\"; a count that would let such a cell be worked out from a total and the "
                f"other cells is hidden too and shown as \"≥{self.small_cell}\", and a breakdown or table that "
                "cannot be shown safely is withheld (a withheld value in a table is \"·\"); in the charts such "
                "bars are hatched and drawn to the threshold, not to scale.",
                f"Redaction: every text shown is the redacted text: {redaction}.",
                f"Quotes: per theme, up to {self.n_quotes} chosen by maximal marginal relevance (central and diverse, "
                f"near-duplicates dropped) among the {QUOTE_CANDIDATES} most central quotable members"
                + (", taken in turn from each country" if self.country is None else ", taken in turn from each partner organisation")
                + ". Each carries its testimony id, date, country, organisation, kind and language.",
                self._languages_note(),
                "Erasure: this file is registered with the id of every testimony it quotes; when a contributor "
                "erases their data it is deleted and rebuilt without them.",
            ]),
        ]

    def _names_and_places_note(self) -> str:
        """What redaction does with names and places, language by language; where nothing hides them, it says so."""
        languages = sorted({r.language for r in self.records if r.language})
        pipelines = ner_languages(languages, self.evidence.store.redactor)
        hidden = [language_label(code) for code, pipeline in pipelines.items() if pipeline]
        shown = [language_label(code) for code, pipeline in pipelines.items() if not pipeline]
        note = ""
        if hidden:
            note += (f"; names of people and of places below the country level are replaced too ([NAME], [PLACE]) "
                     f"in texts in {', '.join(hidden)}, by a named-entity model that can miss some")
        if shown:
            note += (f"; in texts in {', '.join(shown)} names and places are NOT redacted, since no named-entity "
                     f"pipeline is installed for {'that language' if len(shown) == 1 else 'those languages'}: "
                     "quotes in them may name people and places")
        return note

    def _languages_note(self) -> str:
        """Which languages the evidence came from, with counts, and the single-language rule."""
        mix = LanguageMix.of(self.records)
        flagged = [t for t in self.themes if self.languages.of(t.id).flag is not None]
        return (f"Languages: the evidence came from texts in {mix.shown(self.small_cell, names=True)} "
                f"(contributions per language, as recorded for each text). Themes are formed across languages; "
                f"one may instead gather a language rather than a subject, so a theme is flagged as essentially "
                f"one language when {self.rule.describe()}. {_plural(len(flagged), 'theme')} here "
                f"{'is' if len(flagged) == 1 else 'are'} flagged.")

    def _codebook_version(self) -> str:
        return f" (version {self.codebook.version})" if self.codebook is not None else ""

    def _kinds(self) -> tuple:
        """The name of the scope's breakdown by kind (testimony, proposal)."""
        self.counts.of(("by", "kind"), group_by(self.records, BREAKDOWN_KEYS["kind"]))
        return ("by", "kind")

    def _consent(self) -> tuple:
        """The name of the scope's breakdown by consent (quotable, aggregate), as ``lnob theme`` has it."""
        self.counts.of(("consent",), group_by(self.records, lambda r: "quotable" if r.quotable else "aggregate"))
        return ("consent",)

    def _summary(self) -> list[Block]:
        records, c = self.records, self.counts
        kinds, consent = self._kinds(), self._consent()
        rows = [
            ["contributions", self.scope.label],
            ["testimonies", c.cell(kinds, "testimony").label],
            ["proposals", c.cell(kinds, "proposal").label],
            ["contributors", self.scope.people],
            ["quotable (quote consent)", c.cell(consent, "quotable").label],
            ["counted only (aggregate consent)", c.cell(consent, "aggregate").label],
            ["countries" if self.country is None else "regions",
             str(len({(r.country if self.country is None else r.region) or "unknown" for r in records}))],
            ["organisations", str(len({r.organisation for r in records if r.organisation}))],
            ["languages", str(len({r.language for r in records if r.language}))],
            ["themes", str(len(self.themes))],
            ["not in any theme", self.unthemed_cell.label],
        ]
        if records:
            first = min(r.created_at for r in records).date().isoformat()
            last = max(r.created_at for r in records).date().isoformat()
            rows.append(["period", f"{first} to {last}"])
        blocks: list[Block] = [Heading("Summary"), Table(["", "count"], rows)]
        breakdown_rows = [
            [name, c.of(("by", name), group_by(records, key)) and c.text(("by", name))]
            for name, key in BREAKDOWN_KEYS.items()
            if not (name == "country" and self.country)
        ]
        if records:
            blocks += [Paragraph("Who spoke, by contributions:"), Table(["by", "contributions"], breakdown_rows)]
        return blocks

    def _charts(self) -> list[Block]:
        if not self.records:
            return []
        small = self.small_cell
        place_name, counts, table = self._place_table()
        places = len(counts)
        top = dict(sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:MAX_REGIONS_CHARTED])
        by_month = group_by(self.records, lambda r: r.created_at.strftime("%Y-%m"))
        months = self.counts.of(("month",), by_month)
        blocks: list[Block] = [Heading("Charts")]
        if self.themes:
            blocks.append(Chart("themes", charts.themes_by_size(chart_rows(self.themes, self.theme_cells), small_cell=small,
                                                          codebook=self.codebook),
                                "Themes by number of contributions, coloured by primary driver."))
        blocks.append(Chart(
            "drivers",
            charts.drivers_by_country(top, small_cell=small, title=f"Contributions by driver and {place_name}",
                                      cells=table, codebook=self.codebook),
            f"Contributions by their primary driver, per {place_name}"
            + (f" (the {MAX_REGIONS_CHARTED} largest)" if places > MAX_REGIONS_CHARTED else "") + ".",
        ))
        blocks.append(Chart("months", charts.theme_by_month({m: len(v) for m, v in by_month.items()}, small_cell=small,
                                                            cells=months), "Contributions by month."))
        return blocks

    def _place_table(self) -> tuple[str, dict[str, dict[str, int]], CountTable]:
        """Contributions per place (country, or region within a country) and primary driver, and the table
        protected as a whole, its totals as the breakdowns by place and by driver show them."""
        if not hasattr(self, "_places"):
            place_name = "country" if self.country is None else "region"
            self.counts.of(("by", place_name), group_by(self.records, PLACE[place_name]))
            counts, table = driver_place_table(self.records, self._driver_of, PLACE[place_name], self.small_cell,
                                               drivers=self.keys)
            self._places = (place_name, counts, table)
        return self._places

    def _drivers(self) -> list[Block]:
        blocks: list[Block] = []
        by_driver = group_by(self.themes, lambda t: t.primary_driver if t.primary_driver in self.keys else "")
        for key in self.keys:
            blocks.append(Heading(driver_name(key, codebook=self.codebook)))
            description = self._driver_description(key)
            if description:
                blocks.append(Paragraph(description, note=True))
            themes = by_driver.get(key, [])
            intersecting = [t for t in self.themes if key in t.intersecting_drivers and t.primary_driver != key]
            blocks.append(Paragraph(
                f"{self.counts.cell(('driver',), key).label} contributions have this as their primary driver; "
                f"{_plural(len(themes), 'theme')} {'is' if len(themes) == 1 else 'are'} mainly about it"
                + (f", and it intersects with {len(intersecting)} more: "
                   + "; ".join(f"#{t.id} {t.label}" for t in intersecting[:8]) if intersecting else "")
                + "."
            ))
            for theme in themes:
                blocks += self._theme(theme)
        unmapped = by_driver.get("", [])
        if unmapped:
            blocks.append(Heading("Themes not mapped to a driver"))
            for theme in unmapped:
                blocks += self._theme(theme)
        return blocks

    def _driver_description(self, key: str) -> str:
        try:
            return self.codebook.get(key).description if self.codebook is not None else ""
        except KeyError:
            return ""

    def _theme(self, theme: ThemeInScope) -> list[Block]:
        c = self.counts
        members = theme.members
        drivers = driver_name(theme.primary_driver, codebook=self.codebook) if theme.primary_driver else "none"
        if theme.intersecting_drivers:
            drivers += " (intersecting: " + ", ".join(driver_name(d, codebook=self.codebook) for d in theme.intersecting_drivers) + ")"
        cell = self.theme_cells[theme.id]
        size = f"{cell.label} contributions from {cell.people} contributors"
        if self.country:
            overall = self.overall_cells.get(theme.id)
            size += f" in {self.country} (theme overall: {overall.label if overall is not None else 'not shown'})"
        kinds = c.of(("theme", theme.id, "kind"), group_by(members, BREAKDOWN_KEYS["kind"]))
        rows = [
            ["size", size],
            ["testimonies / proposals",
             f"{c.cell(('theme', theme.id, 'kind'), 'testimony').label} / "
             f"{c.cell(('theme', theme.id, 'kind'), 'proposal').label}" if not kinds.withheld else kinds.text()],
            ["drivers", drivers + (f"; sub-driver {theme.subdriver}" if theme.subdriver else "")],
            ["keywords", ", ".join(theme.keywords) or "-"],
        ]
        if len(theme.keywords_by_language) > 1:
            rows += [[f"keywords ({language_label(code)})", ", ".join(words)] for code, words in theme.keywords_by_language.items()]
        for name in ("country", "organisation", "gender", "age band", "group"):
            if name == "country" and self.country:
                continue
            c.of(("theme", theme.id, name), group_by(members, BREAKDOWN_KEYS[name]))
            rows.append([f"by {name}", c.text(("theme", theme.id, name))])
        languages = LanguageMix.of(members).shown(self.small_cell, names=True, limit=MAX_BREAKDOWN_VALUES)
        rows.append(["by language", languages])
        blocks: list[Block] = [Heading(f"#{theme.id} {theme.label}", level=2), Table(["", ""], rows)]
        flag = self.languages.of(theme.id).flag
        if flag is not None:
            scope = "Across all countries, " if self.country else ""
            blocks.append(Paragraph(f"Essentially one language: {scope}{flag.reason}.", note=True))
        quotes = self._quotes(theme)
        if quotes:
            blocks.append(Paragraph("Representative quotes:"))
            for quote in quotes:
                self.quoted.append(quote.id)
                blocks.append(QuoteBlock(quote.text, quote.provenance(self.codebook)))
        else:
            blocks.append(Paragraph("No quotable contributions in this theme (only those with quote consent are quoted).",
                                    note=True))
        return blocks

    def _quotes(self, theme: ThemeInScope) -> list[Quote]:
        """Quotes among the most central quotable members in scope (re-embedding only those, from the cache)."""
        pinned = pinned_quotes(self.evidence, theme.id)
        eligible = [r for r in theme.members if r.quotable and r.id not in self.hidden]
        candidates = eligible[:QUOTE_CANDIDATES]
        chosen = {r.id for r in candidates}
        candidates += [r for r in eligible[QUOTE_CANDIDATES:] if r.id in pinned and r.id not in chosen]
        if not candidates:
            return []
        return theme_quotes(
            self.evidence,
            theme.id,
            n=self.n_quotes,
            balance_by="country" if self.country is None else "organisation",
            records=candidates,
            hidden=self.hidden,
            pinned=pinned,
        )

    def _gaps(self) -> list[Block]:
        c, records, small = self.counts, self.records, self.small_cell
        blocks: list[Block] = [
            Heading("Gaps"),
            Paragraph(f"Where the evidence is thin: counts by {'country' if self.country is None else 'region'}, "
                      f"driver and group; what has fewer than {small} contributors or none; where partners' "
                      "evidence overlaps and where only one partner speaks."),
        ]
        if not records:
            blocks.append(Paragraph("There are no contributions in this scope yet."))
            return blocks
        names = {k: driver_name(k, codebook=self.codebook) for k in self.keys}
        places_name = "Countries" if self.country is None else "Regions"
        place_name, _, table = self._place_table()
        places = c.of(("by", place_name), {})
        by_place = group_by(records, PLACE[place_name])
        rows, thin_cells = [], []
        for value, cell in places.items():  # as the breakdown shows them: hidden places after the others
            rows.append([value, cell.label, cell.people, *(table.cells[(value, key)].label for key in self.keys)])
            thin_cells += [f"{value} · {names[key]}" for key in self.keys if not table.cells[(value, key)].count.contributions]
        blocks.append(Heading(f"By {place_name} and driver", level=2))
        if table.withheld:
            blocks.append(Paragraph(f"Withheld: too few contributors per {place_name} and driver to show them safely."))
            thin_cells = ["withheld"]
        else:
            blocks.append(Table([place_name, "contributions", "contributors", *names.values()], rows))

        groups, table = self._group_table()
        group_rows, absent_cells = [], []
        for group, cell in groups.items():
            label = "(no group given)" if group == NO_GROUP else group
            group_rows.append([label, cell.label, *(table.cells[(group, key)].label for key in self.keys)])
            if cell.count.contributions and group != NO_GROUP:
                absent_cells += [f"{group} · {names[k]}" for k in self.keys if not table.cells[(group, k)].count.contributions]
        blocks.append(Heading("By group and driver", level=2))
        if table.withheld:
            blocks.append(Paragraph("Withheld: too few contributors per group and driver to show them safely."))
            absent_cells = ["withheld"]
        else:
            blocks.append(Table(["group", "contributions", *names.values()], group_rows))

        by_group = group_by(records, lambda r: r.groups)
        thin_groups = [g for g in self.all_groups if by_group.get(g) and count_of(by_group[g]).is_small(small)]
        absent_groups = [g for g in self.all_groups if not by_group.get(g)]  # known from other countries
        thin_places = [p for p in by_place if count_of(by_place[p]).is_small(small)]
        absent_drivers = [names[k] for k in self.keys if not any(self._driver_of(r) == k for r in records)]
        items = [f"Groups with fewer than {small} contributors: {_listing(thin_groups)}."]
        if self.country:
            items.append(f"Groups heard elsewhere in the evidence base but not here: {_listing(absent_groups)}.")
        else:
            missing = []
            for group in self.all_groups:
                absent_in = [p for p in sorted(by_place) if not any(group in r.groups for r in by_place[p])]
                if absent_in:
                    missing.append(f"{group} ({', '.join(absent_in)})")
            items.append(f"Groups not heard at all in some countries: {_listing(missing)}.")
        items += [
            f"{places_name} with fewer than {small} contributors: {_listing(sorted(thin_places))}.",
            f"Drivers no contribution is mainly about: {_listing(absent_drivers)}.",
            f"{place_name.capitalize()} and driver combinations with no contributions: {_listing(thin_cells)}.",
            f"Group and driver combinations with no contributions: {_listing(absent_cells)}.",
        ]
        blocks += [Heading("Thin evidence", level=2), Bullets(items)]
        blocks += self._overlaps()
        return blocks

    def _group_table(self) -> tuple[Breakdown, CountTable]:
        """Contributions per self-identified group (and none given) and primary driver: the breakdown by
        group, with the groups heard elsewhere but not here as empty rows, and the table protected as a whole."""
        groups = group_by(self.records, BREAKDOWN_KEYS["group"])
        shown = self.counts.of(("by", "group"), groups)
        empty = Cell(Count(), "empty", self.small_cell)
        rows = Breakdown(dict(shown.cells) | {g: empty for g in self.all_groups if g not in shown}, self.small_cell,
                         shown.withheld)
        if NO_GROUP in rows.cells:  # the row of those who gave no group comes last
            rows.cells[NO_GROUP] = rows.cells.pop(NO_GROUP)
        counts = {g: {d: count_of(v) for d, v in group_by(groups.get(g, []), self._driver_or_none).items()} for g in rows.cells}
        table = protect_table(counts, self.small_cell, columns=self._driver_columns(), row_totals=rows.cells,
                              column_totals=self._driver_totals())
        return rows, table

    def _driver_or_none(self, record: TestimonyRecord) -> str:
        return self._driver_of(record) or NO_DRIVER

    def _driver_columns(self) -> list[str]:
        """The codebook's drivers, then any other primary driver found, then none."""
        return list(dict.fromkeys([*self.keys, *sorted(self.by_driver.cells), NO_DRIVER]))

    def _driver_totals(self) -> dict[str, Cell]:
        empty = Cell(Count(), "empty", self.small_cell)
        return {d: self.by_driver.cells.get(d, empty) for d in self._driver_columns()}

    def _overlaps(self) -> list[Block]:
        """Which partners speak to each theme: overlaps, and themes only one partner speaks to."""
        c = self.counts
        shared_rows, single = [], []
        pairs: Counter = Counter()
        for theme in self.themes:
            by_org = group_by([r for r in theme.members if r.organisation], lambda r: r.organisation)
            name = ("theme", theme.id, "organisation")  # as the theme's section shows it
            c.of(name, group_by(theme.members, BREAKDOWN_KEYS["organisation"]))
            if len(by_org) >= 2:
                shared_rows.append([f"#{theme.id} {theme.label}", str(len(by_org)), c.text(name)])
                orgs = sorted(by_org)
                for i, a in enumerate(orgs):
                    for b in orgs[i + 1:]:
                        pairs[(a, b)] += 1
            elif len(by_org) == 1:
                org = next(iter(by_org))
                count = c.text(name) if c.breakdowns[name].withheld else f"{c.cell(name, org).label} contributions"
                single.append(f"#{theme.id} {theme.label}: only {org} ({count})")
        blocks: list[Block] = [Heading("Overlaps between partners", level=2)]
        if shared_rows:
            blocks += [Paragraph("Themes that several partner organisations' evidence speaks to:"),
                       Table(["theme", "partners", "contributions by partner"], shared_rows)]
        if pairs:
            blocks += [Paragraph("Partners whose evidence meets in the same themes (number of shared themes):"),
                       Bullets([f"{a} and {b}: {n}" for (a, b), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:20]])]
        blocks += [Heading("Where only one partner speaks", level=2),
                   Bullets(single or ["Every theme here is heard by at least two partners."])]
        return blocks


def _listing(items: Sequence[str], limit: int = 40) -> str:
    """``"a; b; c"``, at most ``limit`` items, or ``"none"``."""
    if not items:
        return "none"
    text = "; ".join(items[:limit])
    return text + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def _plural(n: int, word: str, plural: str | None = None) -> str:
    """``"1 theme"``, ``"2 themes"``."""
    return f"{n} {word if n == 1 else plural or word + 's'}"
