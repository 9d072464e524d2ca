"""Database engine, sessions and schema migrations (Alembic) for the corpus."""

from __future__ import annotations

import ast
import re
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlmodel import Session, create_engine

from corpus.errors import DatabaseUnavailable
from corpus.files import private_file

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps
REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)
# The drivers installed with lnob. SQLAlchemy 2.1 takes a bare postgresql:// to mean psycopg 3, which is not.
POSTGRES_DRIVER = "postgresql+psycopg2"
URL_EXAMPLES = "use e.g. sqlite:///data/lnob.sqlite3 or postgresql://user@host:5432/db"


def database_url(url: str) -> URL:
    """``url`` parsed, with a bare ``postgresql://`` (or ``postgres://``) meaning the installed psycopg2 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"LNOB_DATABASE_URL {url!r} is not a database URL: {URL_EXAMPLES}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    return parsed


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database or an in-memory one."""
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):  # a SQLite URI: its file is SQLite's business
        return None
    return Path(parsed.database).expanduser().absolute()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, full sync and enforced foreign keys.

    Nothing is created until the first connection; a SQLite file is then
    created 0600 in a 0700 folder (SQLite gives its ``-wal`` and ``-shm``
    files the same mode). SQL parameters, which hold people's words, are kept
    out of every error message and log (``hide_parameters``).
    """
    parsed = database_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(
                parsed, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
            )
            path = sqlite_file(url)
            if path is not None:
                event.listen(engine, "do_connect", _created_private(path))
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    except NoSuchModuleError:
        raise DatabaseUnavailable(
            f"LNOB_DATABASE_URL names an unknown database or driver {parsed.drivername}://: {URL_EXAMPLES}"
        ) from None
    except ImportError as exc:
        raise DatabaseUnavailable(
            f"the database driver for {parsed.drivername}:// is not installed (no module {exc.name!r}): "
            f"install it, or {URL_EXAMPLES}"
        ) from None


def describe_error(exc: SQLAlchemyError) -> str:
    """A one-line description of a database error that shows neither SQL nor data.

    The driver's message is kept for errors whose first line names a cause
    (a lost connection, a locked file, a constraint), never for data errors,
    whose messages quote the value refused; PostgreSQL's ``DETAIL`` line,
    which quotes the key, is always dropped.
    """
    kind = exc.__class__.__name__
    if isinstance(exc, DataError):
        return f"the database refused a value ({kind}); the change was rolled back"
    original = getattr(exc, "orig", None)
    reason = str(original if original is not None else "").strip().splitlines()
    reason = reason[0].split(" DETAIL:")[0].strip() if reason else ""
    if isinstance(exc, IntegrityError):
        return f"a row conflicts with one already stored ({reason or kind}); run the command again"
    return f"database error ({kind}{': ' + reason if reason else ''})"


def _created_private(path: Path):
    """A ``do_connect`` hook: the SQLite file is created by us, 0600, before SQLite opens (and would create) it."""

    def before_connect(_dialect, _record, _args, _params) -> None:
        private_file(path)

    return before_connect


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # deleted and overwritten rows are zeroed, not left in free space: an erased word (a text, a theme label
    # made of it, an export title) must not stay in the file (CorpusStore.wipe_journal empties the log)
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def check_connection(engine: Engine) -> None:
    """Raise ``DatabaseUnavailable`` with a one-line reason when the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except (OperationalError, SQLAlchemyError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        url = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(
            f"cannot connect to the database {url}: {reason}. Check LNOB_DATABASE_URL and that the server is running"
        ) from None


def alembic_config(engine: Engine):
    """An Alembic config for the project's migrations bound to ``engine``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Migrate the schema up to ``revision`` (default: the newest of every branch)."""
    from alembic import command

    check_connection(engine)
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the schema down to ``revision`` (``base`` removes every table)."""
    from alembic import command

    check_connection(engine)
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (heads joined by ``+``), or None for an empty database.

    Read from Alembic's version table with one query, without loading Alembic
    (a tenth of a second every command paid to check the schema).
    """
    if not inspect(engine).has_table(VERSION_TABLE):
        return None
    with engine.connect() as connection:
        heads = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return "+".join(sorted(heads)) or None


def head_revision(engine: Engine | None = None) -> str | None:
    """The newest revision the project's migrations define (heads joined by ``+``).

    Read from the migration files' ``revision`` and ``down_revision`` lines
    (the revisions no other names as its parent), without loading Alembic;
    ``tests/test_migrations.py`` checks that Alembic finds the same.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        values = dict(REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        if "revision" not in values:
            continue
        revisions.add(ast.literal_eval(values["revision"]))
        parent = ast.literal_eval(values.get("down_revision", "None"))
        parents.update([parent] if isinstance(parent, str) else parent or ())
    return "+".join(sorted(revisions - parents)) or None


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class EngineStore:
    """What every part of a store on one engine shares: the engine, and a plain session for read-only work
    (writes go through ``session_scope``)."""

    engine: Engine

    def session(self) -> Session:
        """A plain session for read-only work."""
        return Session(self.engine, expire_on_commit=False)
