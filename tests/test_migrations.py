"""Alembic migrations: they build exactly the SQLModel tables, and go up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import corpus.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from corpus.db import current_revision, downgrade, head_revision, make_engine, upgrade

LNOB = Path(sys.executable).parent / "lnob"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment without any ``LNOB_*`` setting of the caller's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LNOB_")}
    return {**env, "HOME": str(tmp_path), **extra}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def drift(engine: sa.Engine) -> list:
    """Alembic's autogenerate diff between the migrated database and ``SQLModel.metadata``."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, SQLModel.metadata)


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrations_produce_exactly_the_models(database_url: str):
    engine = make_engine(database_url)
    upgrade(engine)
    assert drift(engine) == []
    assert table_names(engine) == set(SQLModel.metadata.tables)
    assert current_revision(engine) == head_revision(engine)
    engine.dispose()


def test_upgrade_downgrade_upgrade(database_url: str):
    engine = make_engine(database_url)
    upgrade(engine)
    assert table_names(engine) == set(SQLModel.metadata.tables)

    downgrade(engine, "base")
    assert table_names(engine) == set()
    assert current_revision(engine) is None

    upgrade(engine)
    assert drift(engine) == []
    assert current_revision(engine) == head_revision(engine)
    engine.dispose()


def test_the_revisions_read_without_alembic_are_alembic_s(database_url: str):
    """``current_revision`` and ``head_revision`` read the version table and the migration files themselves
    (a command need not load Alembic): what they read is what Alembic reads, at every step."""
    from alembic.script import ScriptDirectory

    from corpus.db import alembic_config

    engine = make_engine(database_url)
    script = ScriptDirectory.from_config(alembic_config(engine))
    assert head_revision(engine) == "+".join(sorted(script.get_heads()))
    assert current_revision(engine) is None
    for step in reversed(list(script.walk_revisions())):
        upgrade(engine, step.revision)
        with engine.connect() as connection:
            alembic_sees = MigrationContext.configure(connection).get_current_heads()
        assert current_revision(engine) == "+".join(sorted(alembic_sees)) == step.revision
    engine.dispose()


@pytest.mark.slow  # two `lnob` processes
def test_cli_db_upgrade(tmp_path: Path):
    data_dir = tmp_path / "data"
    env = clean_env(tmp_path, LNOB_PSEUDONYM_KEY="test-key-0123456789abcdef0123456789")
    result = subprocess.run(
        [str(LNOB), "--data-dir", str(data_dir), "db", "upgrade"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = make_engine(f"sqlite:///{data_dir / 'lnob.sqlite3'}")
    assert current_revision(engine) == head_revision(engine)
    assert f"at revision {head_revision(engine)}" in result.stdout
    assert drift(engine) == []

    again = subprocess.run(
        [str(LNOB), "--data-dir", str(data_dir), "db", "current", "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert f'"current": "{head_revision(engine)}"' in again.stdout


def test_cli_db_upgrade_on_postgres(postgres_url: str, tmp_path: Path):
    env = clean_env(tmp_path, LNOB_DATABASE_URL=postgres_url)
    result = subprocess.run(
        [str(LNOB), "--data-dir", str(tmp_path / "data"), "db", "upgrade"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = make_engine(postgres_url)
    assert current_revision(engine) == head_revision(engine)
    assert drift(engine) == []
    engine.dispose()
