"""Errors never echo data, and settings fail early (issue 10): database errors as one line without SQL or
parameters, a race on a unique key, an unreachable Bot API, database URLs and drivers, bad settings."""

from __future__ import annotations

import http.server
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.exc import IntegrityError

from cli.main import cli
from corpus.db import describe_error, make_engine, upgrade
from corpus.importer import ImportSpec, commit_plan, plan_import
from corpus.settings import Settings
from corpus.store import CorpusStore, TestimonyDraft
from tests.support.loopback import free_port

LNOB = Path(sys.executable).parent / "lnob"
KEY = "trust-errors-test-key-0123456789abcdef"
SECRET = "Mama Wanjiru at the Kibera water point told me the chief takes bribes"
UNSET = {"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None, "LNOB_DATA_DIR": None, "LNOB_PSEUDONYM_KEY": KEY}


def env(**extra: str) -> dict[str, str]:
    """The environment without the caller's ``LNOB_*`` settings, plus ``extra``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LNOB_")}
    return {**clean, "LNOB_PSEUDONYM_KEY": KEY, **extra}


def invoke(*args: str, **environment):
    return CliRunner().invoke(cli, list(args), env={**UNSET, **environment})


def one_line_error(result) -> str:
    """The single ``error:`` line of a failed in-process command (no traceback)."""
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path: Path) -> CorpusStore:
    """A migrated corpus on SQLite and on PostgreSQL."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=url, pseudonym_key=KEY, _env_file=None)
    upgrade(make_engine(settings.resolved_database_url))
    return CorpusStore(settings)


# -- database errors ---------------------------------------------------------------------------


def test_a_database_error_carries_no_parameters_and_is_told_in_one_line(store: CorpusStore):
    draft = TestimonyDraft(text=SECRET, source="import:x.csv", source_ref="1", contributor_ref="p1",
                           contributor_namespace="import")
    store.add_testimonies([draft])
    with pytest.raises(IntegrityError) as caught:
        store.add_testimonies([TestimonyDraft(**{**vars(draft), "id": None})])
    # Before: the message (and the traceback a CLI user saw) held the whole INSERT row, the text included.
    for words in ("Wanjiru", "Kibera", "bribes"):
        assert words not in str(caught.value) and words not in repr(caught.value)
    line = describe_error(caught.value)
    assert line.startswith("a row conflicts with one already stored (")
    assert "\n" not in line and "INSERT" not in line and "DETAIL" not in line and "Key (" not in line


def test_a_race_on_a_unique_key_skips_the_rows_stored_meanwhile(store: CorpusStore, tmp_path: Path):
    rows = tmp_path / "rows.csv"
    rows.write_text("id,person,text\n1,a,Our well is dry.\n2,b,The clinic is far away.\n3,a,No bus since May.\n",
                    encoding="utf-8")
    spec = ImportSpec(id_col="id", contributor_col="person")
    first, second = plan_import(store, rows, spec), plan_import(store, rows, spec)  # both see 3 new rows
    assert len(first.drafts) == len(second.drafts) == 3
    assert commit_plan(store, first) == 3
    # Before: IntegrityError, and the second import died with a traceback.
    assert commit_plan(store, second) == 0
    assert second.already_imported == 3
    assert store.count_testimonies() == 3


def test_a_database_error_in_a_command_is_one_line(migrated_settings: Settings):
    with sqlite3.connect(migrated_settings.resolved_data_dir / "lnob.sqlite3") as connection:
        connection.execute("ALTER TABLE organisation RENAME TO organisation_gone")
    result = invoke("--data-dir", str(migrated_settings.data_dir), "org", "list")
    line = one_line_error(result)
    assert line == "error: database error (OperationalError: no such table: organisation)"


@pytest.mark.slow  # three `lnob` processes, two of them embedding
def test_two_imports_of_one_file_at_once_both_succeed_and_print_no_text(tmp_path: Path):
    data_dir = tmp_path / "data"
    for args in (("db", "upgrade"), ("org", "add", "Plan", "--code", "plan")):
        assert subprocess.run([str(LNOB), "--data-dir", str(data_dir), *args], env=env(), capture_output=True,
                              timeout=120).returncode == 0
    texts = [f"Story {i}: the road to market {i} km away floods every rainy season as elder {i} said."
             for i in range(150)]
    rows = tmp_path / "rows.csv"
    rows.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts)), encoding="utf-8")
    command = [str(LNOB), "--data-dir", str(data_dir), "import", str(rows), "--id-col", "id", "--org", "plan"]
    processes = [subprocess.Popen(command, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    results = [(p.returncode, *outputs) for p in processes for outputs in [p.communicate(timeout=600)]]
    for code, stdout, stderr in results:
        assert code == 0, stderr[-3000:]
        assert "Traceback" not in stderr and "market" not in stderr and "elder" not in stderr
    stats = invoke("--data-dir", str(data_dir), "stats", "--json")
    assert '"testimonies": 150' in stats.output
    assert sum(int(out.split("imported ")[1].split(" of")[0]) for _, out, _ in results) == 150


# -- database URLs and drivers --------------------------------------------------------------


@pytest.mark.postgres
def test_a_plain_postgresql_url_works(postgres_url: str, tmp_path: Path):
    plain = postgres_url.replace("postgresql+psycopg2://", "postgresql://")
    # Before: SQLAlchemy 2.1 took postgresql:// to mean psycopg 3 (not installed): a traceback.
    upgraded = invoke("--data-dir", str(tmp_path / "data"), "--database-url", plain, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert invoke("--data-dir", str(tmp_path / "data"), "--database-url", plain, "stats").exit_code == 0
    assert not (tmp_path / "data").exists()  # nothing of the evidence base is in the data dir


def test_a_missing_database_driver_is_one_line(tmp_path: Path):
    result = invoke("--data-dir", str(tmp_path), "--database-url", "mysql://lnob@127.0.0.1/lnob", "stats")
    assert one_line_error(result).startswith(
        "error: the database driver for mysql:// is not installed (no module 'MySQLdb'): install it, or use e.g."
    )
    result = invoke("--data-dir", str(tmp_path), "--database-url", "oracle2://x@h/d", "stats")
    assert "unknown database or driver oracle2://" in one_line_error(result)


# -- settings fail early ---------------------------------------------------------------------


def test_a_missing_codebook_stops_every_command_before_it_starts(migrated_settings: Settings, tmp_path: Path):
    from sqlmodel import Session, select

    from corpus.themes import AnalysisRun

    missing = tmp_path / "no-such-codebook.yaml"
    base = ["--data-dir", str(migrated_settings.data_dir)]
    for args in (["analyse"], ["report", "--country", "KE"], ["stats"]):
        line = one_line_error(invoke(*base, *args, LNOB_CODEBOOK_PATH=str(missing)))
        assert line == f"error: invalid setting LNOB_CODEBOOK_PATH: no such file: {missing}"
    # Before: a 63-line traceback from `analyse` and an analysis run left unfinished; `report` fell back.
    with Session(make_engine(migrated_settings.resolved_database_url)) as session:
        assert session.exec(select(AnalysisRun)).all() == []


@pytest.mark.parametrize("name", ["ab", "-testimonies", "test..imonies", "192.168.0.1", "a b c"])
def test_a_chroma_collection_name_chroma_refuses_is_refused_at_start(name: str, tmp_path: Path):
    line = one_line_error(invoke("--data-dir", str(tmp_path), "stats", LNOB_CHROMA_COLLECTION=name))
    assert line.startswith(f"error: invalid setting LNOB_CHROMA_COLLECTION: {name!r} is not a Chroma collection name")
    assert Settings(chroma_collection="abc", _env_file=None).chroma_collection == "abc"


# -- the bot and an unreachable Bot API -------------------------------------------------------


def start_bot(data_dir: Path, api_url: str) -> subprocess.Popen:
    token = "123456:SECRET-token-never-logged"
    return subprocess.Popen([str(LNOB), "--data-dir", str(data_dir), "bot"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=env(TELEGRAM_BOT_TOKEN=token, LNOB_TELEGRAM_API_URL=api_url))


@pytest.mark.slow  # `lnob bot` in a subprocess, retrying for seconds
def test_the_bot_waits_for_an_unreachable_bot_api_with_one_line_per_try(migrated_settings: Settings):
    port = free_port()  # nothing listens there
    bot = start_bot(migrated_settings.data_dir, f"http://127.0.0.1:{port}/bot")
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sum("cannot reach" in line for line in lines) < 2:
        line = bot.stderr.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
    bot.send_signal(signal.SIGINT)
    stdout, rest = bot.communicate(timeout=60)
    lines += rest.splitlines()
    # Before: a 231-line traceback, and the bot exited.
    assert bot.returncode == 0, lines
    assert "Traceback" not in "\n".join(lines) and "SECRET" not in "\n".join(lines)
    where = f"http://127.0.0.1:{port}"
    assert lines[0] == (f"WARNING bot.app: cannot reach the Bot API at {where} "
                        "(httpx.ConnectError: All connection attempts failed); retrying in 1 s")
    assert lines[1].endswith("retrying in 2 s")
    assert lines[-1] == "WARNING bot.app: stopped before the Bot API could be reached"
    assert 3 <= len(lines) <= 6


@pytest.mark.slow  # `lnob bot` in a subprocess
def test_a_stop_during_a_connection_attempt_stops_the_bot(migrated_settings: Settings):
    """Ctrl-C while the bot is connecting ends the try and the bot. (Under heavy load, the next test once saw the
    bot still retrying 60 s after Ctrl-C; this case did not reproduce it, but the stop now has a handler of its own.)"""
    import socket

    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    port = silent.getsockname()[1]
    bot = start_bot(migrated_settings.data_dir, f"http://127.0.0.1:{port}/bot")
    silent.settimeout(120)
    connection, _ = silent.accept()  # the bot is inside its first try
    bot.send_signal(signal.SIGINT)
    try:
        _, stderr = bot.communicate(timeout=30)
    finally:
        bot.kill()
        connection.close()
        silent.close()
    assert bot.returncode == 0, stderr
    assert stderr.strip().splitlines()[-1] == "WARNING bot.app: stopped before the Bot API could be reached"
    assert "Traceback" not in stderr and "SECRET" not in stderr


@pytest.mark.slow  # `lnob bot` in a subprocess
def test_the_bot_starts_polling_once_the_bot_api_comes_up(migrated_settings: Settings):
    import asyncio

    from tests.support.fake_bot_api import FakeBotAPI

    port, api, loop = free_port(), FakeBotAPI(), asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    bot = subprocess.Popen([str(LNOB), "--data-dir", str(migrated_settings.data_dir), "bot"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           env=env(TELEGRAM_BOT_TOKEN=api.token, LNOB_TELEGRAM_API_URL=f"http://127.0.0.1:{port}/bot"))
    try:
        first = bot.stderr.readline()
        asyncio.run_coroutine_threadsafe(api.start(port), loop).result(timeout=30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(call[0] == "getUpdates" for call in api.calls):
            time.sleep(0.2)
        assert any(call[0] == "getUpdates" for call in api.calls)  # polling
    finally:
        bot.send_signal(signal.SIGINT)
        _, rest = bot.communicate(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
    lines = [first.rstrip("\n"), *rest.splitlines()]
    assert bot.returncode == 0 and "Traceback" not in rest
    assert all(line.startswith("WARNING bot.app: cannot reach the Bot API") for line in lines[:-1]), lines
    assert lines[-1] == f"WARNING bot.app: reached the Bot API at http://127.0.0.1:{port}"


class Unauthorized(http.server.BaseHTTPRequestHandler):
    """Answers every Bot API call as Telegram answers a revoked token."""

    def do_POST(self):  # noqa: N802  (http.server's naming)
        body = b'{"ok": false, "error_code": 401, "description": "Unauthorized"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.slow  # `lnob bot` in a subprocess
def test_a_token_the_bot_api_refuses_is_one_line(migrated_settings: Settings):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unauthorized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        bot = start_bot(migrated_settings.data_dir, f"http://127.0.0.1:{server.server_port}/bot")
        _, stderr = bot.communicate(timeout=120)
    finally:
        server.shutdown()
    assert bot.returncode == 1
    assert stderr.splitlines() == [
        f"error: the Bot API at http://127.0.0.1:{server.server_port} refused TELEGRAM_BOT_TOKEN: "
        "copy the token again from @BotFather"
    ]
