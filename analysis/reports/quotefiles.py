"""Quote files: consented, redacted quotes with their provenance, written as CSV, Markdown or DOCX and registered.

The shortest working example::

    from analysis.explore import theme_quotes
    from analysis.reports.quotefiles import export_quotes

    path = export_quotes(evidence, theme_quotes(evidence, 12, n=20), "csv", title="Theme 12")

Only the ids are taken from what is passed: each testimony is read again
from the store, and only those whose contributor gave ``quote`` consent (and
that staff have not hidden) are written, with their redacted text. Every
file written under the exports dir, here or by a report, is named here
(``new_path``) and recorded in the ``corpus.exports`` registry with the ids it
quotes (``register_file``), so that an erasure can find it.
"""

from __future__ import annotations

import csv
import logging
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from corpus.exports import ExportFile, ExportRegistry
from corpus.vocabulary import EXPORT_FORMATS

from analysis.drivers import Codebook
from analysis.evidence import EvidenceBase
from analysis.quotes import Quote, provenance
from analysis.reports.documents import Block, Paragraph, QuoteBlock, render_markdown
from analysis.reports.wordfile import write_docx

log = logging.getLogger(__name__)

QUOTE_COLUMNS = ("testimony_id", "date", "country", "organisation", "kind", "language", "theme", "drivers", "text")
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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

    def provenance(self, codebook: Codebook | None = None) -> str:
        """The provenance as one line for documents (``analysis.quotes.provenance``, with the theme)."""
        return provenance(self.testimony_id, self.date, self.country, self.organisation, self.kind, self.language,
                          theme=self.theme, drivers=self.drivers, codebook=codebook)


def readable_codebook(evidence: EvidenceBase) -> Codebook | None:
    """The evidence base's driver codebook, or None if it cannot be read: a file is still written, its drivers
    then named from the bundled codebook (or by their keys)."""
    try:
        return evidence.codebook
    except Exception as exc:
        log.warning("driver codebook unavailable (%s); reports show driver keys", exc)
        return None


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
    """The export registry of this evidence base's data dir (``evidence.stores.exports``)."""
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
    path = new_path(evidence.settings.exports_dir, kind, title, fmt)
    if fmt == "csv":
        _write_csv(rows, path)
    else:
        blocks = _quote_blocks(rows, readable_codebook(evidence))
        if fmt == "md":
            text, _ = render_markdown(title, blocks, path.stem)
            path.write_text(text, encoding="utf-8")
        else:
            write_docx(title, blocks, path)
    params = {**(params or {}), "format": fmt}
    export = register_file(evidence, path, [], kind=kind, format=fmt, title=title, params=params,
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


def _quote_blocks(rows: Sequence[QuoteRow], codebook: Codebook | None) -> list[Block]:
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
        blocks.append(QuoteBlock(row.text, row.provenance(codebook)))
    return blocks


# -- file names and the registry ---------------------------------------------------------


def slug(text: str, width: int = 40) -> str:
    """``text`` as a file-name part: ASCII letters and digits joined by ``-``, at most ``width`` long."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:width].strip("-") or "export"


def new_path(exports_dir: Path, kind: str, name: str, fmt: str) -> Path:
    """A fresh file name: kind, a slug of ``name``, the UTC time and a random suffix."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return exports_dir / f"{slug(kind, 20)}-{slug(name)}-{stamp}-{secrets.token_hex(3)}.{fmt}"


def register_file(evidence: EvidenceBase, path: Path, companions: Sequence[Path], **record) -> ExportFile:
    """Record a written file; if that fails, the file is deleted (no copy on disk the registry does not know)."""
    try:
        return evidence.stores.exports.record(path, files=companions, **record)
    except BaseException:
        for written in [path, *companions]:
            written.unlink(missing_ok=True)
        raise
