"""Shared fixtures: real SQLite files, the local PostgreSQL server, real Chroma (embedded and server).

Every run gets its own PostgreSQL database and its own Chroma server on a free
loopback port, so parallel or repeated runs never clobber each other.
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from corpus.db import make_engine, upgrade  # noqa: E402
from corpus.settings import Settings  # noqa: E402

PG_ADMIN_URL = os.environ.get("LNOB_TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "disaster-response" / "validation.csv"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh data dir with a SQLite file and embedded Chroma."""
    return Settings(data_dir=tmp_path / "data", pseudonym_key="test-key-0123456789abcdef0123456789", _env_file=None)


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
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}: these quality tests need ../shared/data")
    return SHARED_DATA
