"""Quote exports and country and global reports, written under the data dir and registered for erasure.

The shortest working examples::

    from analysis.explore import theme_quotes
    from analysis.reports import build_report, erase_exports_for, export_quotes

    path = export_quotes(evidence, theme_quotes(evidence, 12, n=20), "csv", title="Theme 12")
    path = build_report(evidence, "NP", "docx")       # None: the global report
    erase_exports_for(evidence, erased_ids)           # after an erasure: files gone, reports rebuilt

Three rules hold for every file written here:

- **Consent is re-checked when writing.** Whatever the caller passes, the
  testimonies are read again from the store and only those whose contributor
  gave ``quote`` consent (and that staff have not hidden) are written.
  ``aggregate`` contributions are counted in every number, never quoted.
- **Only redacted text.** ``TestimonyRecord.text`` is the redacted text; the
  original never leaves the corpus tables.
- **Small cells.** Every count goes through ``analysis.counting``: one that
  rests on fewer than ``settings.small_cell`` contributors is written "<5",
  one that would let it be worked out from a total "≥5", and a breakdown
  that cannot be shown safely is withheld; charts hatch such bars and draw
  them to the threshold, not to scale. Each breakdown reads as it does in the
  CLI and the bot; a theme's overall size as in ``lnob themes``.

Each file is recorded in the ``corpus.exports`` registry with the id of every
testimony it quotes, so that ``erase_exports_for`` can delete it (and rebuild
a report with the same parameters) when a contributor erases their data.

A document is built once as a list of blocks (headings, paragraphs, tables,
quotes, charts) and rendered to Markdown, HTML or DOCX from the same blocks,
so the three formats always hold the same content.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import html
import io
import logging
import re
import secrets
import time
import zipfile
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from corpus.exports import ExportFile, ExportRegistry
from corpus.redaction import ner_languages
from corpus.store import TestimonyFilter, TestimonyRecord
from corpus.validation import parse_country

from analysis import charts
from analysis.charts import driver_keys, driver_name
from analysis.counting import (
    Breakdown,
    Cell,
    Count,
    cell_of,
    count_by,
    count_of,
    protect,
    protect_table,
    public,
)
from analysis.counting import Table as CountTable
from analysis.evidence import EvidenceBase
from analysis.explore import protect_themes, theme_cells, theme_quotes
from analysis.languages import CorpusLanguages, LanguageMix, SingleLanguageRule, language_label, languages_of
from analysis.quotes import Quote

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("csv", "md", "docx")
REPORT_FORMATS = ("md", "html", "docx")
QUOTE_COLUMNS = ("testimony_id", "date", "country", "organisation", "kind", "language", "theme", "drivers", "text")
REPORT_KIND = "report"
QUOTE_CANDIDATES = 200  # most central quotable members per theme considered for quotes (keeps reports fast)
MAX_BREAKDOWN_VALUES = 12
MAX_REGIONS_CHARTED = 12
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- documents --------------------------------------------------------------------------


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Paragraph:
    text: str
    note: bool = False


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class QuoteBlock:
    text: str
    provenance: str


@dataclass
class Chart:
    name: str
    png: bytes
    caption: str


Block = Heading | Paragraph | Bullets | Table | QuoteBlock | Chart


def render_markdown(title: str, blocks: Sequence[Block], chart_stem: str) -> tuple[str, dict[str, bytes]]:
    """Markdown text and the chart files (name -> PNG) it links to, to be written next to it."""
    lines = [f"# {_md(title)}", ""]
    files: dict[str, bytes] = {}
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * (block.level + 1) + " " + _md(block.text), ""]
        elif isinstance(block, Paragraph):
            lines += [f"_{_md(block.text)}_" if block.note else _md(block.text), ""]
        elif isinstance(block, Bullets):
            lines += [f"- {_md(item)}" for item in block.items] + [""]
        elif isinstance(block, Table):
            lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            lines.append("|" + "|".join(" --- " for _ in block.headers) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif isinstance(block, QuoteBlock):
            lines += ["> " + line for line in _md(block.text).splitlines() or [""]]
            lines += [">", f"> — {_md(block.provenance)}", ""]
        elif isinstance(block, Chart):
            name = f"{chart_stem}-{block.name}.png"
            files[name] = block.png
            lines += [f"![{_md(block.caption)}]({name})", "", f"_{_md(block.caption)}_", ""]
    return "\n".join(lines).rstrip() + "\n", files


def render_html(title: str, blocks: Sequence[Block]) -> str:
    """A standalone HTML page: the charts are inside it (``data:`` URIs), so the one file travels whole."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.5;color:#222}table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #bbb;"
        "padding:.25rem .5rem;text-align:left;vertical-align:top}blockquote{border-left:4px solid #0072B2;"
        "margin:1rem 0;padding:.25rem 1rem;background:#f4f8fb}.provenance{font-size:.85em;color:#555}"
        ".note{color:#555;font-style:italic}img{max-width:100%}</style>",
        "</head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            level = min(block.level + 1, 6)
            parts.append(f"<h{level}>{e(block.text)}</h{level}>")
        elif isinstance(block, Paragraph):
            parts.append(f'<p class="note">{e(block.text)}</p>' if block.note else f"<p>{e(block.text)}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{e(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{e(h)}</th>" for h in block.headers)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, QuoteBlock):
            text = e(block.text).replace("\n", "<br>")
            parts.append(f'<blockquote><p>{text}</p><p class="provenance">{e(block.provenance)}</p></blockquote>')
        elif isinstance(block, Chart):
            source = "data:image/png;base64," + base64.b64encode(block.png).decode("ascii")
            parts.append(f'<figure><img src="{source}" alt="{e(block.caption)}"><figcaption>{e(block.caption)}</figcaption></figure>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_docx(title: str, blocks: Sequence[Block], path: Path) -> None:
    """A Word document of ``blocks`` at ``path``, charts inline."""
    from docx import Document
    from docx.shared import Inches, Pt

    blocks = [_docx_safe(b) for b in blocks]
    title = _NOT_XML.sub("", title)

    document = Document()
    document.core_properties.title = title
    document.core_properties.author = "lnob"
    document.add_heading(title, level=0)
    for block in blocks:
        if isinstance(block, Heading):
            document.add_heading(block.text, level=min(block.level, 9))
        elif isinstance(block, Paragraph):
            paragraph = document.add_paragraph()
            run = paragraph.add_run(block.text)
            run.italic = block.note
        elif isinstance(block, Bullets):
            for item in block.items:
                document.add_paragraph(item, style="List Bullet")
        elif isinstance(block, Table):
            table = document.add_table(rows=1, cols=len(block.headers), style="Table Grid")
            for cell, header in zip(table.rows[0].cells, block.headers):
                cell.text = header
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row in block.rows:
                for cell, value in zip(table.add_row().cells, row):
                    cell.text = value
            document.add_paragraph()
        elif isinstance(block, QuoteBlock):
            document.add_paragraph(block.text, style="Quote")
            provenance = document.add_paragraph().add_run(block.provenance)
            provenance.font.size = Pt(8)
        elif isinstance(block, Chart):
            document.add_picture(io.BytesIO(block.png), width=Inches(6.3))
            document.add_paragraph(block.caption, style="Caption")
    document.save(str(path))


def _docx_safe(block: Block) -> Block:
    """The block with characters XML cannot hold removed (a staff label may carry one)."""
    clean = lambda text: _NOT_XML.sub("", text)  # noqa: E731
    if isinstance(block, (Heading, Paragraph)):
        return dataclasses.replace(block, text=clean(block.text))
    if isinstance(block, Bullets):
        return Bullets([clean(i) for i in block.items])
    if isinstance(block, Table):
        return Table([clean(h) for h in block.headers], [[clean(c) for c in row] for row in block.rows])
    if isinstance(block, QuoteBlock):
        return QuoteBlock(clean(block.text), clean(block.provenance))
    if isinstance(block, Chart):
        return dataclasses.replace(block, caption=clean(block.caption))
    return block


def section_titles(blocks: Sequence[Block]) -> list[str]:
    """The top-level section headings, in order."""
    return [b.text for b in blocks if isinstance(b, Heading) and b.level == 1]


_LINE_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)
_MARKDOWN_SYNTAX = re.compile(
    r"^(?P<number>\d{1,9})(?P<delimiter>[.)])(?=[ \t]|$)"  # an ordered list item
    r"|^(?P<mark>#{1,6}(?=[ \t]|$)|[>+=-])"  # a heading, quote, list item, rule or setext underline
    r"|(?<=[ \t])#(?=#*[ \t]*$)"  # a heading's closing #s
    r"|[\\`*\[\]|~$]"  # escapes, code, emphasis, links and images, table cells, strikethrough, maths
    r"|_(?![^\W_])|(?<![^\W_])_"  # an _ that can open or close emphasis (snake_case cannot)
    r"|<(?=[A-Za-z/!?])"  # an HTML tag or an autolink ("<5" stays as it is)
    r"|&(?=#?\w+;)"  # a character reference
    r"|:(?=//)|(?<=\b[Ww]{3})\.",  # an extended autolink (https://..., www....)
    re.MULTILINE,
)


