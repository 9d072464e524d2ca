"""Import of testimonies and proposals from CSV and XLSX files.

Every bad row is reported with its row number and reason and the rest go in:
a cell over ``LNOB_MAX_IMPORT_CHARS``, a quote that is never closed, more
cells than the header has columns. An unknown column, a missing file or an
invalid encoding stops the import before anything is written.

Rows belong to a *collection*, stored as their ``source``: ``--source NAME``
if given, else the file's name under the organisation's code
(``import:plan/data.csv``) or, without ``--org``, the file's name alone. Each
row gets a source reference (the ``--id-col`` value, else a hash of its text)
that is unique per collection, so importing an updated export of a
collection adds only its new rows, and two collections never collide. A file
whose name is already a collection it does not look like (none of its rows
stored there, or the same ids with other texts) is refused until
``--source`` names it. Contributor ids of the file are ids within the
collection. Rows are committed in batches, each batch in one transaction, so
an interrupted import leaves no half-written rows and a re-run resumes where
it stopped.
"""

from __future__ import annotations

import csv
import io
import itertools
import shlex
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from corpus.errors import CorpusError, ImportFileError
from corpus.models import ConsentLevel, Testimony
from corpus.store import CorpusStore, TestimonyDraft
from corpus.textkey import text_hash
from corpus.validation import clean_text, parse_country, parse_kind, parse_language

SUPPORTED_SUFFIXES = {".csv", ".tsv", ".xlsx"}
SOURCE_PREFIX = "import:"  # the stored ``source`` of an imported row is this and its collection's name
MAX_COLLECTION_NAME = 200
COMPARED_ROWS = 200  # rows whose stored text is compared to tell a newer export from another file


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
    source: str | None = None  # the collection's name; default: the file's name (under --org's code)

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


