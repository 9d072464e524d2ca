"""The ``lnob`` command line, run as a real subprocess (and in-process with click's runner where enough)."""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.support.command_line import run_in_process
from tests.support.corpora import copy_data_dir

LNOB = Path(sys.executable).parent / "lnob"
DEMO_CSV = Path(__file__).resolve().parents[1] / "corpus" / "samples" / "demo_corpus.csv"
BAD_DB = "postgresql+psycopg2://nobody@127.0.0.1:1/x"

ROWS = [
    ("k1", "testimony", "KE", "sw", "cbm", "Hakuna kliniki karibu; tunatembea saa tatu kumwona daktari."),
    ("k2", "proposal", "KE", "en", "cbm", "Send a mobile clinic to the settlement every week."),
    ("k3", "proposal", "KE", "en", "plan", "Build a health post in the village with a midwife."),
    ("k4", "testimony", "KE", "en", "plan", "The clinic is so far that my mother gave birth on the road."),
    ("n1", "testimony", "NP", "en", "plan", "The nearest health post is a day's walk over the pass."),
    ("n2", "proposal", "NP", "en", "cbm", "Ramps and a sign-language interpreter at the district hospital."),
    ("n3", "testimony", "NP", "en", "plan", "The officer wanted a bribe before he would write my citizenship."),
    ("b1", "testimony", "BD", "en", "plan", "The river took our land and we moved to the city slum."),
    ("b2", "proposal", "BD", "en", "cbm", "Give flood-hit families land titles on the new char."),
    ("s1", "testimony", "SN", "fr", "plan", "Le dispensaire est trop loin et la route est coupée en saison des pluies."),
    ("s2", "proposal", "SN", "fr", "cbm", "Un poste de santé dans chaque village avec une sage-femme."),
    ("s3", "testimony", "SN", "fr", "plan", "On m'a refusé l'école parce que je suis handicapée."),
]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's ``LNOB_*`` settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LNOB_")}
    return {**env, "LNOB_PSEUDONYM_KEY": "cli-test-key-0123456789abcdef0123456789", **extra}


def lnob(*args: str, data_dir: Path | None = None, env: dict | None = None, timeout: int = 300):
    """Run ``.venv/bin/lnob`` (with ``--data-dir`` when given) and return the completed process."""
    command = [str(LNOB)] + (["--data-dir", str(data_dir)] if data_dir else []) + list(args)
    return subprocess.run(command, capture_output=True, text=True, env=env or clean_env(), timeout=timeout,
                          cwd=data_dir.parent if data_dir and data_dir.parent.is_dir() else None)


