"""The deployment's secret and the files that hold people's words (issue 10): the pseudonym key, file
permissions, keyed invite codes, and read commands that must not create an evidence base."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from cli.main import cli
from corpus.db import make_engine, upgrade
from corpus.exports import ExportRegistry
from corpus.files import open_to_others, private_dir, write_once
from corpus.pseudonyms import PseudonymKeyError, key_from_file
from corpus.settings import Settings
from corpus.store import CorpusStore

LNOB = Path(sys.executable).parent / "lnob"
KEY = "trust-secrets-test-key-0123456789abcdef"
TEXTS = ("Our well has been dry since March.", "The bus to the clinic stopped running.", "No school near the camp.")


def env(**extra: str) -> dict[str, str]:
    """The environment without the caller's ``LNOB_*`` settings, plus ``extra``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LNOB_")}
    return {**clean, "LNOB_PSEUDONYM_KEY": KEY, **extra}


def lnob(data_dir: Path, *args: str, umask: int = 0o022, environment: dict | None = None):
    """``lnob --data-dir DATA_DIR ARGS`` as a subprocess started with a permissive ``umask``."""
    return subprocess.run([str(LNOB), "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          env=environment or env(), timeout=300, umask=umask, cwd=data_dir.parent)


UNSET = {"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None, "LNOB_PSEUDONYM_KEY": None, "LNOB_DATA_DIR": None}


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch):
    """Each test chooses its key: none comes from the caller's environment."""
    monkeypatch.delenv("LNOB_PSEUDONYM_KEY", raising=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the pseudonym key ----------------------------------------------------------------------


def _read_key(data_dir: str, barrier, results) -> None:
    barrier.wait()  # both processes reach the missing key at the same moment
    try:
        results.put(Settings(data_dir=Path(data_dir), _env_file=None).resolved_pseudonym_key)
    except Exception as exc:  # noqa: BLE001  the test reports it
        results.put(repr(exc))


@pytest.mark.slow  # 100 trials of two forked processes
def test_two_processes_on_a_fresh_data_dir_agree_on_one_whole_key(tmp_path: Path):
    # Before: the key file was created empty, then written; the other process could read it in between
    # (an empty key: pseudonyms anyone can reverse) or write its own key over it (two keys).
    context = multiprocessing.get_context("fork")
    wrong = []
    for trial in range(100):
        data_dir = tmp_path / f"trial-{trial}"
        barrier, results = context.Barrier(2), context.Queue()
        processes = [context.Process(target=_read_key, args=(str(data_dir), barrier, results)) for _ in range(2)]
        for process in processes:
            process.start()
        keys = [results.get(timeout=30) for _ in processes]
        for process in processes:
            process.join(timeout=30)
        whole = all(isinstance(k, bytes) and len(k) == 64 for k in keys)
        if not whole or keys[0] != keys[1] or (data_dir / "pseudonym.key").read_bytes() != keys[0]:
            wrong.append((trial, keys))
    assert wrong == []
    for data_dir in tmp_path.iterdir():
        assert [p.name for p in data_dir.iterdir()] == ["pseudonym.key"]  # no temporary file left behind
        assert mode(data_dir / "pseudonym.key") == 0o600 and mode(data_dir) == 0o700


def test_write_once_never_replaces_a_file(tmp_path: Path):
    path = tmp_path / "key"
    assert write_once(path, b"first") is True
    assert write_once(path, b"second") is False
    assert path.read_bytes() == b"first" and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("key", ["", "   ", "test-key", "x" * 31])
def test_a_short_or_empty_key_setting_is_refused(key: str):
    with pytest.raises(ValidationError) as caught:
        Settings(pseudonym_key=key, _env_file=None)
    assert "shorter than 32 characters" in str(caught.value)
    if key.strip():
        assert key not in str(caught.value)  # the refused secret is not printed
    assert Settings(pseudonym_key="x" * 32, _env_file=None).resolved_pseudonym_key == b"x" * 32


@pytest.mark.parametrize("content", [b"", b"\n", b"0123456789abcdef", b"\xff" * 40])
def test_a_short_or_empty_key_file_is_refused(tmp_path: Path, content: bytes):
    (tmp_path / "pseudonym.key").write_bytes(content)
    refused = "pseudonym key in .* is empty or shorter than 32 characters.*LNOB_PSEUDONYM_KEY"
    with pytest.raises(PseudonymKeyError, match=refused):
        Settings(data_dir=tmp_path, _env_file=None).resolved_pseudonym_key
    assert (tmp_path / "pseudonym.key").read_bytes() == content  # never silently replaced


def test_the_cli_names_the_setting_of_a_short_key(tmp_path: Path):
    result = lnob(tmp_path / "data", "stats", environment=env(LNOB_PSEUDONYM_KEY="hunter2"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: invalid setting LNOB_PSEUDONYM_KEY: the key is empty or shorter than 32")
    assert len(result.stderr.splitlines()) == 1 and "hunter2" not in result.stderr

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pseudonym.key").write_text("")
    code = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), "db", "upgrade"], env=UNSET)
    assert code.exit_code == 0, code.output
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), "staff", "add", "--telegram-id", "5",
                                      "--role", "admin", "--org", "x"], env=UNSET)
    assert result.exit_code == 1
    assert result.output.startswith("error: the pseudonym key in ") and "LNOB_PSEUDONYM_KEY" in result.output


# -- invite codes -------------------------------------------------------------------------


