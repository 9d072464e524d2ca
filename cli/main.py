"""The ``lnob`` command line.

Every read command takes ``--json``; errors go to stderr with a non-zero exit.
Global options override the ``LNOB_*`` settings for one call.
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

from corpus.errors import CorpusError  # noqa: E402
from corpus.settings import Settings, get_settings  # noqa: E402

from cli.output import emit_json, fail, progress, table  # noqa: E402

USER_ERRORS: tuple[type[BaseException], ...] = (CorpusError,)


# Errors of modules the CLI imports only when a command needs them: (module, class). An exception of
# one of these classes can only have been raised if its module was imported, so none is imported here
# (importing `bot.config` alone loads the whole bot, spaCy included: seconds on every failing command).
LAZY_USER_ERRORS = (
    ("alembic.util.exc", "CommandError"),  # a revision that does not exist, or a schema ahead of the code
    ("analysis.embeddings", "EmbeddingModelError"),
    ("analysis.index", "IndexUnavailable"),
    ("bot.config", "BotConfigError"),
    ("sqlalchemy.exc", "SQLAlchemyError"),  # told as one line without SQL or data (corpus.db.describe_error)
)


def _user_errors() -> tuple[type[BaseException], ...]:
    from pydantic import ValidationError

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
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"invalid setting LNOB_{str(error['loc'][0]).upper()}: {error['msg'].removeprefix('Value error, ')}"
    if type(exc).__module__ == "sqlalchemy.exc":
        from corpus.db import describe_error

        return describe_error(exc)
    if isinstance(exc, OSError) and exc.strerror and exc.filename:  # e.g. a data dir that cannot be created
        return f"{exc.strerror}: {exc.filename}: check the path and its permissions (LNOB_DATA_DIR)"
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


@click.group(cls=LnobGroup)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder (LNOB_DATA_DIR).")
@click.option("--database-url", help="Database URL (LNOB_DATABASE_URL).")
@click.option("--chroma-url", help="Chroma server URL (LNOB_CHROMA_URL).")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, database_url: str | None, chroma_url: str | None, verbose: bool):
    """Leave No One Behind: an evidence base of testimonies and proposals."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _quiet_libraries()
    ctx.obj = {"overrides": {"data_dir": data_dir, "database_url": database_url, "chroma_url": chroma_url}}