def lnob_in_process(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    """``lnob --data-dir DATA_DIR ARGS`` with click's runner, in the environment ``lnob`` gets (the model stays loaded)."""
    env = {name: None for name in os.environ if name.startswith("LNOB_")} | {"LNOB_PSEUDONYM_KEY": clean_env()["LNOB_PSEUDONYM_KEY"]}
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=env)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def one_json(result) -> dict:
    """The single JSON object a ``--json`` command printed."""
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def assert_one_line_error(result, *fragments: str) -> str:
    """A non-zero exit with exactly one ``error:`` line on stderr and no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def write_rows(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "kind", "country", "language", "org", "text"])
        writer.writerows(ROWS)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """A data dir set up and filled entirely through the CLI (in-process: the subprocess tests are below), and an
    untouched copy of it."""
    root = tmp_path_factory.mktemp("cli")
    data_dir = root / "data"
    assert lnob_in_process("db", "upgrade", data_dir=data_dir).returncode == 0
    for name, code in (("Plan International", "plan"), ("CBM", "cbm")):
        result = lnob_in_process("org", "add", name, "--code", code, "--json", data_dir=data_dir)
        assert result.returncode == 0, result.stderr
        assert one_json(result)["code"] == code
    source = write_rows(root / "rows.csv")
    result = lnob_in_process("import", str(source), "--id-col", "id", "--kind-col", "kind", "--country-col", "country",
                             "--language-col", "language", "--org-col", "org", "--consent", "quote", "--json",
                             data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    report = one_json(result)
    assert (report["added"], report["indexed"], report["pending"], report["bad_rows"]) == (len(ROWS), len(ROWS), 0, [])
    copy = root / "copy"
    copy_data_dir(data_dir, copy)  # this process holds the database open
    return {"data_dir": data_dir, "copy": copy, "csv": source}


# -- read commands ---------------------------------------------------------------------


def test_stats_json_prints_one_object_with_the_count(corpus):
    stats = one_json(lnob("stats", "--json", data_dir=corpus["data_dir"]))
    assert stats["testimonies"] == len(ROWS)
    # breakdowns under the small-cell rule (they once printed "KE 4, NP 3, BD 2, SN 3"); counts as labels
    assert stats["by_kind"] == {"testimony": "7", "proposal": "5"}
    assert stats["by_country"] == {"KE": "<5", "NP": "<5", "BD": "<5", "SN": "<5"}
    assert stats["by_organisation"] == {"plan": "7", "cbm": "5"}
    assert stats["contributors"] == len(ROWS)  # no contributor column: each row its own person (once counted as 0)
    assert stats["organisations"] == 2 and stats["by_index_status"]["indexed"] == len(ROWS)

    code, output = run_in_process("--data-dir", str(corpus["data_dir"]), "stats")
    assert code == 0 and output.startswith(f"testimonies   {len(ROWS)} (testimony 7, proposal 5)")


def test_search_json_with_filters(corpus):
    # In-process (the model is loaded once); the subprocess tests below cover exit codes and stderr.
    result = CliRunner().invoke(cli, ["--data-dir", str(corpus["data_dir"]), "search", "no health clinic nearby",
                                      "--country", "KE", "--kind", "proposal", "--org", "cbm", "--limit", "5", "--json"],
                                env={"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None})
    assert result.exit_code == 0, result.output
    payload = one_json(result)
    assert payload["query"] == "no health clinic nearby"
    assert [r["text"] for r in payload["results"]] == ["Send a mobile clinic to the settlement every week."]
    first = payload["results"][0]
    assert (first["country"], first["kind"], first["organisation"], first["language"]) == ("KE", "proposal", "cbm", "en")
    assert 0 < first["score"] <= 1 and first["date"]

    data_dir = str(corpus["data_dir"])

    def search(*options: str) -> list[dict]:
        code, output = run_in_process("--data-dir", data_dir, "search", "the health clinic is too far", "--json", *options)
        assert code == 0, output
        return json.loads(output)["results"]

    assert len(search("--limit", "3")) == 3
    assert len(search("--limit", "50")) == len(ROWS)
    kenya = search("--country", "ke")
    assert len(kenya) == 4 and {r["country"] for r in kenya} == {"KE"}
    semantic = search("--country", "ke", "--mode", "semantic", "--limit", "1")
    # the multilingual model: the Swahili "no clinic nearby; we walk three hours to see a doctor" is nearest
    assert [r["text"][:20] for r in semantic] == ["Hakuna kliniki karib"]
    assert {r["kind"] for r in search("--kind", "testimony", "--limit", "20")} == {"testimony"}
    assert len(search("--kind", "testimony", "--limit", "20")) == 7
    assert {(r["organisation"], r["country"]) for r in search("--org", "plan", "--country", "SN")} == {("plan", "SN")}
    assert search("--country", "VN") == []
    assert [r["language"] for r in search("--language", "sw")] == ["sw"]
    scores = [r["score"] for r in search("--limit", "12")]
    assert scores == sorted(scores, reverse=True)

    code, output = run_in_process("--data-dir", data_dir, "search", "bribe for papers", "--limit", "1")
    assert code == 0 and "NP" in output and "bribe" in output
    code, output = run_in_process("--data-dir", data_dir, "search", "anything", "--kind", "story")
    assert code == 2 and "'story' is not one of 'testimony', 'proposal'" in output
    code, output = run_in_process("--data-dir", data_dir, "search", "anything", "--limit", "0")
    assert code == 2 and "0 is not in the range 1<=x<=200" in output


@pytest.mark.slow  # `lnob import` and `reindex` in subprocesses that load the model
def test_doctor_reports_a_mismatch_and_reindex_repairs_it(corpus):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    data_dir = corpus["copy"]

    # Break the index behind the database's back: one vector lost, one stray vector added.
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_collection("testimonies")
    lost = collection.get(limit=1)["ids"][0]
    collection.delete(ids=[lost])
    collection.add(ids=["not-a-testimony"], embeddings=[[0.05] * 384], metadatas=[{"kind": "testimony"}])
    del collection, client
    chromadb.api.client.SharedSystemClient.clear_system_cache()

    # And a backlog: two rows imported while the index (a Chroma server here) was down are stored, not lost.
    late = data_dir.parent / "late.csv"
    late.write_text("text\nThe ferry stopped running after the storm.\nOur cooperative lost its licence.\n",
                    encoding="utf-8")
    offline = lnob("--chroma-url", "http://127.0.0.1:1", "import", str(late), "--consent", "quote", "--json",
                   data_dir=data_dir)
    assert offline.returncode == 0, offline.stderr
    stored = one_json(offline)
    assert (stored["added"], stored["indexed"], stored["pending"], stored["failed"]) == (2, 0, 0, 2)  # as stored

    broken = lnob("doctor", "--json", data_dir=data_dir)
    assert broken.returncode == 1
    report = one_json(broken)
    assert (report["testimonies"], report["indexed_vectors"], report["pending"], report["failed"]) == (14, 12, 0, 2)
    assert (report["missing_from_index"], report["orphans_in_index"], report["ok"]) == (3, 1, False)

    plain = lnob("doctor", data_dir=data_dir)
    assert plain.returncode == 1
    assert "missing_from_index   3" in plain.stdout and "orphans_in_index     1" in plain.stdout
    assert "run `lnob reindex`" in plain.stderr

    repaired = lnob("reindex", "--json", data_dir=data_dir)
    assert repaired.returncode == 0, repaired.stderr
    assert one_json(repaired) == {"testimonies": 14, "indexed": 14, "failed": 0, "errors": []}
    healthy = lnob("doctor", "--json", data_dir=data_dir)
    assert healthy.returncode == 0, healthy.stderr
    report = one_json(healthy)
    assert (report["testimonies"], report["indexed_vectors"], report["pending"], report["failed"]) == (14, 14, 0, 0)
    assert (report["missing_from_index"], report["orphans_in_index"], report["ok"]) == (0, 0, True)


# -- errors ----------------------------------------------------------------------------


@pytest.mark.slow  # one `lnob` process each
@pytest.mark.parametrize(
    "args",
    [
        ("stats", "--json"),
        ("doctor",),
        ("db", "upgrade"),
        ("search", "clinic"),
        ("import", "rows.csv"),
    ],
    ids=lambda a: " ".join(a),
)
def test_a_database_that_does_not_connect_is_one_line_on_stderr(args, tmp_path: Path):
    result = lnob("--database-url", BAD_DB, *args, data_dir=tmp_path / "data")
    line = assert_one_line_error(result, "cannot connect to the database", "127.0.0.1", "LNOB_DATABASE_URL")
    assert result.stdout == ""
    assert len(line) < 300


@pytest.mark.slow  # two `lnob` processes
def test_the_same_error_from_the_environment(tmp_path: Path):
    result = lnob("stats", env=clean_env(LNOB_DATABASE_URL=BAD_DB, LNOB_DATA_DIR=str(tmp_path)))
    assert_one_line_error(result, "cannot connect to the database")
    result = lnob("stats", env=clean_env(LNOB_DATABASE_URL="not a url", LNOB_DATA_DIR=str(tmp_path)))
    assert_one_line_error(result, "is not a database URL")


def test_empty_query(corpus):
    for query in ("", "   "):
        result = lnob("search", query, data_dir=corpus["data_dir"])
        assert_one_line_error(result, "the query is empty")


@pytest.mark.slow  # three `lnob` processes
def test_missing_and_unreadable_import_files(corpus, tmp_path: Path):
    data_dir = corpus["data_dir"]
    assert_one_line_error(lnob("import", str(tmp_path / "nope.csv"), data_dir=data_dir), "file not found", "nope.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text\nLa sécheresse\n".encode("latin-1"))
    assert_one_line_error(lnob("import", str(latin), data_dir=data_dir), "not valid UTF-8", "re-save it as UTF-8")
    code, output = run_in_process("--data-dir", str(data_dir), "import", str(corpus["csv"]), "--text-col", "message")
    assert code == 1 and output.startswith("error: unknown column 'message' in rows.csv; columns are: id, kind, country")
    code, output = run_in_process("--data-dir", str(data_dir), "import", str(corpus["csv"]), "--org", "unicef")
    assert code == 1 and output.startswith("error: no organisation with code 'unicef'")
    assert one_json(lnob("stats", "--json", data_dir=data_dir))["testimonies"] == len(ROWS)  # nothing changed


@pytest.mark.slow  # two `lnob` processes
def test_bad_rows_go_to_stderr_and_a_reimport_adds_nothing(corpus, tmp_path: Path):
    data_dir = corpus["data_dir"]
    again = lnob("import", str(corpus["csv"]), "--id-col", "id", "--kind-col", "kind", "--country-col", "country",
                 data_dir=data_dir)
    assert again.returncode == 0, again.stderr
    assert f"imported 0 of {len(ROWS)} rows from rows.csv ({len(ROWS)} already imported, 0 refused" in again.stdout

    messy = tmp_path / "messy.csv"
    messy.write_text("text,country\n,KE\nOur well is dry.,Kenya\n", encoding="utf-8")
    result = lnob("import", str(messy), "--country-col", "country", data_dir=data_dir)
    assert result.returncode == 3  # rows were refused: scripts can tell
    assert result.stderr.splitlines() == [
        "row 2: the text is empty: write at least a few words",
        "row 3: country 'KENYA' is not a two-letter ISO 3166 code such as NP or KE",
    ]
    assert "imported 0 of 2 rows from messy.csv (0 already imported, 2 refused" in result.stdout


@pytest.mark.slow  # nine `lnob` processes
def test_other_setup_errors_are_one_line(tmp_path: Path):
    missing = lnob("stats", data_dir=tmp_path / "fresh")
    assert_one_line_error(missing, "no evidence base at", "`lnob db upgrade`")
    assert not (tmp_path / "fresh").exists()  # a read creates nothing
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "lnob.sqlite3").touch()
    unmigrated = lnob("stats", data_dir=tmp_path / "fresh")
    assert_one_line_error(unmigrated, "schema is at revision none", "run `lnob db upgrade`")
    bad_setting = lnob("stats", data_dir=tmp_path / "fresh", env=clean_env(LNOB_EMBEDDING_BATCH_SIZE="0"))
    assert_one_line_error(bad_setting, "invalid setting LNOB_EMBEDDING_BATCH_SIZE")
    no_dir = lnob("stats", data_dir=Path("/proc/no-such-dir/data"))
    assert_one_line_error(no_dir, "/proc/no-such-dir")
    assert lnob("db", "upgrade", data_dir=tmp_path / "fresh").returncode == 0
    assert_one_line_error(lnob("db", "downgrade", "nonsense", data_dir=tmp_path / "fresh"), "'nonsense'")
    no_server = lnob("--chroma-url", "http://127.0.0.1:1", "doctor", data_dir=tmp_path / "fresh")
    assert_one_line_error(no_server, "cannot reach the Chroma server at http://127.0.0.1:1")
    bad_url = lnob("--chroma-url", "localhost", "doctor", data_dir=tmp_path / "fresh")
    assert_one_line_error(bad_url, "LNOB_CHROMA_URL 'localhost' is not like http://127.0.0.1:8000")


# -- demo ------------------------------------------------------------------------------


@pytest.mark.timeout(900)  # the session's first `lnob demo` (conftest's demo_run) may run here
def test_demo_twice_is_idempotent_and_keeps_to_its_own_data_dir(demo_run):
    demo_dir = demo_run.data_dir
    real = demo_run.real
    # Whatever storage is configured for real contributions, the demo uses only its own data dir.
    env = demo_run.env
    with DEMO_CSV.open(encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))

    first = demo_run.result  # `lnob demo` on a fresh data dir, once per session
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert f"imported      {rows} new, 0 already there" in first.stdout
    assert f"index         {rows} vectors, 0 pending, ok=True" in first.stdout
    assert f"lnob --data-dir {demo_dir}" in first.stdout  # how to explore further
    assert not real.exists()

    second = lnob("demo", "--data-dir", str(demo_dir), "--json", env=env, timeout=600)
    assert second.returncode == 0, second.stderr
    payload = one_json(second)
    assert payload["import"]["added"] == 0 and payload["import"]["already_imported"] == rows
    assert payload["import"]["refused"] == 0
    assert payload["stats"]["testimonies"] == rows
    assert payload["doctor"]["ok"] and payload["doctor"]["indexed_vectors"] == rows
    assert len(payload["stats"]["by_country"]) >= 4 and len(payload["stats"]["by_language"]) >= 3
    assert all(payload["searches"].values())
    assert not real.exists()
    assert (demo_dir / "lnob.sqlite3").exists() and (demo_dir / "chroma").is_dir()


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_demo_s_explore_further_lines_run_as_printed(demo_run):
    """The demo run from a folder of its own, with `lnob` not on PATH and LNOB_DATABASE_URL and LNOB_CHROMA_URL
    pointing at real data elsewhere: every printed line runs there, as printed, and reads the demo's data.

    The run is the session's (conftest's ``demo_run``: ``lnob --progress always demo --data-dir demo-data``)."""
    real = demo_run.real
    here = demo_run.folder
    env = demo_run.env
    demo = demo_run.result
    assert demo.returncode == 0, demo.stderr[-2000:]
    stages = [line for line in demo.stderr.replace("\r", "\n").splitlines() if line.startswith("[")]
    assert [line[:5] for line in stages] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert "analysing: done" in demo.stderr and "indexing  [" in demo.stderr

    output = demo.stdout.splitlines()
    start = output.index("Explore further (the demo has its own data dir; real data never mixes with it):")
    lines = []
    for line in output[start + 1:]:
        if not line.strip():
            break
        lines.append(line.strip())
    assert len(lines) >= 8
    prefix = f"{shlex.quote(os.path.abspath(LNOB))} --data-dir {here / 'demo-data'} --database-url '' --chroma-url ''"
    assert all(line.startswith(prefix + " ") for line in lines), lines
    assert any(line.endswith(" explore") for line in lines)
    for line in lines:
        done = subprocess.run(line, shell=True, cwd=here, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 0, (line, done.stderr[-2000:])
        assert "Traceback" not in done.stderr
    assert not real.exists()