def test_invite_codes_are_stored_as_a_keyed_hash(migrated_settings):
    from sqlmodel import Session, select

    from corpus.staff import Invite, StaffError, StaffStore
    from corpus.store import CorpusStore

    engine = make_engine(migrated_settings.resolved_database_url)
    CorpusStore(migrated_settings, engine).add_organisation("plan")
    store = StaffStore(engine, migrated_settings.resolved_pseudonym_key)
    code = store.invite("writer", "plan")
    with Session(engine) as session:
        stored = session.exec(select(Invite.code_hash)).one()
    # Before: sha256(code), which anyone holding the table could reverse by trying the 2**48 codes.
    assert stored != hashlib.sha256(code.encode()).hexdigest()
    assert code not in stored and len(stored) == 64
    with pytest.raises(StaffError, match="not valid"):
        StaffStore(engine, b"another-deployment-key-0123456789ab").redeem(code, 77)
    assert store.redeem(code.lower(), 77).role == "writer"


# -- file permissions ---------------------------------------------------------------------


def test_the_python_api_makes_the_data_dir_database_key_and_exports_private(tmp_path: Path):
    previous = os.umask(0o022)
    try:
        settings = Settings(data_dir=tmp_path / "data", _env_file=None)
        engine = make_engine(settings.resolved_database_url)
        upgrade(engine)
        CorpusStore(settings, engine).add_organisation("plan")  # a write: the WAL and its index exist
        settings.resolved_pseudonym_key
        export = settings.exports_dir / "quotes.csv"
        export.write_text("quote\n")
        ExportRegistry(engine, settings.exports_dir).record(export, kind="search", format="csv", testimony_ids=[])
    finally:
        os.umask(previous)
    data = settings.resolved_data_dir
    assert mode(data) == 0o700 and mode(settings.exports_dir) == 0o700
    for name in ("lnob.sqlite3", "lnob.sqlite3-wal", "lnob.sqlite3-shm", "pseudonym.key", "exports/quotes.csv"):
        assert mode(data / name) == 0o600, name
    assert open_to_others(settings.private_paths()) == []
    engine.dispose()


@pytest.mark.slow  # `lnob import` and `export` in subprocesses that load the models
def test_the_cli_creates_every_file_private_and_doctor_names_those_that_are_not(tmp_path: Path):
    data_dir = tmp_path / "data"
    rows = tmp_path / "rows.csv"
    rows.write_text("id,text\n" + "".join(f"{i},{text}\n" for i, text in enumerate(TEXTS)), encoding="utf-8")
    for args in (("db", "upgrade"), ("import", str(rows), "--id-col", "id", "--consent", "quote"),
                 ("export", "search", "water", "--format", "md")):
        result = lnob(data_dir, *args)
        assert result.returncode == 0, result.stderr
    # Before: the data dir was 0755 and the database, its WAL and the exports 0644.
    written = [data_dir, *data_dir.rglob("*")]
    assert {p.relative_to(data_dir).parts[0] for p in written[1:]} >= {"lnob.sqlite3", "chroma", "exports"}
    assert [p for p in written if mode(p) & 0o077] == []
    assert any(p.suffix == ".md" for p in (data_dir / "exports").iterdir())

    healthy = lnob(data_dir, "doctor", "--json")
    assert json.loads(healthy.stdout)["files_open_to_others"] == []

    export = next((data_dir / "exports").iterdir())
    export.chmod(0o644)
    data_dir.chmod(0o755)
    open_ = lnob(data_dir, "doctor")
    assert f"files_open_to_others" in open_.stdout and str(export) in open_.stdout
    assert "2 files or folders holding texts, the key, exports or the index are open to group or others" in open_.stderr
    listed = json.loads(lnob(data_dir, "doctor", "--json").stdout)["files_open_to_others"]
    assert set(listed) == {str(data_dir), str(export)}


def test_a_sqlite_file_outside_the_data_dir_is_checked_too(tmp_path: Path):
    database = tmp_path / "elsewhere" / "corpus.sqlite3"
    private_dir(database.parent)
    database.write_bytes(b"")
    database.chmod(0o644)
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{database}", _env_file=None)
    assert open_to_others(settings.private_paths()) == [database]


# -- read commands create nothing -----------------------------------------------------------


READS = [
    ("stats",), ("doctor",), ("themes",), ("theme", "1"), ("quotes", "1"), ("search", "water"), ("audit",),
    ("exports", "list"), ("report", "--country", "KE"), ("db", "current"), ("org", "list"), ("staff", "list"),
]


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_read_on_a_missing_evidence_base_creates_nothing(args, tmp_path: Path):
    data_dir = tmp_path / "nowhere" / "data"
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=UNSET)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0] == (
        f"error: no evidence base at {data_dir / 'lnob.sqlite3'}: create one with `lnob db upgrade`, "
        "then add to it with `lnob import FILE`"
    )
    # Before: the folders and an empty lnob.sqlite3 (and a pseudonym key) were left behind.
    assert list(tmp_path.iterdir()) == []


def test_db_upgrade_still_creates_the_evidence_base(tmp_path: Path):
    data_dir = tmp_path / "new" / "data"
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "db", "upgrade"], env=UNSET)
    assert result.exit_code == 0, result.output
    assert (data_dir / "lnob.sqlite3").is_file() and mode(data_dir) == 0o700
    assert CliRunner().invoke(cli, ["--data-dir", str(data_dir), "stats"], env=UNSET).exit_code == 0
