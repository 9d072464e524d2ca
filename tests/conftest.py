"""Shared fixtures: real SQLite files, the local PostgreSQL server, real Chroma (embedded and server),
the analysed demo corpus, the fake Bot API server.

Every run gets its own PostgreSQL database and its own Chroma server on a free
loopback port, so parallel or repeated runs never clobber each other. The
analysed demo corpus is built once per session (``demo_corpus``); a test that
changes it works on ``demo_corpus.copy(tmp_path / "data")``. The helpers these
fixtures use, and that tests import, are in ``tests/support``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import pytest_asyncio

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# `make test` runs one worker process per core (pytest-xdist). Each would otherwise start OpenMP, torch and
# BLAS threads for every core, and their idle threads spin on the cores the other worker needs: on two cores
# the suite took 9 min 50 s so, against 8 min 6 s with one thread per worker. The subprocesses that tests
# start inherit it. A run in one process (WORKERS=0) keeps the libraries' defaults.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from corpus.db import make_engine, upgrade  # noqa: E402
from corpus.settings import Settings  # noqa: E402
from tests.support.command_line import DemoRun, run_demo  # noqa: E402
from tests.support.corpora import TEST_KEY, DemoCorpus, aggregate_every, build_demo_corpus, copy_data_dir  # noqa: E402
from tests.support.disaster_response import VALIDATION_CSV  # noqa: E402
from tests.support.fake_bot_api import FakeBotAPI, running_bot  # noqa: E402
from tests.support.loopback import free_port  # noqa: E402
from tests.support.workers import built_once, worker  # noqa: E402

PG_ADMIN_URL = os.environ.get("LNOB_TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


SLOW_FIXTURES = {"demo_corpus", "demo_run"}  # each imports, embeds and analyses the whole demo corpus


# The longest modules that do not use the shared demo corpus, run first (``run_order``)
FIRST = ("test_quality.py", "test_cli.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that needs a slow fixture, directly or through another fixture; then put the
    modules in the order ``run_order`` gives."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    items.sort(key=run_order(items))


def run_order(items: list[pytest.Item]):
    """A sort key that keeps each module's tests together and in their order, and runs first the modules in
    ``FIRST``, then those with slow tests, then the rest.

    ``make test`` hands whole modules to two worker processes (pytest-xdist,
    ``--dist loadscope --no-loadscope-reorder``) in this order, each worker
    taking the next module when it is free. The longest ones start first,
    so that none is left to run alone at the end, and while one worker runs
    them the other builds the demo corpus that many later modules share.
    """
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}

    def key(item: pytest.Item) -> int:
        if item.path.name in FIRST:
            return FIRST.index(item.path.name)
        return len(FIRST) + (0 if item.path in slow_modules else 1)

    return key


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh data dir with a SQLite file and embedded Chroma."""
    return Settings(data_dir=tmp_path / "data", pseudonym_key=TEST_KEY, _env_file=None)


@pytest.fixture
def migrated_settings(settings: Settings) -> Settings:
    """``settings`` with the schema migrated to head."""
    upgrade(make_engine(settings.resolved_database_url))
    return settings


@pytest.fixture
def evidence(migrated_settings: Settings):
    """An evidence base on a migrated SQLite file and an embedded Chroma index."""
    from analysis.evidence import EvidenceBase

    return EvidenceBase(migrated_settings)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of a database of this run's own on the local PostgreSQL server (dropped at the end)."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lnob_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.orig}")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    """The run's PostgreSQL database, emptied of every table before the test."""
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_server_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    return postgres_server_url


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory) -> str:
    """URL of a Chroma server started with ``chroma run`` on a free loopback port."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if chroma is None:
        pytest.fail("the `chroma` command (chromadb package) is not installed")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = open(path / "server.log", "w")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    process = subprocess.Popen(
        [chroma, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path / "db")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chroma run exited with {process.returncode}: {(path / 'server.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("chroma run did not start listening within 60 s")
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def shared_data() -> Path:
    """The labelled disaster-response messages in ../shared/data, or a skip saying why not."""
    if not VALIDATION_CSV.exists():
        pytest.skip(f"shared data not found at {VALIDATION_CSV}: these quality tests need ../shared/data")
    return VALIDATION_CSV


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory) -> DemoCorpus:
    """The analysed demo corpus (``tests/support/corpora.py``), built once per session.

    Read it as it is (``demo_corpus.evidence()``; adding exports is fine), or
    work on ``demo_corpus.copy(tmp_path / "data")`` to change it.
    """
    built = built_once(tmp_path_factory, "demo-corpus", lambda folder: build_demo_corpus(folder / "data"))
    if worker() is None:
        return DemoCorpus(built / "data")
    own = tmp_path_factory.mktemp("demo-corpus") / "data"  # each worker reads and adds exports to its own copy
    copy_data_dir(built / "data", own)
    return DemoCorpus(own)


@pytest.fixture(scope="session")
def demo_corpus_7th_aggregate(demo_corpus, tmp_path_factory) -> DemoCorpus:
    """``demo_corpus`` with every 7th contributor on aggregate consent and the rest on quote (same themes).

    Derived from a copy by changing consents, not embedded and analysed
    again; read-only like ``demo_corpus``: ``.copy(tmp_path / "data")`` to change it.
    """
    variant = DemoCorpus(tmp_path_factory.mktemp("demo-corpus-7th-aggregate") / "data")
    aggregate_every(demo_corpus.copy(variant.data_dir), 7)
    return variant


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    """``lnob demo`` run once per session in a subprocess, on a fresh data dir (``tests/support/command_line.py``).

    For the tests of what the demo prints and leaves; they may run more
    commands on ``demo_run.data_dir`` with ``demo_run.env``.
    """
    return run_demo(tmp_path_factory.mktemp("demo-run"))


@pytest_asyncio.fixture(loop_scope="session")
async def api():
    """A started fake Bot API server; the test fails if the bot made any bad request."""
    server = FakeBotAPI()
    await server.start()
    yield server
    await server.stop()
    assert server.errors == [], f"the bot made bad Bot API requests: {server.errors}"


@pytest_asyncio.fixture(loop_scope="session")
async def bot(api, evidence):
    """The real bot Application polling the fake server, on the test's database and index."""
    async with running_bot(api, evidence.settings, evidence) as application:
        yield application
