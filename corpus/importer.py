"""Import of testimonies and proposals from CSV and XLSX files.

Every bad row is reported with its row number and reason and the rest go in;
an unknown column, a missing file or an invalid encoding stops the import
before anything is written. Importing the same file again adds nothing: each
row gets a source reference (the ``--id-col`` value, else a hash of its text)
that is unique per source. Rows are committed in batches, each batch in one
transaction, so an interrupted import leaves no half-written rows and a
re-run resumes where it stopped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from corpus.errors import CorpusError, ImportFileError
from corpus.models import ConsentLevel, Testimony
from corpus.store import CorpusStore, TestimonyDraft
from corpus.textkey import text_hash
from corpus.validation import clean_text, parse_country, parse_kind, parse_language

SUPPORTED_SUFFIXES = {".csv", ".tsv", ".xlsx"}


@dataclass
class ImportSpec:
    """Which columns hold what; only ``text_col`` is required."""

    text_col: str = "text"
    kind_col: str | None = None
    country_col: str | None = None
    language_col: str | None = None
    id_col: str | None = None
    region_col: str | None = None
    date_col: str | None = None
    contributor_col: str | None = None
    age_band_col: str | None = None
    gender_col: str | None = None
    groups_col: str | None = None
    drivers_col: str | None = None
    consent_col: str | None = None
    organisation: str | None = None
    organisation_col: str | None = None
    default_language: str | None = None
    default_country: str | None = None
    consent: ConsentLevel = ConsentLevel.aggregate
    sheet: str | None = None

    def columns(self) -> list[str]:
        """The column names this spec refers to."""
        return [v for k, v in vars(self).items() if k.endswith("_col") and v]


@dataclass
class BadRow:
    """A row that was not imported, and why."""

    row: int
    reason: str


@dataclass
class ImportPlan:
    """What an import will do: the drafts to add, the rows refused, the rows already there."""

    source: str
    drafts: list[tuple[int, TestimonyDraft]] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    already_imported: int = 0
    total_rows: int = 0


def read_rows(path: Path, sheet: str | None = None) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header and the rows (with their 1-based row numbers, header = row 1) of a CSV or XLSX file."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"file not found: {path}")
    if not path.is_file():
        raise ImportFileError(f"not a file: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ImportFileError(f"cannot import {path.name}: use a .csv, .tsv or .xlsx file")
    if suffix == ".xlsx":
        return _xlsx_rows(path, sheet)
    return _csv_rows(path, "\t" if suffix == ".tsv" else ",")


def _csv_rows(path: Path, delimiter: str):
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"{path.name} is not valid UTF-8 (byte {exc.start}, line {line}): re-save it as UTF-8 (CSV UTF-8 in Excel)"
        ) from None
    if "\x00" in text:
        raise ImportFileError(f"{path.name} contains NUL bytes: it is not a text CSV file")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ImportFileError(f"{path.name} is empty: it needs a header row and at least one data row") from None
    except csv.Error as exc:
        raise ImportFileError(f"{path.name} is not a readable CSV file: {exc}") from None

    def rows():
        try:
            for number, values in enumerate(reader, start=2):
                if not any(v.strip() for v in values):
                    continue
                yield number, dict(zip(header, values))
        except csv.Error as exc:
            raise ImportFileError(f"{path.name} line {reader.line_num}: {exc}") from None

    return header, rows()


def _xlsx_rows(path: Path, sheet: str | None):
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ImportFileError(f"{path.name} is not a readable .xlsx workbook: {exc}") from None
    if sheet and sheet not in workbook.sheetnames:
        raise ImportFileError(f"{path.name} has no sheet {sheet!r}; sheets: {', '.join(workbook.sheetnames)}")
    worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
    iterator = worksheet.iter_rows(values_only=True)
    try:
        header = [str(h).strip() if h is not None else "" for h in next(iterator)]
    except StopIteration:
        raise ImportFileError(f"{path.name} is empty: it needs a header row and at least one data row") from None

    def cell(value) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def rows():
        for number, values in enumerate(iterator, start=2):
            if values is None or not any(v is not None and str(v).strip() for v in values):
                continue
            yield number, {h: cell(v) for h, v in zip(header, values)}
        workbook.close()

    return header, rows()


def parse_date(value: str) -> datetime:
    """An ISO date or date-time (``2026-03-14``, ``2026-03-14T10:22:00Z``) as an aware UTC datetime."""
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"date {value!r} is not an ISO date such as 2026-03-14") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def plan_import(store: CorpusStore, path: Path, spec: ImportSpec) -> ImportPlan:
    """Read and validate the whole file; nothing is written."""
    path = Path(path)
    header, rows = read_rows(path, spec.sheet)
    unknown = [c for c in spec.columns() if c not in header]
    if unknown:
        raise ImportFileError(
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in {path.name}; "
            f"columns are: {', '.join(h for h in header if h)}"
        )
    if spec.organisation and store.organisation(spec.organisation) is None:
        raise ImportFileError(
            f"no organisation with code {spec.organisation!r}: create it first with "
            f"`lnob org add NAME --code {spec.organisation}`"
        )
    known_orgs = {o.code for o in store.organisations()}
    plan = ImportPlan(source=f"import:{path.name}")
    seen: dict[str, int] = {}
    for number, row in rows:
        plan.total_rows += 1
        try:
            draft = _draft(row, spec, plan.source, store.settings.max_import_chars, known_orgs)
        except (CorpusError, ValueError) as exc:
            plan.bad_rows.append(BadRow(number, str(exc)))
            continue
        if draft.source_ref in seen:
            plan.bad_rows.append(BadRow(number, f"duplicate of row {seen[draft.source_ref]}"))
            continue
        seen[draft.source_ref] = number
        plan.drafts.append((number, draft))
    existing = store.existing_source_refs(plan.source, seen)
    if existing:
        plan.drafts = [(n, d) for n, d in plan.drafts if d.source_ref not in existing]
        plan.already_imported = len(existing)
    return plan


def _draft(row: dict[str, str], spec: ImportSpec, source: str, max_chars: int, known_orgs: set[str]) -> TestimonyDraft:
    def value(column: str | None) -> str | None:
        if not column:
            return None
        text = (row.get(column) or "").strip()
        return text or None

    text = clean_text(row.get(spec.text_col), max_chars)
    ref = value(spec.id_col)
    if spec.id_col and ref is None:
        raise ValueError(f"the id column {spec.id_col!r} is empty")
    ref = ref or f"text:{text_hash(text)[:32]}"
    organisation = value(spec.organisation_col) or spec.organisation
    if organisation and organisation.lower() not in known_orgs:
        raise ValueError(f"unknown organisation {organisation!r}: create it with `lnob org add NAME --code CODE`")
    consent = value(spec.consent_col)
    try:
        consent_level = ConsentLevel(consent.lower()) if consent else spec.consent
    except ValueError:
        raise ValueError(f"consent {consent!r} is not one of: quote, aggregate") from None
    date = value(spec.date_col)
    groups = value(spec.groups_col)
    drivers = value(spec.drivers_col)
    profile = {
        "age_band": value(spec.age_band_col),
        "gender": value(spec.gender_col),
        "groups": [g.strip() for g in groups.replace(",", ";").split(";")] if groups else [],
        "country": parse_country(value(spec.country_col) or spec.default_country),
        "region": value(spec.region_col),
        "language": parse_language(value(spec.language_col) or spec.default_language),
    }
    return TestimonyDraft(
        text=text,
        kind=parse_kind(value(spec.kind_col)),
        language=profile["language"],
        country=profile["country"],
        region=profile["region"],
        organisation=organisation.lower() if organisation else None,
        consent_level=consent_level,
        source=source,
        source_ref=ref,
        created_at=parse_date(date) if date else None,
        self_drivers=[d.strip() for d in drivers.replace(",", ";").split(";") if d.strip()] if drivers else [],
        contributor_ref=f"{source}:{value(spec.contributor_col) or ref}",
        contributor_namespace="import",
        profile={k: v for k, v in profile.items() if v},
    )


def commit_plan(
    store: CorpusStore,
    plan: ImportPlan,
    *,
    batch_size: int = 256,
    on_batch: Callable[[list[Testimony]], None] | None = None,
) -> int:
    """Commit the planned rows batch by batch (each batch atomic); returns how many were added.

    ``on_batch`` runs after each committed batch (the CLI embeds and indexes
    there, and advances the progress bar).
    """
    added = 0
    drafts = [d for _, d in plan.drafts]
    for start in range(0, len(drafts), batch_size):
        batch: Sequence[TestimonyDraft] = drafts[start : start + batch_size]
        stored = store.add_testimonies(batch, max_chars=store.settings.max_import_chars)
        added += len(stored)
        if on_batch:
            on_batch(stored)
    if added:
        store.optimize()
    return added
