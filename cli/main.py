"""The ``lnob`` command line: the group, its global options, how errors are told, and its commands.

Every read command takes ``--json``, and the ones that list items ``--csv``; errors go to stderr
with a non-zero exit; long commands show their stages and progress on stderr at a terminal.
Global options override the ``LNOB_*`` settings for one call. The commands are
top-level click commands in the modules beside this one, added to the group
below; what they share (settings, the evidence base) is ``cli.context``.
Command modules import only what is light at start-up: a command imports the
parts that load SQLAlchemy, the embedding model, the index or the bot itself,
so that ``lnob --help`` or a mistyped option answers at once.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from pydantic import ValidationError  # noqa: E402

from corpus.errors import CorpusError  # noqa: E402
from corpus.files import use_private_umask  # noqa: E402

from cli import demo, erase, evidence, reports, search, serve, staff, themes  # noqa: E402
from cli.output import PROGRESS_MODES, fail  # noqa: E402

USER_ERRORS: tuple[type[BaseException], ...] = (CorpusError,)


# Errors of modules the CLI imports only when a command needs them: (module, class). An exception of
# one of these classes can only have been raised if its module was imported, so none is imported here
# (SQLAlchemy, the embedding model, the index: seconds on every failing command).
LAZY_USER_ERRORS = (
    ("alembic.util.exc", "CommandError"),  # a revision that does not exist, or a schema ahead of the code
    ("analysis.embeddings", "EmbeddingModelError"),
    ("analysis.index", "IndexUnavailable"),
    ("bot.config", "BotConfigError"),
    ("sqlalchemy.exc", "SQLAlchemyError"),  # told as one line without SQL or data (corpus.db.describe_error)
)


def _user_errors() -> tuple[type[BaseException], ...]:
    loaded = tuple(
        getattr(sys.modules[module], name) for module, name in LAZY_USER_ERRORS if module in sys.modules
    )
    return USER_ERRORS + (ValidationError, OSError) + loaded


class LnobGroup(click.Group):
    """A click group that turns the project's errors into one line on stderr."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # the project's own errors become one line; anything else is a bug
            if isinstance(exc, _user_errors()):
                fail(_one_line(exc))
            raise


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"invalid setting LNOB_{str(error['loc'][0]).upper()}: {error['msg'].removeprefix('Value error, ')}"
    if type(exc).__module__ == "sqlalchemy.exc":
        from corpus.db import describe_error  # SQLAlchemy is loaded: the error is one of its own

        return describe_error(exc)
    if isinstance(exc, OSError) and exc.strerror and exc.filename:  # e.g. a data dir that cannot be created
        return f"{exc.strerror}: {exc.filename}: check the path and its permissions (LNOB_DATA_DIR)"
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


@click.group(cls=LnobGroup)
@click.version_option(package_name="lnob", prog_name="lnob", message="%(prog)s %(version)s")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder (LNOB_DATA_DIR).")
@click.option("--database-url", help="Database URL (LNOB_DATABASE_URL); '' for the SQLite file in the data folder.")
@click.option("--chroma-url", help="Chroma server URL (LNOB_CHROMA_URL); '' for the index in the data folder.")
@click.option("--progress", type=click.Choice(PROGRESS_MODES), default="auto", show_default=True,
              envvar="LNOB_PROGRESS",
              help="Stages and progress bars of long commands on stderr: auto draws them on a terminal only, "
                   "always also into a pipe or a file (LNOB_PROGRESS). Never with --json.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, database_url: str | None, chroma_url: str | None, progress: str,
        verbose: bool):
    """Leave No One Behind: an evidence base of testimonies and proposals."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _quiet_libraries()
    ctx.obj = {"overrides": {"data_dir": data_dir, "database_url": database_url, "chroma_url": chroma_url},
               "progress": progress}


def _quiet_libraries() -> None:
    for name in ("chromadb", "httpx", "sentence_transformers", "transformers", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # By environment, not by importing transformers here: that import alone takes seconds, and every
    # command (even `lnob stats`, which never loads the model) would pay for it.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


COMMANDS = (
    evidence.db, evidence.org, evidence.import_cmd, evidence.reindex, evidence.doctor, evidence.stats,
    search.search, demo.demo, serve.bot,
    themes.analyse, themes.themes, themes.theme, themes.quotes, themes.evaluate,
    staff.staff, staff.audit,
    reports.report, reports.export, reports.exports, reports.explore,
    erase.erase,
)
for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``lnob`` console script."""
    use_private_umask()  # every file this process or its libraries (Chroma) create is private: see corpus.files
    cli(prog_name="lnob")


if __name__ == "__main__":
    main()
