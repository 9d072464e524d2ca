"""The evidence base's own commands: ``db``, ``org``, ``import``, ``reindex``, ``doctor`` and ``stats``.

Each is a top-level click command that ``cli.main`` adds to the ``lnob``
group. Like every command module, this one imports only what is light at
start-up; SQLAlchemy, the embedding model, the index and the bot are imported
by the command that needs them, so that ``lnob --help`` or a mistyped option
answers at once::

    lnob db upgrade
    lnob org add "Plan International Nepal" --code plan-np
    lnob import plan.csv --org plan-np --country-col country --id-col id
    lnob doctor --json
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from corpus.vocabulary import CONSENT_LEVELS, ConsentLevel

from cli.context import open_evidence, require_evidence_base, settings_of
from cli.output import Progress, breakdown, check_format, emit_csv, emit_json, progress_shown, table


# -- db ------------------------------------------------------------------------------


@click.group()
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


@click.group()
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


@click.command("import")
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
@click.option("--consent", type=click.Choice(CONSENT_LEVELS), default=ConsentLevel.aggregate.value, show_default=True)
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
    from analysis.ingest import run_import
    from corpus.importer import SOURCE_PREFIX, ImportSpec

    columns["consent"] = ConsentLevel(columns["consent"])
    evidence = open_evidence(settings_of(ctx))
    progress = Progress(progress_shown(as_json))
    progress.stage(f"reading {file.name}")
    report = run_import(evidence, file, ImportSpec(**columns), show_progress=progress.shown, bars=progress.bar)
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


# -- index -----------------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def reindex(ctx, as_json: bool):
    """Rebuild the vector index from the database (cached embeddings are reused)."""
    evidence = open_evidence(settings_of(ctx))
    total = evidence.store.count_testimonies()
    with Progress(progress_shown(as_json)).bar(total, "reindexing") as bar:
        report = evidence.reindex(progress=bar.update)
    payload = {"testimonies": total, "indexed": report.indexed, "failed": report.failed, "errors": report.errors[:5]}
    if as_json:
        emit_json(payload)
    else:
        click.echo(f"indexed {report.indexed} of {total} testimonies ({report.failed} failed, left pending)")
    if report.failed:
        sys.exit(1)


@click.command()
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


STATS_COLUMNS = ("field", "value", "count")  # `lnob stats --csv`: one row per total and per breakdown cell


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True,
              help="A CSV table: field (a --json key), value (a breakdown's key; empty for a total) and count.")
@click.pass_context
def stats(ctx, as_json: bool, as_csv: bool):
    """Counts of testimonies, contributors and organisations (breakdowns under the small-cell rule)."""
    check_format(as_json, as_csv)
    from analysis.gaps import stats_shown

    evidence = open_evidence(settings_of(ctx))
    payload = stats_shown(evidence.store.stats(), evidence.settings.small_cell)
    if as_json:
        emit_json(payload)
        return
    if as_csv:
        emit_csv(stats_rows(payload), STATS_COLUMNS)
        return
    click.echo(f"testimonies   {payload['testimonies']} ({breakdown(payload['by_kind'])})")
    click.echo(f"contributors  {payload['contributors']}")
    click.echo(f"organisations {payload['organisations']}")
    for key in ("by_country", "by_language", "by_organisation", "by_consent"):
        click.echo(f"{key[3:]:13} {breakdown(payload[key])}")
    click.echo(f"{'index_status':13} {breakdown(dict(sorted(payload['by_index_status'].items(), key=lambda kv: -kv[1])))}")


def stats_rows(payload: dict) -> list[dict]:
    """``lnob stats --json``'s object as rows: a total is ``(field, "", count)``, each breakdown cell
    ``(field, key, count)``, every count as the JSON shows it."""
    rows = []
    for field, value in payload.items():
        if isinstance(value, dict):
            rows += [{"field": field, "value": key, "count": count} for key, count in value.items()]
        else:
            rows.append({"field": field, "value": "", "count": value})
    return rows