def _quiet_libraries() -> None:
    for name in ("chromadb", "httpx", "sentence_transformers", "transformers", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # By environment, not by importing transformers here: that import alone takes seconds, and every
    # command (even `lnob stats`, which never loads the model) would pay for it.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def settings_of(ctx: click.Context, **extra) -> Settings:
    """Settings from the environment with this call's global options applied."""
    return get_settings(**{**ctx.obj["overrides"], **extra})


def require_evidence_base(settings: Settings) -> None:
    """Stop with one line when the SQLite database does not exist, before anything creates it.

    Only `lnob db upgrade` (and `lnob demo`, in its own folder) creates an evidence base; every other
    command needs one, and a read must not leave an empty database or data dir behind.
    """
    from corpus.db import sqlite_file

    path = sqlite_file(settings.resolved_database_url)
    if path is not None and not path.exists():
        fail(f"no evidence base at {path}: create one with `lnob db upgrade`, then add to it with `lnob import FILE`")


def open_evidence(settings: Settings):
    """The evidence base, after checking the database exists, is reachable and is migrated."""
    from analysis.evidence import EvidenceBase

    require_evidence_base(settings)
    evidence = EvidenceBase(settings)
    evidence.store.check()
    return evidence


# -- db ------------------------------------------------------------------------------


@cli.group()
def db():
    """Database schema migrations."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@click.pass_context
def db_upgrade(ctx, revision: str):
    """Migrate the database schema up (creates it on a new database)."""
    from corpus.db import current_revision, make_engine, upgrade

    settings = settings_of(ctx)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine, revision)
    click.echo(f"database {engine.url.render_as_string(hide_password=True)} at revision {current_revision(engine)}")


@db.command("downgrade")
@click.argument("revision")
@click.pass_context
def db_downgrade(ctx, revision: str):
    """Migrate the schema down to REVISION (`base` removes every table)."""
    from corpus.db import current_revision, downgrade, make_engine

    settings = settings_of(ctx)
    require_evidence_base(settings)
    engine = make_engine(settings.resolved_database_url)
    downgrade(engine, revision)
    click.echo(f"database at revision {current_revision(engine) or 'base'}")


@db.command("current")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def db_current(ctx, as_json: bool):
    """Show the schema revision of the database and of the code."""
    from corpus.db import check_connection, current_revision, head_revision, make_engine

    settings = settings_of(ctx)
    require_evidence_base(settings)
    engine = make_engine(settings.resolved_database_url)
    check_connection(engine)
    payload = {"current": current_revision(engine), "head": head_revision(engine)}
    if as_json:
        emit_json(payload)
    else:
        click.echo(f"current {payload['current'] or 'none'}, head {payload['head']}")


# -- organisations -------------------------------------------------------------------


@cli.group()
def org():
    """Partner organisations and campaigns."""


@org.command("add")
@click.argument("name")
@click.option("--code", required=True, help="Short code used in deep links and imports, e.g. plan-np.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def org_add(ctx, name: str, code: str, as_json: bool):
    """Create an organisation and print its Telegram deep link."""
    evidence = open_evidence(settings_of(ctx))
    organisation = evidence.store.add_organisation(code, name)
    link = _deep_link(organisation.code)
    if as_json:
        emit_json({"code": organisation.code, "name": organisation.name, "link": link})
    else:
        click.echo(f"organisation {organisation.code} ({organisation.name})")
        click.echo(f"deep link: {link}" if link else "deep link: set LNOB_BOT_USERNAME to print it")


def _deep_link(code: str) -> str | None:
    try:
        from bot.config import BotSettings
        from bot.links import deep_link
    except ImportError:
        return None
    username = BotSettings().bot_username
    return deep_link(username, code) if username else None


@org.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def org_list(ctx, as_json: bool):
    """List organisations."""
    evidence = open_evidence(settings_of(ctx))
    rows = [{"code": o.code, "name": o.name} for o in evidence.store.organisations()]
    if as_json:
        emit_json({"organisations": rows})
    else:
        click.echo(table([(r["code"], r["name"]) for r in rows], ["code", "name"]))


# -- import ----------------------------------------------------------------------------


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--text-col", default="text", show_default=True)
@click.option("--kind-col")
@click.option("--country-col")
@click.option("--language-col")
@click.option("--id-col", help="Column with a stable row id (makes re-imports idempotent even if texts change).")
@click.option("--source", help="Collection the rows belong to (default: the file's name, under --org's code).")
@click.option("--region-col")
@click.option("--date-col", help="ISO dates, e.g. 2026-03-14.")
@click.option("--contributor-col", help="Column with a contributor id within the collection (pseudonymised on import).")
@click.option("--age-band-col")
@click.option("--gender-col")
@click.option("--groups-col", help="Self-identified groups separated by ';'.")
@click.option("--drivers-col", help="Self-signified drivers separated by ';'.")
@click.option("--consent-col", help="Per-row consent level: quote or aggregate.")
@click.option("--consent", type=click.Choice(["quote", "aggregate"]), default="aggregate", show_default=True)
@click.option("--org", "organisation", help="Organisation code for every row.")
@click.option("--org-col", "organisation_col")
@click.option("--language", "default_language", help="Language of rows without a language column.")
@click.option("--country", "default_country", help="Country of rows without a country column.")
@click.option("--sheet", help="XLSX sheet (default: the first).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def import_cmd(ctx, file: Path, as_json: bool, **columns):
    """Import testimonies from a CSV or XLSX FILE; bad rows are reported and skipped.

    Rows belong to a collection: --source NAME, else the file's name under --org's code (plan/data.csv),
    else the file's name. Importing a newer export of a collection adds only its new rows. A file whose
    name is already a collection it does not match (another partner's data.csv) is refused until --source
    names it.

    \b
    Exit status:
      0  every row is stored (or already was)
      3  some rows were refused (on stderr, or bad_rows with --json);
         the others are stored
      1  nothing was imported: a wrong file, column, organisation or collection
      2  wrong options
    """
    from corpus.importer import SOURCE_PREFIX, ImportSpec
    from corpus.models import ConsentLevel

    columns["consent"] = ConsentLevel(columns["consent"])
    evidence = open_evidence(settings_of(ctx))
    report = run_import(evidence, file, ImportSpec(**columns), show_progress=not as_json)
    if as_json:
        emit_json(report)
        ctx.exit(ROWS_REFUSED if report["bad_rows"] else 0)
    for bad in report["bad_rows"]:
        click.echo(f"row {bad['row']}: {bad['reason']}", err=True)
    click.echo(
        f"imported {report['added']} of {report['rows']} rows from {file.name} "
        f"({report['already_imported']} already imported, {len(report['bad_rows'])} refused, "
        f"{report['indexed']} indexed, {report['pending']} pending, {report['failed']} failed to index) "
        f"into collection {report['source'].removeprefix(SOURCE_PREFIX)}"
    )
    if report["bad_rows"]:
        ctx.exit(ROWS_REFUSED)


ROWS_REFUSED = 3  # `lnob import`'s exit status when some rows were refused (1: nothing imported, 2: usage)


def run_import(evidence, file: Path, spec, *, show_progress: bool = True) -> dict:
    """Plan, commit, embed and index an import; returns the report (used by `import` and `demo`)."""
    from corpus.importer import commit_plan, plan_import

    plan = plan_import(evidence.store, file, spec)
    # Store every row first (each batch one transaction: quick, and durable before the slow part), then
    # embed and index the backlog in length-sorted batches; an interruption leaves rows pending, not lost.
    if show_progress and len(plan.drafts) > 256:
        with progress(len(plan.drafts), "storing") as bar:
            added = commit_plan(evidence.store, plan, on_batch=lambda stored: bar.update(len(stored)))
    else:
        added = commit_plan(evidence.store, plan)
    backlog = sum(evidence.store.status_counts()[s] for s in ("pending", "failed"))
    if show_progress and backlog > 256:
        with progress(backlog, "indexing") as bar:
            indexed = evidence.index_pending(progress=bar.update).indexed
    else:
        indexed = evidence.index_pending().indexed
    statuses = evidence.store.status_counts()
    return {
        "file": str(file),
        "source": plan.source,
        "rows": plan.total_rows,
        "added": added,
        "already_imported": plan.already_imported,
        "bad_rows": [{"row": b.row, "reason": b.reason} for b in plan.bad_rows],
        "indexed": indexed,
        # what is stored, each status by its name (the failed ones are retried by the next import or reindex)
        "pending": statuses["pending"],
        "failed": statuses["failed"],
    }


# -- index -----------------------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def reindex(ctx, as_json: bool):
    """Rebuild the vector index from the database (cached embeddings are reused)."""
    evidence = open_evidence(settings_of(ctx))
    total = evidence.store.count_testimonies()
    if as_json:
        report = evidence.reindex()
    else:
        with progress(total, "reindexing") as bar:
            report = evidence.reindex(progress=bar.update)
    payload = {"testimonies": total, "indexed": report.indexed, "failed": report.failed, "errors": report.errors[:5]}
    if as_json:
        emit_json(payload)
    else:
        click.echo(f"indexed {report.indexed} of {total} testimonies ({report.failed} failed, left pending)")
    if report.failed:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def doctor(ctx, as_json: bool):
    """Check the database and the index: counts, backlog, mismatches."""
    from bot.config import SUPPORTED_LANGUAGES

    evidence = open_evidence(settings_of(ctx))
    report = evidence.doctor(languages=SUPPORTED_LANGUAGES)
    if as_json:
        emit_json(report)
    else:
        for key, value in report.items():
            click.echo(f"{key:20} {value}")
        if report["vectors_from_other_model"]:
            click.echo(f"the index holds {report['vectors_from_other_model']} vectors made by {report['index_model'] or 'an earlier model'}, "
                       f"not {report['embedding_model']}: run `lnob reindex` to re-embed every testimony with it", err=True)
        elif not report["ok"]:
            click.echo("run `lnob reindex` to index the backlog and repair mismatches", err=True)
        if not report["model_calibrated"]:
            click.echo(f"no calibrated thresholds for {report['embedding_model']} in analysis/models.yaml: the default "
                       "entry is used; run bench/calibrate_model.py and add an entry", err=True)
        if report["erased_vectors_in_index_files"]:
            click.echo(f"{report['erased_vectors_in_index_files']} erased contributions' vectors are out of every "
                       "search but may remain in the index files: `lnob reindex` removes them", err=True)
        if report["stale_index_files"]:
            click.echo(f"{report['stale_index_files']} files under the index folder belong to no collection in use (a "
                       "dropped collection's vectors, erased ones included): `lnob reindex` removes them", err=True)
        if report["files_open_to_others"]:
            click.echo(f"{len(report['files_open_to_others'])} files or folders holding texts, the key, exports or the "
                       "index are open to group or others (listed above): `chmod -R go= PATH` closes them", err=True)
        unredacted = [code for code, pipeline in report["names_and_places_redacted"].items() if pipeline is None]
        if unredacted:
            click.echo(f"names and places are NOT redacted in texts in {', '.join(unredacted)}: no named-entity pipeline "
                       "is installed for them (the consent notice in those languages says so)", err=True)
    if not report["ok"]:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx, as_json: bool):
    """Counts of testimonies, contributors and organisations (breakdowns under the small-cell rule)."""
    from analysis.gaps import stats_shown

    evidence = open_evidence(settings_of(ctx))
    payload = stats_shown(evidence.store.stats(), evidence.settings.small_cell)
    if as_json:
        emit_json(payload)
        return
    click.echo(f"testimonies   {payload['testimonies']} ({_pairs(payload['by_kind'])})")
    click.echo(f"contributors  {payload['contributors']}")
    click.echo(f"organisations {payload['organisations']}")
    for key in ("by_country", "by_language", "by_organisation", "by_consent"):
        click.echo(f"{key[3:]:13} {_pairs(payload[key])}")
    click.echo(f"{'index_status':13} {_pairs(dict(sorted(payload['by_index_status'].items(), key=lambda kv: -kv[1])))}")


def _pairs(labels: dict) -> str:
    """``"KE 12, BD ≥5, NP <5"``: labels in the order given (a protected breakdown's: ``analysis.counting``)."""
    from analysis.counting import WITHHELD_KEY, WITHHELD_TEXT

    if WITHHELD_KEY in labels:
        return WITHHELD_TEXT
    return ", ".join(f"{k} {v}" for k, v in labels.items()) or "-"


# -- search ----------------------------------------------------------------------------


@cli.command()
@click.argument("query")
@click.option("--country")
@click.option("--kind", type=click.Choice(["testimony", "proposal"]))
@click.option("--org", "organisation")
@click.option("--language")
@click.option("--driver", help="A driver key of the codebook, e.g. geography.")
@click.option("--theme", "theme", type=int)
@click.option("--group")
@click.option("--since", metavar="DATE", help="From this day, or the first day of this month (2026-03) or year (2026).")
@click.option("--until", metavar="DATE", help="To this day, or the last day of this month (2026-03) or year (2026).")
@click.option("--mode", default="hybrid", show_default=True, type=click.Choice(["hybrid", "semantic", "lexical"]))
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 200))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def search(ctx, query: str, mode: str, limit: int, as_json: bool, **filters):
    """Search quotes by words and meaning (hybrid), with filters."""
    if not query.strip():
        fail("the query is empty: give a few words, e.g. lnob search \"no clinic nearby\"")
    from analysis.search import Searcher, checked_filter  # after the check: it loads the language tools

    evidence = open_evidence(settings_of(ctx))
    where = checked_filter(evidence, **filters)  # a bad value is an error, not "no quotes found"
    results = Searcher(evidence).search(query, limit, where, mode=mode)
    if as_json:
        emit_json({"query": query, "mode": mode, "results": [r.to_dict() for r in results]})
        return
    if not results:
        click.echo("no quotes found")
    for r in results:
        click.echo(f"{r.score:.4f}  {r.id[:8]}  {r.country or '--'}  {r.kind:9}  {r.text}")


# -- demo ------------------------------------------------------------------------------


@cli.command()
@click.option("--data-dir", "demo_dir", type=click.Path(path_type=Path), default=Path("./demo-data"), show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def demo(ctx, demo_dir: Path, as_json: bool):
    """Load the synthetic demo corpus into its own data dir and show it working."""
    from cli.demo import run_demo

    # Its own SQLite file and embedded index, whatever LNOB_DATABASE_URL / LNOB_CHROMA_URL (or .env) say,
    # so the samples never mix with real contributions.
    overrides = {k: v for k, v in ctx.obj["overrides"].items() if v is not None}
    run_demo(Settings(**{**overrides, "data_dir": demo_dir, "database_url": None, "chroma_url": None}), as_json=as_json)


# -- bot -------------------------------------------------------------------------------


@cli.command()
@click.pass_context
def bot(ctx):
    """Run the Telegram bot with long polling (needs TELEGRAM_BOT_TOKEN)."""
    from bot.app import run_bot

    settings = settings_of(ctx)
    open_evidence(settings)
    run_bot(settings)


from cli.erase import register as _register_erase  # noqa: E402
from cli.reports import register as _register_reports  # noqa: E402
from cli.staff import register as _register_staff  # noqa: E402
from cli.themes import register as _register_themes  # noqa: E402

_register_themes(cli, settings_of, open_evidence)
_register_staff(cli, settings_of, open_evidence)
_register_reports(cli, settings_of, open_evidence)
_register_erase(cli, settings_of, open_evidence)


def main() -> None:
    """Entry point of the ``lnob`` console script."""
    from corpus.files import use_private_umask

    use_private_umask()  # every file this process or its libraries (Chroma) create is private: see corpus.files
    cli(prog_name="lnob")


if __name__ == "__main__":
    main()
