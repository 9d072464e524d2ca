"""Country and global reports: composed from one read of the evidence, rendered and registered.

The shortest working example::

    from analysis.reports import generate_report

    result = generate_report(evidence, "NP", "docx")   # None: the global report
    result.path, result.sections, result.quotes
    generate_report(evidence, "KE", "docx", language="sw", template=Path("brand.docx"))

The content is built once (``analysis.reports.sections``), in the report's
language (``en``, ``fr``, ``es``, ``sw``: the catalogue's ``report_*`` texts), and
rendered to Markdown (with its charts as PNG files beside it), HTML
(``analysis.reports.documents``) or DOCX (``analysis.reports.wordfile``; on A4,
or on an organisation's own ``template``); the file is registered with the id
of every testimony it quotes, and with its parameters, so that an erasure
finds it and rebuilds it the same way.

A country with no contributions is not an empty report: ``NoContributions``
says so and names the countries that have data.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corpus.errors import CorpusError, InvalidText
from corpus.store import TestimonyFilter
from corpus.validation import parse_country
from corpus.vocabulary import REPORT_FORMATS

from analysis.evidence import EvidenceBase
from analysis.reports.documents import render_html, render_markdown
from analysis.reports.quotefiles import new_path, register_file
from analysis.reports.sections import Report, ReportBuilder
from analysis.reports.wording import Wording
from analysis.reports.wordfile import write_docx
from analysis.texts import DEFAULT_LANGUAGE, LANGUAGES

REPORT_KIND = "report"
REPORT_LANGUAGES = LANGUAGES


class NoContributions(CorpusError):
    """A report asked for a country the evidence base has no contributions from (or no country code at all).

    ``countries`` are the codes that have data, for the caller to offer instead.
    """

    def __init__(self, message: str, countries: Sequence[str]) -> None:
        super().__init__(message)
        self.countries = list(countries)


def countries_with_data(evidence: EvidenceBase) -> list[str]:
    """The country codes with at least one contribution, in alphabetical order (codes only: no counts)."""
    return sorted(code for code, n in evidence.store.stats()["by_country"].items() if code and n)


def check_country(evidence: EvidenceBase, country: str | None) -> str | None:
    """The country code a report is for (None: global), or ``NoContributions`` naming the countries with data."""
    if country is None or not str(country).strip():
        return None
    try:
        code = parse_country(country)
    except InvalidText as exc:  # worded as search and export search word it (tests/test_search_filters.py)
        raise NoContributions(str(exc), countries_with_data(evidence)) from None
    if not has_data(evidence, code):
        countries = countries_with_data(evidence)
        raise NoContributions(f"there are no contributions from {code} ({Wording().country(code)}) in the "
                              f"evidence base: no report written; {_with_data(countries)}", countries)
    return code


def has_data(evidence: EvidenceBase, country: str) -> bool:
    """Whether any contribution comes from ``country`` (one indexed count: cheap before a long report)."""
    return evidence.store.count_testimonies(where=TestimonyFilter(country=country)) > 0


def _with_data(countries: Sequence[str]) -> str:
    if not countries:
        return "the evidence base has no contributions from any country yet"
    names = Wording()
    return "countries with data: " + ", ".join(f"{code} ({names.country(code)})" for code in countries)


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
    language: str = DEFAULT_LANGUAGE
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
            "language": self.language,
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
    language: str = DEFAULT_LANGUAGE,
) -> Report:
    """The content of the report for ``country`` (ISO code) or, with ``None``, the global report, in ``language``.

    ``exclude`` leaves testimonies out entirely (used when rebuilding a report
    after an erasure, in case the caller has not removed them from the store yet).
    """
    return ReportBuilder(evidence, country, n_quotes=n_quotes, exclude=set(exclude), language=language).build()


def generate_report(
    evidence: EvidenceBase,
    country: str | None = None,
    fmt: str = "md",
    *,
    n_quotes: int = 3,
    created_by: str = "cli",
    exclude: Iterable[str] = (),
    language: str = DEFAULT_LANGUAGE,
    template: Path | None = None,
) -> ReportResult:
    """Compose, write and register a report; returns where it is and what it holds.

    ``language`` is the report's (``REPORT_LANGUAGES``); ``template`` a .docx
    whose styles, page set-up, header and footer a DOCX report takes (its body
    is replaced). A country without contributions raises ``NoContributions``.
    """
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"report format {fmt!r} is not one of {', '.join(REPORT_FORMATS)}")
    if language not in REPORT_LANGUAGES:
        raise InvalidText(f"report language {language!r} is not one of {', '.join(REPORT_LANGUAGES)}")
    if template is not None and fmt != "docx":
        raise InvalidText("a template is for DOCX reports: add --format docx, or leave the template out")
    if template is not None and not Path(template).is_file():
        raise InvalidText(f"the template {Path(template).name!r} is not a file: give the path of a .docx file")
    started = time.perf_counter()
    country = check_country(evidence, country)
    report = compose_report(evidence, country, n_quotes=n_quotes, exclude=exclude, language=language)
    exports_dir = evidence.settings.exports_dir
    path = new_path(exports_dir, REPORT_KIND, country or "global", fmt)
    companions: list[Path] = []
    if fmt == "docx":
        try:
            write_docx(report.title, report.blocks, path, language=language, template=template,
                       header=report.header, page_text=report.page_text)
        except (ValueError, KeyError, zipfile.BadZipFile) as exc:  # python-docx on a file that is not a Word document
            path.unlink(missing_ok=True)
            raise InvalidText(f"the template cannot be read as a Word document ({exc.__class__.__name__}): "
                              "give a .docx file saved by Word or LibreOffice") from None
    elif fmt == "html":
        path.write_text(render_html(report.title, report.blocks, language), encoding="utf-8")
    else:
        text, files = render_markdown(report.title, report.blocks, path.stem)
        for name, png in files.items():
            (exports_dir / name).write_bytes(png)
            companions.append(exports_dir / name)
        path.write_text(text, encoding="utf-8")
    params = {"country": country, "format": fmt, "n_quotes": n_quotes, "language": language}
    if template is not None:
        params["template"] = str(Path(template).resolve())
    export = register_file(evidence, path, companions, kind=REPORT_KIND, format=fmt, title=report.title, params=params,
                       testimony_ids=report.quoted_ids, created_by=created_by)
    return ReportResult(
        path=path,
        export_id=export.id,
        title=report.title,
        country=country,
        format=fmt,
        language=language,
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
