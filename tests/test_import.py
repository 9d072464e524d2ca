"""Import from CSV and XLSX: columns, bad rows, bad files, idempotency, interruption."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from analysis.evidence import EvidenceBase
from analysis.ingest import run_import
from corpus.errors import ImportFileError, NotFound
from corpus.importer import ImportSpec, commit_plan, plan_import
from corpus.models import ConsentLevel
from corpus.store import TestimonyFilter

ROWS = [
    {"ref": "a1", "message": "The school is two hours walk and girls stop going after grade five.", "type": "testimony",
     "iso": "np", "lang": "en", "org": "plan", "when": "2026-02-01", "consent": "quote", "groups": "girl; rural"},
    {"ref": "a2", "message": "Daktari huja mara moja kwa mwezi; tunahitaji kliniki ya kudumu.", "type": "proposal",
     "iso": "KE", "lang": "sw", "org": "cbm", "when": "2026-02-02T09:30:00Z", "consent": "aggregate", "groups": ""},
    {"ref": "a3", "message": "On nous demande de l'argent pour l'acte de naissance, appelez le +221 77 123 45 67.",
     "type": "", "iso": "SN", "lang": "fr", "org": "", "when": "", "consent": "", "groups": ""},
]
SPEC = dict(text_col="message", kind_col="type", country_col="iso", language_col="lang", id_col="ref",
            organisation_col="org", date_col="when", consent_col="consent", groups_col="groups")


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None) -> Path:
    header = header or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list], sheet: str = "answers") -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "notes"
    workbook.active.append(["this sheet is not the data"])
    data = workbook.create_sheet(sheet)
    data.append(header)
    for row in rows:
        data.append(row)
    workbook.save(path)
    return path


@pytest.fixture
def base(evidence: EvidenceBase) -> EvidenceBase:
    """The evidence base with the organisations the files name."""
    for code in ("plan", "cbm", "vso"):
        evidence.store.add_organisation(code, code.upper())
    return evidence


def test_csv_import_with_column_options(base: EvidenceBase, tmp_path: Path):
    path = write_csv(tmp_path / "survey.csv", ROWS)
    report = run_import(base, path, ImportSpec(**SPEC), show_progress=False)

    assert report | {"file": None} == {
        "file": None, "source": "import:survey.csv", "rows": 3, "added": 3, "already_imported": 0,
        "bad_rows": [], "indexed": 3, "pending": 0, "failed": 0,
    }
    records = {r.country: r for r in base.store.records()}
    np_, ke, sn = records["NP"], records["KE"], records["SN"]
    assert (np_.kind, np_.language, np_.organisation, np_.consent_level) == ("testimony", "en", "plan", "quote")
    assert np_.created_at == datetime.fromisoformat("2026-02-01T00:00:00+00:00")
    assert np_.groups == ("girl", "rural")
    assert (ke.kind, ke.language, ke.organisation, ke.consent_level) == ("proposal", "sw", "cbm", "aggregate")
    assert ke.created_at.isoformat() == "2026-02-02T09:30:00+00:00"
    assert (sn.kind, sn.organisation, sn.consent_level) == ("testimony", None, "aggregate")  # the defaults
    assert "[PHONE]" in sn.text and "77 123" not in sn.text  # redacted on the way in
    assert "77 123 45 67" in base.store.get_testimony(sn.id).text  # original kept
    assert {r.source for r in records.values()} == {"import:survey.csv"}
    assert base.index.ids() == {r.id for r in records.values()}
    assert len({r.contributor_id for r in records.values()}) == 3  # one pseudonymous contributor per row


def test_file_wide_options_and_minimal_columns(base: EvidenceBase, tmp_path: Path):
    path = write_csv(tmp_path / "plain.csv", [{"text": "No bus reaches our village in the rains."},
                                              {"text": "The landlord raised the rent twice this year."}])
    spec = ImportSpec(organisation="vso", default_country="bd", default_language="en", consent=ConsentLevel.quote)
    assert run_import(base, path, spec, show_progress=False)["added"] == 2
    records = base.store.records()
    assert {(r.country, r.language, r.organisation, r.consent_level, r.kind) for r in records} == {
        ("BD", "en", "vso", "quote", "testimony")
    }


def test_xlsx_import(base: EvidenceBase, tmp_path: Path):
    header = ["id", "Testimony text", "Country", "Kind", "Date", "Age"]
    rows = [
        [101, "Sin papeles no podemos inscribir a los niños en la escuela.", "GT", "testimony", datetime(2026, 1, 5, 8, 0), "18_24"],
        [102.0, "Que el registro civil venga a la comunidad una vez al mes.", "GT", "Proposal", None, None],
        [None, None, None, None, None, None],  # an empty row is skipped, not reported
        [103, "   ", "GT", "testimony", None, None],
    ]
    path = write_xlsx(tmp_path / "encuesta.xlsx", header, rows)
    spec = ImportSpec(text_col="Testimony text", id_col="id", country_col="Country", kind_col="Kind",
                      date_col="Date", age_band_col="Age", default_language="es", sheet="answers")
    report = run_import(base, path, spec, show_progress=False)
    assert (report["rows"], report["added"], report["indexed"]) == (3, 2, 2)
    assert report["bad_rows"] == [{"row": 5, "reason": "the text is empty: write at least a few words"}]
    records = sorted(base.store.records(), key=lambda r: r.created_at)
    assert [r.kind for r in records] == ["testimony", "proposal"]
    assert records[0].created_at.isoformat() == "2026-01-05T08:00:00+00:00" and records[0].age_band == "18_24"
    assert {r.source for r in records} == {"import:encuesta.xlsx"}
    assert base.store.existing_source_refs("import:encuesta.xlsx", ["101", "102", "103"]) == {"101", "102"}

    # the first sheet is the default; a sheet that does not exist is named with the ones that do
    with pytest.raises(ImportFileError, match="unknown column 'Testimony text'.*columns are: this sheet is not the data"):
        plan_import(base.store, path, ImportSpec(text_col="Testimony text"))
    with pytest.raises(ImportFileError, match="has no sheet 'Sheet9'; sheets: notes, answers"):
        plan_import(base.store, path, ImportSpec(text_col="Testimony text", sheet="Sheet9"))


def test_every_bad_row_is_reported_with_number_and_reason(base: EvidenceBase, tmp_path: Path):
    good = "The water point has been broken since March."
    rows = [
        {"ref": "1", "message": good, "type": "", "iso": "KE", "org": "", "when": "", "consent": ""},           # row 2
        {"ref": "2", "message": "  ", "type": "", "iso": "KE", "org": "", "when": "", "consent": ""},           # 3
        {"ref": "3", "message": "x" * 20001, "type": "", "iso": "KE", "org": "", "when": "", "consent": ""},    # 4
        {"ref": "4", "message": "ok text", "type": "story", "iso": "KE", "org": "", "when": "", "consent": ""}, # 5
        {"ref": "5", "message": "ok text", "type": "", "iso": "Kenya", "org": "", "when": "", "consent": ""},   # 6
        {"ref": "6", "message": "ok text", "type": "", "iso": "KE", "org": "unicef", "when": "", "consent": ""},  # 7
        {"ref": "7", "message": "ok text", "type": "", "iso": "KE", "org": "", "when": "last week", "consent": ""},  # 8
        {"ref": "8", "message": "ok text", "type": "", "iso": "KE", "org": "", "when": "", "consent": "maybe"},  # 9
        {"ref": "9", "message": "bell\x07text", "type": "", "iso": "KE", "org": "", "when": "", "consent": ""},  # 10
        {"ref": "", "message": "no id here", "type": "", "iso": "KE", "org": "", "when": "", "consent": ""},     # 11
        {"ref": "1", "message": "same id as row 2", "type": "", "iso": "KE", "org": "", "when": "", "consent": ""},  # 12
        {"ref": "12", "message": "A second good row about the road.", "type": "proposal", "iso": "KE", "org": "cbm",
         "when": "", "consent": ""},                                                                           # 13
    ]
    path = write_csv(tmp_path / "messy.csv", rows)
    spec = ImportSpec(text_col="message", kind_col="type", country_col="iso", id_col="ref", organisation_col="org",
                      date_col="when", consent_col="consent")
    report = run_import(base, path, spec, show_progress=False)

    reasons = {bad["row"]: bad["reason"] for bad in report["bad_rows"]}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert "empty" in reasons[3]
    assert "20001 characters long; the limit is 20000" in reasons[4]
    assert "kind 'story' is not one of: testimony, proposal" in reasons[5]
    assert "country 'KENYA' is not a two-letter ISO 3166 code" in reasons[6]
    assert "unknown organisation 'unicef'" in reasons[7]
    assert "date 'last week' is not an ISO date" in reasons[8]
    assert "consent 'maybe' is not one of: quote, aggregate" in reasons[9]
    assert "control characters (U+0007)" in reasons[10]
    assert "the id column 'ref' is empty" in reasons[11]
    assert reasons[12] == "duplicate of row 2"
    assert all("\n" not in reason for reason in reasons.values())
    assert (report["rows"], report["added"], report["indexed"]) == (12, 2, 2)
    assert base.store.count_testimonies() == 2


def test_duplicate_texts_without_an_id_column(base: EvidenceBase, tmp_path: Path):
    text = "We were told to leave the camp with one day's notice."
    path = write_csv(tmp_path / "dups.csv", [{"text": text}, {"text": "Another story."}, {"text": f"  {text} "}])
    report = run_import(base, path, ImportSpec(), show_progress=False)
    assert report["added"] == 2 and report["bad_rows"] == [{"row": 4, "reason": "duplicate of row 2"}]


def test_unknown_column_is_refused_listing_the_columns(base: EvidenceBase, tmp_path: Path):
    path = write_csv(tmp_path / "survey.csv", ROWS)
    with pytest.raises(ImportFileError) as error:
        plan_import(base.store, path, ImportSpec(text_col="text", country_col="country"))
    message = str(error.value)
    assert "unknown columns 'text', 'country' in survey.csv" in message
    assert "columns are: ref, message, type, iso, lang, org, when, consent, groups" in message
    assert base.store.count_testimonies() == 0


def test_invalid_utf8_is_a_clear_error(base: EvidenceBase, tmp_path: Path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text\nfine first row\nLa sécheresse a tout détruit\n".encode("latin-1"))
    with pytest.raises(ImportFileError) as error:
        plan_import(base.store, path, ImportSpec())
    assert str(error.value).startswith("latin1.csv is not valid UTF-8 (byte 24, line 3): re-save it as UTF-8")
    assert base.store.count_testimonies() == 0

    bom = tmp_path / "excel.csv"
    bom.write_bytes("\ufefftext\nLa sécheresse a tout détruit\n".encode("utf-8"))  # Excel's "CSV UTF-8" has a BOM
    assert run_import(base, bom, ImportSpec(), show_progress=False)["added"] == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "file not found: "),
        ("notes.txt", b"text\nhello\n", "cannot import notes.txt: use a .csv, .tsv or .xlsx file"),
        ("empty.csv", b"", "empty.csv is empty: it needs a header row"),
        ("binary.csv", b"text\nab\x00cd\n", "binary.csv contains NUL bytes"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "broken.xlsx is not a readable .xlsx workbook"),
    ],
)
def test_unreadable_files(base: EvidenceBase, tmp_path: Path, name: str, content: bytes | None, message: str):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImportFileError) as error:
        plan_import(base.store, path, ImportSpec())
    assert message in str(error.value)
    with pytest.raises(ImportFileError, match="not a file"):
        plan_import(base.store, tmp_path, ImportSpec())


def test_tsv_import(base: EvidenceBase, tmp_path: Path):
    path = tmp_path / "data.tsv"
    path.write_text("text\tcountry\nThe market closes to us, because we are Dalit.\tNP\n", encoding="utf-8")
    assert run_import(base, path, ImportSpec(country_col="country"), show_progress=False)["added"] == 1
    assert base.store.records()[0].country == "NP"


def test_importing_twice_adds_nothing(base: EvidenceBase, tmp_path: Path):
    path = write_csv(tmp_path / "survey.csv", ROWS)
    first = run_import(base, path, ImportSpec(**SPEC), show_progress=False)
    ids = base.store.all_ids()
    encoded = base.embedder.encoded_count
    second = run_import(base, path, ImportSpec(**SPEC), show_progress=False)
    assert first["added"] == 3
    assert (second["added"], second["already_imported"], second["bad_rows"]) == (0, 3, [])
    assert base.store.all_ids() == ids and base.index.ids() == ids
    assert base.embedder.encoded_count == encoded

    # without an id column the text itself identifies a row
    plain = write_csv(tmp_path / "plain.csv", [{"text": r["message"]} for r in ROWS])
    assert run_import(base, plain, ImportSpec(), show_progress=False)["added"] == 3
    again = run_import(base, plain, ImportSpec(), show_progress=False)
    assert (again["added"], again["already_imported"]) == (0, 3)
    assert base.store.count_testimonies() == 6


def test_an_interrupted_import_leaves_whole_batches_and_a_rerun_completes_it(base: EvidenceBase, tmp_path: Path):
    rows = [{"id": f"r{i:03d}", "text": f"Testimony number {i}: the road to the market washed away."} for i in range(10)]
    path = write_csv(tmp_path / "long.csv", rows)
    spec = ImportSpec(id_col="id")
    batches: list[int] = []

    def crash_after_first_batch(stored):
        batches.append(len(stored))
        raise KeyboardInterrupt  # the user pressed Ctrl-C, or the process was killed here

    with pytest.raises(KeyboardInterrupt):
        commit_plan(base.store, plan_import(base.store, path, spec), batch_size=4, on_batch=crash_after_first_batch)
    assert batches == [4]
    assert base.store.count_testimonies() == 4
    assert base.store.status_counts()["pending"] == 4  # stored, not yet indexed: nothing accepted is lost

    # a failure inside a batch rolls that whole batch back
    plan = plan_import(base.store, path, spec)
    assert (len(plan.drafts), plan.already_imported) == (6, 4)
    plan.drafts[5][1].organisation = "gone"  # fails inside the second batch's transaction
    with pytest.raises(NotFound):
        commit_plan(base.store, plan, batch_size=4)
    assert base.store.count_testimonies() == 8

    report = run_import(base, path, spec, show_progress=False)
    assert (report["added"], report["already_imported"], report["pending"]) == (2, 8, 0)
    assert report["indexed"] == 10  # the rows left pending by the interruption were indexed as well
    assert base.store.existing_source_refs("import:long.csv", [r["id"] for r in rows]) == {r["id"] for r in rows}
    assert base.index.count() == 10 and base.doctor()["ok"]


def test_large_import_commits_in_batches(base: EvidenceBase, tmp_path: Path):
    rows = [{"text": f"Short message {i} about the night bus."} for i in range(300)]
    path = write_csv(tmp_path / "many.csv", rows)
    seen: list[int] = []
    added = commit_plan(base.store, plan_import(base.store, path, ImportSpec()), on_batch=lambda s: seen.append(len(s)))
    assert added == 300 and seen == [256, 44]
    assert base.store.count_testimonies(TestimonyFilter(index_status="pending")) == 300


def test_unknown_organisation_code(base: EvidenceBase, tmp_path: Path):
    path = write_csv(tmp_path / "survey.csv", ROWS)
    with pytest.raises(ImportFileError) as error:
        plan_import(base.store, path, ImportSpec(text_col="message", organisation="unicef-np"))
    assert str(error.value) == (
        "no organisation with code 'unicef-np': create it first with `lnob org add NAME --code unicef-np`"
    )
    assert base.store.count_testimonies() == 0
    # codes are case-insensitive
    assert run_import(base, path, ImportSpec(text_col="message", organisation="PLAN"), show_progress=False)["added"] == 3
    assert {r.organisation for r in base.store.records()} == {"plan"}