def _escape_markdown(match: re.Match[str]) -> str:
    if match.group("number"):
        return match.group("number") + "\\" + match.group("delimiter")
    return "\\" + match.group()


def _md(text: str) -> str:
    """Text that stays text in Markdown: every character that could start Markdown or HTML syntax there
    (a link, an image, a tag, emphasis, a heading, a list, a table cell) is backslash-escaped.

    Every quote, label, title and caption written to Markdown passes through here, so a testimony's
    ``[click](javascript:...)`` or ``![p](//host/p.png)`` shows as those characters, never as a live
    link or a remote image. Renderers (CommonMark, GitHub) show the original text; only the indentation
    of lines is dropped, since it would turn them into code blocks.
    """
    return _MARKDOWN_SYNTAX.sub(_escape_markdown, _LINE_INDENT.sub("", str(text)))


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _md_cell(text: str) -> str:
    return _md(" ".join(str(text).split()))


# -- consented quote rows ---------------------------------------------------------------


@dataclass
class QuoteRow:
    """One row of a quote export: redacted text with its provenance."""

    testimony_id: str
    date: str
    country: str
    organisation: str
    kind: str
    language: str
    theme: str
    drivers: list[str]
    text: str

    def provenance(self) -> str:
        """The provenance as one line for documents."""
        parts = [f"testimony {self.testimony_id}", self.date, self.country or "country unknown",
                 self.organisation or "organisation unknown", self.kind, language_label(self.language)]
        if self.theme:
            parts.append(f"theme {self.theme}")
        if self.drivers:
            parts.append("drivers: " + ", ".join(driver_name(d) for d in self.drivers))
        return " · ".join(parts)


