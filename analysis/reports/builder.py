"""Country and global reports: composed from one read of the evidence, rendered and registered.

The shortest working example::

    from analysis.reports import generate_report

    result = generate_report(evidence, "NP", "docx")   # None: the global report
    result.path, result.sections, result.quotes

The content is built once (``analysis.reports.sections``) and rendered to
Markdown (with its charts as PNG files beside it), HTML or DOCX
(``analysis.reports.documents``); the file is registered with the id of every
testimony it quotes, so that an erasure finds it.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from corpus.validation import parse_country
from corpus.vocabulary import REPORT_FORMATS

from analysis.evidence import EvidenceBase
from analysis.reports.documents import render_html, render_markdown, write_docx
from analysis.reports.quotefiles import new_path, register_file
from analysis.reports.sections import Report, ReportBuilder

REPORT_KIND = "report"


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
    return ReportBuilder(evidence, country, n_quotes=n_quotes, exclude=set(exclude)).build()


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
    path = new_path(exports_dir, REPORT_KIND, country or "global", fmt)
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
    export = register_file(evidence, path, companions, kind=REPORT_KIND, format=fmt, title=report.title, params=params,
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
