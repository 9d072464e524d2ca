"""Import without silent loss: collections of the same file name, oversized cells, broken quotes, exit codes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.evidence import EvidenceBase
from analysis.ingest import run_import
from cli.main import cli
from corpus.db import make_engine, upgrade
from corpus.errors import ImportFileError
from corpus.importer import ImportSpec, plan_import
from corpus.settings import Settings

PLAN_ROWS = [
    {"id": "1", "person": "1", "text": "The school is two hours walk and girls stop going after grade five."},
    {"id": "2", "person": "2", "text": "The officer wanted a bribe before he would write my citizenship."},
]
CBM_ROWS = [
    {"id": "1", "person": "1", "text": "There is no ramp at the clinic, so my son cannot get inside."},
    {"id": "2", "person": "1", "text": "Nobody at the district office signs for deaf people."},
]


KEY = "import-trust-test-key-0123456789abcdef"  # a key of the length a deployment must have


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh data dir with a SQLite file and embedded Chroma (``evidence`` builds on it)."""
    return Settings(data_dir=tmp_path / "data", pseudonym_key=KEY, _env_file=None)


def write_csv(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def base(request, tmp_path: Path) -> EvidenceBase:
    """An evidence base with the organisations plan and cbm, on SQLite and on PostgreSQL."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=url, pseudonym_key=KEY, _env_file=None)
    upgrade(make_engine(settings.resolved_database_url))
    evidence = EvidenceBase(settings)
    for code in ("plan", "cbm"):
        evidence.store.add_organisation(code, code.upper())
    return evidence


def texts_by_source(base: EvidenceBase) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for record in base.store.records():
        found.setdefault(record.source, set()).add(base.store.get_testimony(record.id).text)
    return found


# -- collections ---------------------------------------------------------------------------


def test_two_partners_files_of_the_same_name_are_two_collections(base: EvidenceBase, tmp_path: Path):
    plan_file = write_csv(tmp_path / "plan" / "data.csv", PLAN_ROWS)
    cbm_file = write_csv(tmp_path / "cbm" / "data.csv", CBM_ROWS)
    spec = dict(id_col="id", contributor_col="person")
    first = run_import(base, plan_file, ImportSpec(**spec, organisation="plan"), show_progress=False)
    second = run_import(base, cbm_file, ImportSpec(**spec, organisation="cbm"), show_progress=False)
    assert (first["added"], second["added"], second["already_imported"]) == (2, 2, 0)
    assert (first["source"], second["source"]) == ("import:plan/data.csv", "import:cbm/data.csv")
    assert texts_by_source(base) == {
        "import:plan/data.csv": {r["text"] for r in PLAN_ROWS},
        "import:cbm/data.csv": {r["text"] for r in CBM_ROWS},
    }
    # "person 1" of plan's file and "person 1" of cbm's file are two people; cbm's rows are one person
    by_source: dict[str, set[int]] = {}
    for record in base.store.records():
        by_source.setdefault(record.source, set()).add(record.contributor_id)
    assert len(by_source["import:plan/data.csv"]) == 2 and len(by_source["import:cbm/data.csv"]) == 1
    assert not by_source["import:plan/data.csv"] & by_source["import:cbm/data.csv"]


def test_a_different_file_of_a_known_name_is_refused_naming_the_option(base: EvidenceBase, tmp_path: Path):
    plan_file = write_csv(tmp_path / "plan" / "data.csv", PLAN_ROWS)
    cbm_file = write_csv(tmp_path / "cbm" / "data.csv", CBM_ROWS)
    assert run_import(base, plan_file, ImportSpec(id_col="id"), show_progress=False)["added"] == 2

    # the same ids with other texts: not the same collection
    with pytest.raises(ImportFileError) as error:
        plan_import(base.store, cbm_file, ImportSpec(id_col="id"))
    message = str(error.value)
    assert "--source NAME" in message and "--source data.csv" in message and "data.csv" in message
    assert "\n" not in message and CBM_ROWS[0]["text"] not in message
    assert base.store.count_testimonies() == 2

    # without an id column (text-hash keys) no row of the other file is stored: refused the same way
    plain_plan = write_csv(tmp_path / "p2" / "answers.csv", [{"text": r["text"]} for r in PLAN_ROWS])
    plain_cbm = write_csv(tmp_path / "c2" / "answers.csv", [{"text": r["text"]} for r in CBM_ROWS])
    assert run_import(base, plain_plan, ImportSpec(), show_progress=False)["added"] == 2
    with pytest.raises(ImportFileError, match="--source NAME"):
        plan_import(base.store, plain_cbm, ImportSpec())

    # named, it is a collection of its own, and its "person 1" is not plan's "person 1"
    named = run_import(base, cbm_file, ImportSpec(id_col="id", contributor_col="person", source="cbm-2026"),
                       show_progress=False)
    assert (named["source"], named["added"], named["already_imported"]) == ("import:cbm-2026", 2, 0)
    again = run_import(base, cbm_file, ImportSpec(id_col="id", contributor_col="person", source="cbm-2026"),
                       show_progress=False)
    assert (again["added"], again["already_imported"]) == (0, 2)
    assert texts_by_source(base)["import:cbm-2026"] == {r["text"] for r in CBM_ROWS}
    assert base.store.count_testimonies() == 6


def test_an_updated_export_of_the_same_collection_adds_only_its_new_rows(base: EvidenceBase, tmp_path: Path):
    first = write_csv(tmp_path / "jan" / "data.csv", PLAN_ROWS)
    newer = [{"id": "3", "person": "1", "text": "The bus does not stop for us since the flood."}] + [
        dict(row) for row in PLAN_ROWS
    ]  # newest first, as many exports are
    newer[2]["text"] = PLAN_ROWS[1]["text"].replace("bribe", "bribe,")  # one text edited by the partner
    second = write_csv(tmp_path / "feb" / "data.csv", newer)
    spec = ImportSpec(id_col="id", contributor_col="person", organisation="plan")
    assert run_import(base, first, spec, show_progress=False)["added"] == 2
    report = run_import(base, second, spec, show_progress=False)
    assert (report["source"], report["added"], report["already_imported"]) == ("import:plan/data.csv", 1, 2)
    people = {base.store.get_testimony(r.id).text: r.contributor_id for r in base.store.records()}
    assert people[newer[0]["text"]] == people[PLAN_ROWS[0]["text"]]  # contributor 1 is the same person

    # text-hash keys: the rows already there are recognised by their text
    plain_first = write_csv(tmp_path / "a" / "notes.csv", [{"text": r["text"]} for r in PLAN_ROWS])
    plain_newer = write_csv(tmp_path / "b" / "notes.csv", [{"text": r["text"]} for r in newer[:1] + PLAN_ROWS])
    assert run_import(base, plain_first, ImportSpec(), show_progress=False)["added"] == 2
    again = run_import(base, plain_newer, ImportSpec(), show_progress=False)
    assert (again["source"], again["added"], again["already_imported"]) == ("import:notes.csv", 1, 2)


def test_collections_imported_before_organisation_names_are_continued(base: EvidenceBase, tmp_path: Path):
    """Before collections were named, `--org plan data.csv` stored its rows under `import:data.csv`."""
    old = write_csv(tmp_path / "old" / "data.csv", PLAN_ROWS)
    legacy = run_import(base, old, ImportSpec(id_col="id", organisation="plan", source="data.csv"), show_progress=False)
    assert legacy["source"] == "import:data.csv"
    updated = write_csv(tmp_path / "new" / "data.csv",
                        PLAN_ROWS + [{"id": "3", "person": "", "text": "The water point is broken again."}])
    report = run_import(base, updated, ImportSpec(id_col="id", organisation="plan"), show_progress=False)
    assert (report["source"], report["added"], report["already_imported"]) == ("import:data.csv", 1, 2)
    # another partner's data.csv, with --org, is a new collection rather than a refusal
    other = write_csv(tmp_path / "cbm" / "data.csv", CBM_ROWS)
    report = run_import(base, other, ImportSpec(id_col="id", organisation="cbm"), show_progress=False)
    assert (report["source"], report["added"]) == ("import:cbm/data.csv", 2)


@pytest.mark.parametrize("name", ["", "   ", "plan:data", "a\tb", "x" * 201])
def test_a_bad_source_name_is_refused(base: EvidenceBase, tmp_path: Path, name: str):
    path = write_csv(tmp_path / "data.csv", PLAN_ROWS)
    with pytest.raises(ImportFileError, match="--source"):
        plan_import(base.store, path, ImportSpec(source=name))


# -- bad rows ------------------------------------------------------------------------------


def test_an_oversized_cell_is_a_bad_row_and_the_rows_beside_it_go_in(evidence: EvidenceBase, tmp_path: Path):
    path = tmp_path / "big.csv"
    huge = "a" * 1_000_000
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "region", "notes"])
        writer.writerow(["The road to the clinic washed away in the rains.", "Kisumu", ""])  # row 2
        writer.writerow([huge, "Kisumu", ""])                                                 # row 3
        writer.writerow(["Our well has been dry since March.", huge, ""])                    # row 4
        writer.writerow(["The teacher comes two days a week.", "Kisumu", huge])              # row 5: unused column
        writer.writerow(["No bus stops at our village any more.", "Kisumu", ""])            # row 6
    report = run_import(evidence, path, ImportSpec(region_col="region"), show_progress=False)
    reasons = {bad["row"]: bad["reason"] for bad in report["bad_rows"]}
    assert sorted(reasons) == [3, 4]
    assert "1000000 characters long; the limit is 20000" in reasons[3]
    assert "'region'" in reasons[4] and "1000000 characters long; the limit is 20000" in reasons[4]
    assert all(len(reason) < 300 for reason in reasons.values())
    assert (report["rows"], report["added"]) == (5, 3)


def test_an_unclosed_quote_at_the_end_is_reported_and_the_lines_after_it_are_read(evidence: EvidenceBase,
                                                                                    tmp_path: Path):
    path = tmp_path / "quotes.csv"
    path.write_text(
        "text,country\n"
        "The clinic is too far for us.,KE\n"          # row 2
        '"The officer asked for money,KE\n'            # row 3: the quote is never closed
        "Our well is dry since March.,KE\n"           # row 4
        "No bus stops at our village.,KE\n",          # row 5
        encoding="utf-8",
    )
    report = run_import(evidence, path, ImportSpec(country_col="country"), show_progress=False)
    assert [bad["row"] for bad in report["bad_rows"]] == [3]
    reason = report["bad_rows"][0]["reason"]
    assert "quote" in reason and "line 3" in reason and "officer" not in reason
    texts = {evidence.store.get_testimony(r.id).text for r in evidence.store.records()}
    assert texts == {"The clinic is too far for us.", "Our well is dry since March.", "No bus stops at our village."}
    assert (report["rows"], report["added"]) == (4, 3)


def test_a_quote_that_swallows_the_next_line_is_reported(evidence: EvidenceBase, tmp_path: Path):
    path = tmp_path / "quotes.csv"
    path.write_text(
        "text,country\n"
        '"The officer asked for money,KE\n'            # row 2: unclosed, until the quote that opens line 3
        '"Our well is dry, since March.",KE\n'
        "No bus stops at our village.,KE\n",          # row 3
        encoding="utf-8",
    )
    report = run_import(evidence, path, ImportSpec(country_col="country"), show_progress=False)
    assert [bad["row"] for bad in report["bad_rows"]] == [2]
    reason = report["bad_rows"][0]["reason"]
    assert "quote" in reason and "lines 2-3" in reason and "officer" not in reason
    texts = {evidence.store.get_testimony(r.id).text for r in evidence.store.records()}
    assert texts == {"No bus stops at our village."}  # nothing with a line break glued into it


def test_a_row_with_more_cells_than_columns_is_reported(evidence: EvidenceBase, tmp_path: Path):
    path = tmp_path / "commas.csv"
    path.write_text(
        "text,country\n"
        "We walked, we waited, and nobody came,KE\n"   # row 2: unquoted commas would cut the text
        "Our well is dry since March.,KE,,\n"           # row 3: empty extra cells are harmless
        "The clinic is too far.\n",                      # row 4: a missing last cell is empty
        encoding="utf-8",
    )
    report = run_import(evidence, path, ImportSpec(country_col="country"), show_progress=False)
    assert [bad["row"] for bad in report["bad_rows"]] == [2]
    assert "4 cells" in report["bad_rows"][0]["reason"] and "2 columns" in report["bad_rows"][0]["reason"]
    assert report["added"] == 2


# -- exit status ----------------------------------------------------------------------------


def test_import_exit_status_says_whether_rows_were_refused(migrated_settings: Settings, tmp_path: Path):
    env = {"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None, "LNOB_PSEUDONYM_KEY": KEY}
    data_dir = str(migrated_settings.data_dir)

    def lnob(*args: str):
        return CliRunner().invoke(cli, ["--data-dir", data_dir, *args], env=env)

    good = write_csv(tmp_path / "good.csv", [{"text": "The clinic is too far for us."}])
    assert lnob("import", str(good)).exit_code == 0
    assert lnob("import", str(good)).exit_code == 0  # already imported is not an error

    mixed = tmp_path / "mixed.csv"
    mixed.write_text("text\nOur well is dry since March.\n   \x07\n", encoding="utf-8")
    result = lnob("import", str(mixed))
    assert result.exit_code == 3, result.output
    assert "row 3: " in result.output and "imported 1 of 2 rows" in result.output
    assert lnob("import", str(mixed), "--json").exit_code == 3

    assert lnob("import", str(tmp_path / "missing.csv")).exit_code == 1
    help_text = lnob("import", "--help").output
    assert "Exit status" in help_text and "3" in help_text and "--source" in help_text