def hidden_quotes(evidence: EvidenceBase) -> set[str]:
    """Testimonies staff hid from quoting (none if the curation tables are not there)."""
    try:
        return evidence.stores.curation.hidden()
    except Exception as exc:  # curation is optional for exports; consent is what must hold
        log.debug("no hidden quotes (%s)", exc.__class__.__name__)
        return set()


def pinned_quotes(evidence: EvidenceBase, theme_id: int) -> list[str]:
    """Testimonies staff pinned to a theme (none if the curation tables are not there)."""
    try:
        return evidence.stores.curation.pinned(theme_id)
    except Exception as exc:
        log.debug("no pinned quotes (%s)", exc.__class__.__name__)
        return []


def quote_rows(evidence: EvidenceBase, testimony_ids: Sequence[str], exclude: Iterable[str] = ()) -> list[QuoteRow]:
    """Rows for these ids, in their order, re-read from the store: quote consent, not hidden, redacted."""
    excluded = set(exclude) | hidden_quotes(evidence)
    ids = [i for i in dict.fromkeys(testimony_ids) if i not in excluded]
    records = [r for r in evidence.store.records(ids) if r.quotable]
    assignments = evidence.themes.assignments([r.id for r in records])
    labels: dict[int, str] = {}
    rows = []
    for record in records:
        assignment = assignments.get(record.id)
        theme = ""
        drivers: list[str] = []
        if assignment is not None:
            drivers = [d for d in [assignment.primary_driver, *(assignment.intersecting_drivers or [])] if d]
            if assignment.theme_id is not None:
                if assignment.theme_id not in labels:
                    labels[assignment.theme_id] = evidence.themes.theme(assignment.theme_id).label
                theme = f"{assignment.theme_id}: {labels[assignment.theme_id]}"
        rows.append(
            QuoteRow(
                testimony_id=record.id,
                date=record.created_at.date().isoformat(),
                country=record.country or "",
                organisation=record.organisation or "",
                kind=record.kind,
                language=record.language or "",
                theme=theme,
                drivers=drivers,
                text=record.text,
            )
        )
    return rows


def _ids_of(quotes: Iterable) -> list[str]:
    """Testimony ids of quotes, search results or plain ids."""
    return [q if isinstance(q, str) else q.id for q in quotes]


# -- quote exports ----------------------------------------------------------------------


def registry_of(evidence: EvidenceBase) -> ExportRegistry:
    """The export registry of this evidence base's data dir."""
    return evidence.stores.exports


def export_quotes(
    evidence: EvidenceBase,
    quotes: Sequence[Quote | object | str],
    fmt: str,
    *,
    title: str,
    kind: str = "quotes",
    params: dict | None = None,
    created_by: str = "cli",
    exclude: Iterable[str] = (),
) -> Path:
    """Write quotes (``Quote``, ``SearchResult`` or ids) as CSV, Markdown or DOCX under the exports dir.

    Only the ids are taken from ``quotes``: each testimony is read again from
    the store, and only quote-consented, non-hidden ones are written, with
    their redacted text and provenance (testimony id, date, country,
    organisation, kind, language, theme, drivers). The file is registered
    with the ids it holds; ``kind`` names what it is (``theme-quotes``,
    ``search``), ``params`` what it was made from.
    """
    return write_quotes(evidence, quotes, fmt, title=title, kind=kind, params=params, created_by=created_by,
                        exclude=exclude)[0]