def read_rows(
    path: Path, sheet: str | None = None, malformed: list[BadRow] | None = None
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header and the rows (with their 1-based row numbers, header = row 1) of a CSV or XLSX file.

    A CSV row that cannot be read as it stands (a quote never closed, more cells than columns) is
    appended to ``malformed`` and skipped; without that list it stops the reading with an
    ``ImportFileError``.
    """
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
    return _csv_rows(path, "\t" if suffix == ".tsv" else ",", malformed)


def _csv_rows(path: Path, delimiter: str, malformed: list[BadRow] | None):
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
    lines = io.StringIO(text, newline="").readlines()
    # Cells are measured row by row against LNOB_MAX_IMPORT_CHARS (see `_draft`); the csv module's own
    # limit (128 KiB) would stop the whole file at the first long cell. No cell is longer than the file.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    # Strict: a quote that is never closed, or closed in the middle of a cell, is an error rather than
    # lines silently glued into one cell.
    dialect = {"delimiter": delimiter, "strict": True}
    reader = csv.reader(lines, **dialect)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ImportFileError(f"{path.name} is empty: it needs a header row and at least one data row") from None
    except csv.Error as exc:
        raise ImportFileError(f"{path.name} is not a readable CSV file: {exc}") from None

    def refuse(problem: BadRow) -> None:
        if malformed is None:
            raise ImportFileError(f"{path.name} row {problem.row}: {problem.reason}")
        malformed.append(problem)

    def rows():
        nonlocal reader
        number, offset = 1, 0  # offset: the lines before the reader's first line
        while True:
            first = offset + reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                last = offset + reader.line_num
                at_end = "end of data" in str(exc)
                refuse(BadRow(number, _quote_problem(str(exc), first, last, at_end)))
                if at_end and last > first:  # the quote ran to the end: the lines after it are rows of their own
                    offset, reader = first, csv.reader(itertools.islice(lines, first, None), **dialect)
                continue
            number += 1
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header) and any(v.strip() for v in values[len(header) :]):
                sign = "a tab" if delimiter == "\t" else f"'{delimiter}'"
                refuse(BadRow(number, f"{len(values)} cells but the header has {len(header)} columns: "
                                      f"put a cell that holds {sign} in double quotes"))
                continue
            yield number, dict(zip(header, values))

    return header, rows()


def _quote_problem(error: str, first: int, last: int, at_end: bool) -> str:
    """Why a CSV row could not be read, by line number (the cells themselves are not echoed)."""
    if at_end:
        return (
            f"line {first}: a quote that opens a cell is never closed (the file ends inside it); close it, "
            "or double a quote that is part of the text (\"\"): the lines after it were read as rows of their own"
        )
    if first == last:
        return (
            f"line {first}: misplaced quote ({error}): put the whole cell in double quotes and double the quotes in it"
        )
    return (
        f"lines {first}-{last}: a quote that opens a cell is not closed on its line, so the lines up to {last} "
        f"were read into this row ({error}); close the quote and import again (rows already imported are skipped)"
    )


def _xlsx_rows(path: Path, sheet: str | None):
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
    """Read and validate the whole file and find its collection; nothing is written."""
    path = Path(path)
    if spec.source is not None:
        collection_name(spec.source)  # a bad name is refused before the file is read
    malformed: list[BadRow] = []
    header, rows = read_rows(path, spec.sheet, malformed)
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
    drafts: list[tuple[int, TestimonyDraft]] = []
    bad_rows: list[BadRow] = []
    seen: dict[str, int] = {}
    for number, row in rows:
        try:
            draft = _draft(row, spec, store.settings.max_import_chars, known_orgs)
        except (CorpusError, ValueError) as exc:
            bad_rows.append(BadRow(number, str(exc)))
            continue
        if draft.source_ref in seen:
            bad_rows.append(BadRow(number, f"duplicate of row {seen[draft.source_ref]}"))
            continue
        seen[draft.source_ref] = number
        drafts.append((number, draft))
    source, existing = _collection(store, path, spec, [d for _, d in drafts])
    for _, draft in drafts:
        _file_under(draft, source)
    return ImportPlan(
        source=source,
        drafts=[(n, d) for n, d in drafts if d.source_ref not in existing],
        bad_rows=sorted(malformed + bad_rows, key=lambda b: b.row),
        already_imported=len(existing),
        total_rows=len(drafts) + len(bad_rows) + len(malformed),
    )


def collection_name(name: str) -> str:
    """A collection name given with ``--source``, checked: what follows ``import:`` in the stored source."""
    name = name.strip()
    problem = (
        "is empty" if not name
        else f"is longer than {MAX_COLLECTION_NAME} characters" if len(name) > MAX_COLLECTION_NAME
        else "contains ':'" if ":" in name  # it separates the collection from a contributor's id
        else "contains control characters" if any(unicodedata.category(c) == "Cc" for c in name)
        else None
    )
    if problem:
        raise ImportFileError(
            f"the collection name given with --source {problem}: use a short name such as plan-np-2026"
        )
    return name


def contributor_ref(source: str, partner_id: str) -> str:
    """The external id of a contributor known by ``partner_id`` in the collection ``source``.

    Partners number their contributors in each file, so the id is only an id within its collection:
    two files' "contributor 1" are two people. The pseudonym is this under the ``import`` namespace.
    """
    return f"{source}:{partner_id}"


def imported_contributor(store: CorpusStore, partner_id: str, organisation: str, source: str | None = None):
    """The contributor an organisation's imported file calls ``partner_id`` (for erasure requests partners relay).

    Only pseudonyms are stored, so the id is looked up as every collection of
    the organisation would have turned it into one (or ``source``'s alone, a
    name as given to ``--source``). The same id in two collections is two
    people: that is refused unless ``source`` says which. Errors never repeat
    the id.
    """
    partner_id = str(partner_id).strip()
    sources = store.sources_of(organisation, SOURCE_PREFIX)
    if source is not None:
        wanted = source.strip() if source.strip().startswith(SOURCE_PREFIX) else SOURCE_PREFIX + collection_name(source)
        sources = [s for s in sources if s == wanted]
    found = {}
    for collection in sources:
        contributor = store.find_contributor(contributor_ref(collection, partner_id), "import") if partner_id else None
        if contributor is not None:
            found[collection] = contributor
    where = f"collection {source.strip()!r}" if source is not None else f"the collections imported for {organisation}"
    if not found:
        raise CorpusError(f"no contributor with that id in {where}: check the id, --org and --source")
    if len({c.id for c in found.values()}) > 1:
        names = ", ".join(c.removeprefix(SOURCE_PREFIX) for c in found)
        raise CorpusError(f"that id names a contributor in several collections ({names}): say which with --source NAME")
    return next(iter(found.values()))


def _file_under(draft: TestimonyDraft, source: str) -> None:
    """Put ``draft`` into the collection ``source``; its contributor id (the file's) becomes one of it."""
    draft.source = source
    draft.contributor_ref = contributor_ref(source, draft.contributor_ref)


def _collection(
    store: CorpusStore, path: Path, spec: ImportSpec, drafts: list[TestimonyDraft]
) -> tuple[str, set[str]]:
    """The source (collection) the rows go under, and which of their references it already holds.

    ``--source`` names it; otherwise it is ``import:ORG/FILE`` with ``--org``, else ``import:FILE``.
    A file that does not look like the rows stored under its default name is refused: a file of the
    same name from someone else must be named with ``--source``. With ``--org``, a collection
    imported before names held the organisation (``import:FILE``) is continued when the file matches.
    """
    if spec.source is not None:
        source = SOURCE_PREFIX + collection_name(spec.source)
        return source, store.existing_source_refs(source, [d.source_ref for d in drafts])
    organisation = (spec.organisation or "").strip().lower()
    name = f"{organisation}/{path.name}" if organisation else path.name
    if len(SOURCE_PREFIX + name) > 255:
        raise ImportFileError(f"the name {path.name!r} is too long to name a collection: name it with --source NAME")
    if not drafts:
        return SOURCE_PREFIX + name, set()
    same, existing = _same_collection(store, SOURCE_PREFIX + name, drafts)
    if same is False:
        why = "the rows stored there under its ids have other texts" if existing else "none of its rows is stored there"
        raise ImportFileError(
            f"{path.name} is not the {path.name} imported before as collection {name!r} ({why}): name this "
            f"collection with --source NAME, or use --source {shlex.quote(name)} if it is a newer export of that one"
        )
    if same is None and organisation:
        continued, continued_existing = _same_collection(store, SOURCE_PREFIX + path.name, drafts)
        if continued:
            return SOURCE_PREFIX + path.name, continued_existing
    return SOURCE_PREFIX + name, existing


def _same_collection(store: CorpusStore, source: str, drafts: list[TestimonyDraft]) -> tuple[bool | None, set[str]]:
    """Whether the rows look like a (newer) export of the collection ``source`` (None: it holds no rows),
    and which of their references it holds.

    They do when some of their references are stored there and at least half of those (up to
    ``COMPARED_ROWS``) have the same text: another partner's file numbered 1, 2, ... has other texts.
    """
    if not store.has_source(source):
        return None, set()
    existing = store.existing_source_refs(source, [d.source_ref for d in drafts])
    compared = [d for d in drafts if d.source_ref in existing][:COMPARED_ROWS]
    if not compared:
        return False, existing
    stored = store.source_texts(source, [d.source_ref for d in compared])
    same = sum(text_hash(stored.get(d.source_ref, "")) == text_hash(d.text) for d in compared)
    return 2 * same >= len(compared), existing


def _draft(row: dict[str, str], spec: ImportSpec, max_chars: int, known_orgs: set[str]) -> TestimonyDraft:
    """The row as a draft, not yet in a collection (see `_file_under`), or ``ValueError`` saying why not."""
    for column in spec.columns():  # before any value is parsed, so that no message quotes a huge cell
        length = len(row.get(column) or "")
        if column != spec.text_col and length > max_chars:  # the text's own check says it for the text
            raise ValueError(
                f"the {column!r} cell is {length} characters long; the limit is {max_chars} (LNOB_MAX_IMPORT_CHARS)"
            )

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
        source_ref=ref,
        created_at=parse_date(date) if date else None,
        self_drivers=[d.strip() for d in drivers.replace(",", ";").split(";") if d.strip()] if drivers else [],
        contributor_ref=value(spec.contributor_col) or ref,  # the file's id, until `_file_under`
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
        stored = _commit_new(store, plan, batch)
        added += len(stored)
        if on_batch:
            on_batch(stored)
    if added:
        store.optimize()
    return added


def _commit_new(
    store: CorpusStore, plan: ImportPlan, batch: Sequence[TestimonyDraft], attempts: int = 3
) -> list[Testimony]:
    """Commit one batch; rows another process stored since the plan was made are skipped, not fatal.

    Two imports of one file at once both plan every row as new; the second to
    commit breaks a unique key (a row's source reference, or a new
    contributor's pseudonym). Its batch was rolled back whole, so it asks
    which rows are now stored, counts them as already imported, and commits
    the rest again.
    """
    for _ in range(attempts - 1):
        try:
            return store.add_testimonies(batch, max_chars=store.settings.max_import_chars)
        except IntegrityError:
            pass
        stored = store.existing_source_refs(plan.source, [d.source_ref for d in batch])
        plan.already_imported += len(stored)
        batch = [d for d in batch if d.source_ref not in stored]
        if not batch:
            return []
    return store.add_testimonies(batch, max_chars=store.settings.max_import_chars)
