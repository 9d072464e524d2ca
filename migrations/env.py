"""Alembic environment: runs the project's migrations against the configured engine."""

from alembic import context
from sqlmodel import SQLModel

import corpus.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from corpus.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    """Online migrations only: the project always has a live database to migrate."""
    engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