def write_quotes(
    evidence: EvidenceBase,
    quotes: Sequence[Quote | object | str],
    fmt: str,
    *,
    title: str,
    kind: str = "quotes",
    params: dict | None = None,
    created_by: str = "cli",
    exclude: Iterable[str] = (),
) -> tuple[Path, ExportFile]:
    """``export_quotes``, also returning the registry row (its id and the testimony ids written)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    rows = quote_rows(evidence, _ids_of(quotes), exclude)
    path = _new_path(evidence.settings.exports_dir, kind, title, fmt)
    if fmt == "csv":
        _write_csv(rows, path)
    else:
        blocks = _quote_blocks(rows)
        if fmt == "md":
            text, _ = render_markdown(title, blocks, path.stem)
            path.write_text(text, encoding="utf-8")
        else:
            write_docx(title, blocks, path)
    params = {**(params or {}), "format": fmt}
    export = _register(evidence, path, [], kind=kind, format=fmt, title=title, params=params,
                       testimony_ids=[r.testimony_id for r in rows], created_by=created_by)
    return path, export


def _write_csv(rows: Sequence[QuoteRow], path: Path) -> None:
    # utf-8-sig so that spreadsheet programs read accents right
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(QUOTE_COLUMNS)
        for r in rows:
            values = [r.testimony_id, r.date, r.country, r.organisation, r.kind, r.language, r.theme, ";".join(r.drivers), r.text]
            writer.writerow([_csv_safe(v) for v in values])


def _csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(CSV_FORMULA_START) else value


def _quote_blocks(rows: Sequence[QuoteRow]) -> list[Block]:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    blocks: list[Block] = [
        Paragraph(
            f"{len(rows)} quotes, exported {now}. Only contributions whose contributor agreed to be quoted "
            "anonymously are included; every text is redacted (personal details replaced by placeholders such "
            "as [PHONE]). Each quote carries its testimony id, so it can be traced and erased.",
            note=True,
        )
    ]
    if not rows:
        blocks.append(Paragraph("No quotable testimonies: only contributions with quote consent can be exported."))
    for row in rows:
        blocks.append(QuoteBlock(row.text, row.provenance()))
    return blocks


# -- reports ----------------------------------------------------------------------------


class _Counts:
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


def _group_by(records: Iterable[TestimonyRecord], key: Callable[[TestimonyRecord], Iterable[str] | str]) -> dict[str, list]:
    groups: dict[str, list] = defaultdict(list)
    for record in records:
        values = key(record)
        for value in [values] if isinstance(values, str) else values:
            groups[value].append(record)
    return dict(groups)


NO_GROUP = "none given"
BREAKDOWN_KEYS: dict[str, Callable[[TestimonyRecord], Iterable[str] | str]] = {
    "country": lambda r: r.country or "unknown",
    "organisation": lambda r: r.organisation or "unknown",
    "kind": lambda r: r.kind,
    "gender": lambda r: r.gender or "not given",
    "age band": lambda r: r.age_band or "not given",
    "group": lambda r: r.groups or (NO_GROUP,),
    "language": lambda r: r.language or "unknown",
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
        return section_titles(self.blocks)


@dataclass
class ReportResult:
    """A report written to disk and registered."""

    path: Path
    export_id: int
    title: str
    country: str | None
    format: str
    sections: list[str]
    quotes: int
    testimony_ids: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """A JSON-ready dict (for ``lnob report --json`` and the bot)."""
        return {
            "path": str(self.path),
            "export_id": self.export_id,
            "title": self.title,
            "country": self.country,
            "format": self.format,
            "sections": self.sections,
            "quotes": self.quotes,
            "files": [str(f) for f in self.files],
            "seconds": self.seconds,
        }


def compose_report(
    evidence: EvidenceBase,
    country: str | None = None,
    *,
    n_quotes: int = 3,
    exclude: Iterable[str] = (),
) -> Report:
    """The content of the report for ``country`` (ISO code) or, with ``None``, the global report.

    ``exclude`` leaves testimonies out entirely (used when rebuilding a report
    after an erasure, in case the caller has not removed them from the store yet).
    """
    return _ReportBuilder(evidence, country, n_quotes=n_quotes, exclude=set(exclude)).build()


def generate_report(
    evidence: EvidenceBase,
    country: str | None = None,
    fmt: str = "md",
    *,
    n_quotes: int = 3,
    created_by: str = "cli",
    exclude: Iterable[str] = (),
) -> ReportResult:
    """Compose, write and register a report; returns where it is and what it holds."""
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"report format {fmt!r} is not one of {', '.join(REPORT_FORMATS)}")
    started = time.perf_counter()
    country = parse_country(country)
    report = compose_report(evidence, country, n_quotes=n_quotes, exclude=exclude)
    exports_dir = evidence.settings.exports_dir
    path = _new_path(exports_dir, REPORT_KIND, country or "global", fmt)
    companions: list[Path] = []
    if fmt == "docx":
        write_docx(report.title, report.blocks, path)
    elif fmt == "html":
        path.write_text(render_html(report.title, report.blocks), encoding="utf-8")
    else:
        text, files = render_markdown(report.title, report.blocks, path.stem)
        for name, png in files.items():
            (exports_dir / name).write_bytes(png)
            companions.append(exports_dir / name)
        path.write_text(text, encoding="utf-8")
    params = {"country": country, "format": fmt, "n_quotes": n_quotes}
    export = _register(evidence, path, companions, kind=REPORT_KIND, format=fmt, title=report.title, params=params,
                       testimony_ids=report.quoted_ids, created_by=created_by)
    return ReportResult(
        path=path,
        export_id=export.id,
        title=report.title,
        country=country,
        format=fmt,
        sections=report.sections,
        quotes=len(report.quoted_ids),
        testimony_ids=report.quoted_ids,
        files=companions,
        seconds=round(time.perf_counter() - started, 2),
    )


def report_package(result: ReportResult) -> tuple[str, bytes]:
    """The report as one file to hand over (a chat document, a download): its name and bytes.

    DOCX and HTML reports carry their charts inside them and go as they are; a
    Markdown report links to chart files beside it, so it goes as a zip of the
    report and its charts (the links still work once unpacked). The zip is made
    in memory: nothing more is written that an erasure would have to find.
    """
    if not result.files:
        return result.path.name, result.path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in (result.path, *result.files):
            archive.write(member, arcname=member.name)
    return result.path.with_suffix(".zip").name, buffer.getvalue()


def build_report(
    evidence: EvidenceBase,
    country: str | None = None,
    fmt: str = "md",
    *,
    n_quotes: int = 3,
    created_by: str = "cli",
) -> Path:
    """Write the report for ``country`` (``None``: global) as ``md``, ``html`` or ``docx``; returns its path."""
    return generate_report(evidence, country, fmt, n_quotes=n_quotes, created_by=created_by).path


class _ReportBuilder:
    """Builds one report's blocks from one read of the corpus, themes and assignments."""

    def __init__(self, evidence: EvidenceBase, country: str | None, *, n_quotes: int, exclude: set[str]) -> None:
        self.evidence = evidence
        self.country = country.upper() if country else None
        self.n_quotes = n_quotes
        self.exclude = exclude
        self.counts = _Counts(evidence.settings.small_cell)
        self.small_cell = evidence.settings.small_cell
        self.quoted: list[str] = []
        self.generated_at = datetime.now(timezone.utc)

    # -- reading ------------------------------------------------------------------------

    def _read(self) -> None:
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
        self.keys = list(driver_keys(self._codebook_path()))
        self.codebook = _load_codebook(self.evidence.settings.codebook_path)
        self._protect(all_records)

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
        self.by_driver = self.counts.of(("driver",), _group_by(self.records, lambda r: self._driver_of(r) or charts.NO_DRIVER))

    def _codebook_path(self) -> str | None:
        path = self.evidence.settings.codebook_path
        return str(path) if path else None

    def _driver_of(self, record: TestimonyRecord) -> str | None:
        assignment = self.assignments.get(record.id)
        return assignment.primary_driver if assignment is not None else None

    # -- building -----------------------------------------------------------------------

    def build(self) -> Report:
        self._read()
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
        records = self.records
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
        self.counts.of(("by", "kind"), _group_by(self.records, BREAKDOWN_KEYS["kind"]))
        return ("by", "kind")

    def _consent(self) -> tuple:
        """The name of the scope's breakdown by consent (quotable, aggregate), as ``lnob theme`` has it."""
        self.counts.of(("consent",), _group_by(self.records, lambda r: "quotable" if r.quotable else "aggregate"))
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
            [name, c.of(("by", name), _group_by(records, key)) and c.text(("by", name))]
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
        by_month = _group_by(self.records, lambda r: r.created_at.strftime("%Y-%m"))
        months = self.counts.of(("month",), by_month)
        blocks: list[Block] = [Heading("Charts")]
        if self.themes:
            blocks.append(Chart("themes", charts.themes_by_size(_chart_rows(self.themes, self.theme_cells), small_cell=small),
                                "Themes by number of contributions, coloured by primary driver."))
        blocks.append(Chart(
            "drivers",
            charts.drivers_by_country(top, small_cell=small, title=f"Contributions by driver and {place_name}",
                                      cells=table),
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
            self.counts.of(("by", place_name), _group_by(self.records, _PLACE[place_name]))
            counts, table = driver_place_table(self.records, self._driver_of, _PLACE[place_name], self.small_cell,
                                               drivers=self.keys)
            self._places = (place_name, counts, table)
        return self._places

    def _drivers(self) -> list[Block]:
        blocks: list[Block] = []
        by_driver = _group_by(self.themes, lambda t: t.primary_driver if t.primary_driver in self.keys else "")
        for key in self.keys:
            blocks.append(Heading(driver_name(key, codebook_path=self._codebook_path())))
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
        drivers = driver_name(theme.primary_driver) if theme.primary_driver else "none"
        if theme.intersecting_drivers:
            drivers += " (intersecting: " + ", ".join(driver_name(d) for d in theme.intersecting_drivers) + ")"
        cell = self.theme_cells[theme.id]
        size = f"{cell.label} contributions from {cell.people} contributors"
        if self.country:
            overall = self.overall_cells.get(theme.id)
            size += f" in {self.country} (theme overall: {overall.label if overall is not None else 'not shown'})"
        kinds = c.of(("theme", theme.id, "kind"), _group_by(members, BREAKDOWN_KEYS["kind"]))
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
            c.of(("theme", theme.id, name), _group_by(members, BREAKDOWN_KEYS[name]))
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
                blocks.append(QuoteBlock(quote.text, _quote_provenance(quote)))
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
        names = {k: driver_name(k, codebook_path=self._codebook_path()) for k in self.keys}
        places_name = "Countries" if self.country is None else "Regions"
        place_name, _, table = self._place_table()
        places = c.of(("by", place_name), {})
        by_place = _group_by(records, _PLACE[place_name])
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

        by_group = _group_by(records, lambda r: r.groups)
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
        groups = _group_by(self.records, BREAKDOWN_KEYS["group"])
        shown = self.counts.of(("by", "group"), groups)
        empty = Cell(Count(), "empty", self.small_cell)
        rows = Breakdown(dict(shown.cells) | {g: empty for g in self.all_groups if g not in shown}, self.small_cell,
                         shown.withheld)
        if NO_GROUP in rows.cells:  # the row of those who gave no group comes last
            rows.cells[NO_GROUP] = rows.cells.pop(NO_GROUP)
        counts = {g: {d: count_of(v) for d, v in _group_by(groups.get(g, []), self._driver_or_none).items()} for g in rows.cells}
        table = protect_table(counts, self.small_cell, columns=self._driver_columns(), row_totals=rows.cells,
                              column_totals=self._driver_totals())
        return rows, table

    def _driver_or_none(self, record: TestimonyRecord) -> str:
        return self._driver_of(record) or charts.NO_DRIVER

    def _driver_columns(self) -> list[str]:
        """The codebook's drivers, then any other primary driver found, then none."""
        return list(dict.fromkeys([*self.keys, *sorted(self.by_driver.cells), charts.NO_DRIVER]))

    def _driver_totals(self) -> dict[str, Cell]:
        empty = Cell(Count(), "empty", self.small_cell)
        return {d: self.by_driver.cells.get(d, empty) for d in self._driver_columns()}

    def _overlaps(self) -> list[Block]:
        """Which partners speak to each theme: overlaps, and themes only one partner speaks to."""
        c = self.counts
        shared_rows, single = [], []
        pairs: Counter = Counter()
        for theme in self.themes:
            by_org = _group_by([r for r in theme.members if r.organisation], lambda r: r.organisation)
            name = ("theme", theme.id, "organisation")  # as the theme's section shows it
            c.of(name, _group_by(theme.members, BREAKDOWN_KEYS["organisation"]))
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


def _load_codebook(path):
    """The driver codebook, read once per report (None if it cannot be read: the report still writes)."""
    try:
        from analysis.drivers import Codebook

        return Codebook.load(path)
    except Exception as exc:
        log.warning("driver codebook unavailable (%s); reports show driver keys", exc)
        return None


def _quote_provenance(quote: Quote) -> str:
    parts = [f"testimony {quote.id}", quote.date, quote.country or "country unknown",
             quote.organisation or "organisation unknown", quote.kind, language_label(quote.language)]
    if quote.drivers:
        parts.append("drivers: " + ", ".join(driver_name(d) for d in quote.drivers))
    if quote.pinned:
        parts.append("pinned by staff")
    return " · ".join(parts)


# -- charts from the evidence (for chat and reports) ------------------------------------

_PLACE: dict[str, Callable[[TestimonyRecord], str]] = {
    "country": lambda r: r.country or "unknown",
    "region": lambda r: r.region or "unknown",
}


def _chart_rows(themes: Sequence[ThemeInScope], cells: dict[int, Cell]) -> list[dict]:
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
    """Contributions per place and primary driver (none: ``charts.NO_DRIVER``), and the table protected as
    a whole (``analysis.counting.protect_table``), its totals as the breakdowns by place and by driver show
    them on their own (``/gaps``, a report's summary). Places come as that breakdown shows them."""
    driver = lambda r: driver_of(r) or charts.NO_DRIVER  # noqa: E731
    by_place = _group_by(records, place)
    places = protect({p: count_of(v) for p, v in by_place.items()}, small_cell)
    by_driver = protect(count_by(records, driver), small_cell)
    columns = list(dict.fromkeys([*drivers, *sorted(by_driver.cells), charts.NO_DRIVER]))
    empty = Cell(Count(), "empty", small_cell)
    table = protect_table({p: count_by(by_place[p], driver) for p in places.cells}, small_cell, columns=columns,
                          row_totals=places.cells, column_totals={d: by_driver.cells.get(d, empty) for d in columns})
    counts = {p: {d: n for d in columns if (n := table.cells[(p, d)].count.contributions)} for p in places.cells}
    return counts, table


def themes_chart(evidence: EvidenceBase, country: str | None = None) -> bytes:
    """PNG: the themes by size (within ``country`` if given), coloured by primary driver."""
    builder = _ReportBuilder(evidence, country, n_quotes=0, exclude=set())
    builder._read()
    title = "Themes by size" + (f" in {builder.country}" if builder.country else "")
    return charts.themes_by_size(_chart_rows(builder.themes, builder.theme_cells), small_cell=builder.small_cell,
                                 title=title)


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
    counts, table = driver_place_table(records, driver_of, _PLACE[place_name], small)
    top = dict(list(counts.items())[:MAX_REGIONS_CHARTED])
    title = f"Contributions by driver and {place_name}" + (f" in {country.upper()}" if country else "")
    return charts.drivers_by_country(top, small_cell=small, title=title, cells=table)


def theme_month_chart(evidence: EvidenceBase, theme_id: int, country: str | None = None) -> bytes:
    """PNG: a theme's contributions by month (within ``country`` if given)."""
    from analysis.explore import theme_members

    theme = evidence.themes.theme(theme_id)
    records = theme_members(evidence, theme_id)
    if country:
        records = [r for r in records if r.country == country.upper()]
    months = count_by(records, lambda r: r.created_at.strftime("%Y-%m"))  # as `lnob theme` shows them
    small = evidence.settings.small_cell
    return charts.theme_by_month({m: c.contributions for m, c in months.items()}, small_cell=small,
                                 cells=protect(months, small), title=f"#{theme.id} {theme.label}: contributions by month",
                                 colour=charts.driver_colour(theme.primary_driver))


# -- files and the registry -------------------------------------------------------------


def _slug(text: str, width: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:width].strip("-") or "export"


def _new_path(exports_dir: Path, kind: str, name: str, fmt: str) -> Path:
    """A fresh file name: kind, a slug of ``name``, the UTC time and a random suffix."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return exports_dir / f"{_slug(kind, 20)}-{_slug(name)}-{stamp}-{secrets.token_hex(3)}.{fmt}"


def _register(evidence: EvidenceBase, path: Path, companions: Sequence[Path], **record) -> ExportFile:
    """Record a written file; if that fails, the file is deleted (no copy on disk the registry does not know)."""
    try:
        return registry_of(evidence).record(path, files=companions, **record)
    except BaseException:
        for written in [path, *companions]:
            written.unlink(missing_ok=True)
        raise


# -- erasure ----------------------------------------------------------------------------


def erase_exports_for(
    evidence: EvidenceBase,
    testimony_ids: Iterable[str],
    *,
    still_counted: bool = False,
    relabelled: Sequence = (),
) -> list[Path]:
    """Delete every export that quotes any of ``testimony_ids`` and rebuild it without quoting them.

    Reports are regenerated with their parameters (country, format, number of
    quotes), once per set of parameters however many older copies there were;
    quote exports are rewritten with their remaining quotes (consent
    re-checked). After an erasure the ids are excluded explicitly, so this is
    safe to call before or after the testimonies leave the store. With
    ``still_counted`` (the contributor now allows ``aggregate`` use only) the
    rebuilt reports still count them in every number and only stop quoting
    them. A rebuild that fails is logged and skipped: the files holding the
    words are gone either way. Returns the paths deleted from disk.

    ``relabelled`` are the themes the erasure gave a new label or new keywords
    (``analysis.relabel.Relabel``; they are recomputed first). Files that may
    show an erased word (a relabelled theme's old label or keyword that the
    erased texts used and the theme no longer shows) are rebuilt too, though they quote no one erased:
    every report (it shows every theme's label and keywords), and every quote
    export of a relabelled theme or quoting a member of one (its theme
    column shows the label). A theme export is rebuilt under its new title,
    and the registry's record of every file, removed ones included, is
    renamed to match (title and file name), so no old label stays anywhere.
    """
    ids = set(testimony_ids)
    relabelled = [change for change in relabelled if change.dropped]  # only those can show an erased word
    if not ids and not relabelled:
        return []
    registry = registry_of(evidence)
    targets = registry.containing(ids) if ids else []
    if relabelled:
        chosen = {e.id for e in targets}
        targets += [e for e in _carrying_labels(evidence, registry, relabelled) if e.id not in chosen]
    removed: list[Path] = []
    rebuilt: dict[tuple, int | None] = {}
    for export in sorted(targets, key=lambda e: (e.created_at, e.id), reverse=True):
        removed += registry.remove(export.id, forget=ids)
        key = _rebuild_key(export)
        if key not in rebuilt:
            try:
                rebuilt[key] = _regenerate(evidence, export, ids, exclude=set() if still_counted else ids,
                                           title=_retitled(export.title, relabelled))
            except Exception:
                log.exception("could not rebuild export %s (%s) after an erasure; it was removed", export.id, export.kind)
                rebuilt[key] = None
        if rebuilt[key] is not None:
            registry.mark_replaced(export.id, rebuilt[key])
    if relabelled:
        _rename_records(registry, relabelled)
    return removed


def _theme_title(theme_id: int, label: str) -> str:
    """How a theme export's title names its theme (the CLI's and the bot's ``Theme 12: label``)."""
    return f"Theme {theme_id}: {label}"


def _retitled(title: str, relabelled: Sequence) -> str:
    """``title`` naming every relabelled theme by its new label."""
    for change in relabelled:
        if change.label_changed and change.old_label:
            title = title.replace(_theme_title(change.theme_id, change.old_label),
                                  _theme_title(change.theme_id, change.new_label))
    return title


def _carrying_labels(evidence: EvidenceBase, registry: ExportRegistry, relabelled: Sequence) -> list[ExportFile]:
    """Present exports that show an old label or keyword of a relabelled theme (see ``erase_exports_for``)."""
    present = registry.list()
    renamed = {change.theme_id for change in relabelled if change.label_changed}
    quoted = [t for e in present if e.kind != REPORT_KIND for t in e.testimony_ids or []]
    theme_of = {t: a.theme_id for t, a in evidence.themes.assignments(quoted).items()} if renamed and quoted else {}
    carrying = []
    for export in present:
        params = export.params or {}
        if export.kind == REPORT_KIND:
            carrying.append(export)
        elif renamed and (
            _retitled(export.title, relabelled) != export.title
            or params.get("theme_id", params.get("theme")) in renamed
            or any(theme_of.get(t) in renamed for t in export.testimony_ids or [])
        ):
            carrying.append(export)
    return carrying


def _rename_records(registry: ExportRegistry, relabelled: Sequence) -> None:
    """Every registry record (any status) whose title names a theme by its old label gets the new title,
    and its file name the new title's slug."""
    for export in registry.list(status=None):
        title = _retitled(export.title, relabelled)
        if title == export.title:
            continue
        old_prefix, new_prefix = f"{_slug(export.kind, 20)}-{_slug(export.title)}-", f"{_slug(export.kind, 20)}-{_slug(title)}-"

        def renamed(path: str) -> str:
            folder, _, name = path.rpartition("/")
            if name.startswith(old_prefix):
                name = new_prefix + name[len(old_prefix):]
            return f"{folder}/{name}" if folder else name

        registry.rename(export.id, title, renamed(export.path), [renamed(f) for f in export.files or []])


def _rebuild_key(export: ExportFile) -> tuple:
    """Reports with the same parameters are rebuilt once (the newest); every quote export on its own."""
    if export.kind == REPORT_KIND:
        params = export.params or {}
        return (REPORT_KIND, params.get("country"), params.get("format", export.format), params.get("n_quotes", 3))
    return ("export", export.id)


def _regenerate(
    evidence: EvidenceBase, export: ExportFile, unquoted: set[str], exclude: set[str], title: str | None = None
) -> int | None:
    """Write ``export`` again quoting none of ``unquoted`` and leaving ``exclude`` out of every count, under
    ``title`` (default: its own); returns the new export's id (None: nothing left to write)."""
    params = dict(export.params or {})
    if export.kind == REPORT_KIND:  # quotes are chosen afresh, consent re-checked
        result = generate_report(evidence, params.get("country"), params.get("format", export.format),
                                 n_quotes=int(params.get("n_quotes", 3)), created_by=export.created_by,
                                 exclude=exclude)
        return result.export_id
    remaining = [t for t in export.testimony_ids or [] if t not in unquoted]
    if not remaining:
        return None
    _, replacement = write_quotes(evidence, remaining, export.format, title=title or export.title, kind=export.kind,
                                  params=params, created_by=export.created_by, exclude=unquoted)
    return replacement.id
