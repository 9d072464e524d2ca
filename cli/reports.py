"""``lnob report``, ``export theme``, ``export search``, ``exports list`` and ``explore``: files for report writers.

Every file is written under the data dir's ``exports/`` folder and registered,
so that erasure reaches it::

    lnob report --country NP --format docx
    lnob report --country KE --format docx --language sw --template ~/brand.docx
    lnob report --global --format html --json
    lnob export theme 12 --format csv
    lnob export search "no clinic nearby" --country KE --format md --min-relevance 60
    lnob exports list --csv
    lnob explore --json
"""

from __future__ import annotations

from pathlib import Path

import click

from corpus.vocabulary import EXPORT_FORMATS, REPORT_FORMATS

from analysis.texts import LANGUAGES

from cli.context import open_evidence, settings_of
from cli.output import Progress, aggregate_only_note, check_format, emit_csv, emit_json, fail, progress_shown, table
from cli.search import given_filters, result_rows, search_filters
from cli.themes import aggregate_only_in_theme

MIN_RELEVANCE = 50  # `export search`'s default cut-off: the "medium" band and up (cli.search.BANDS)
EXPORT_COLUMNS = ("id", "created_at", "kind", "format", "title", "created_by", "quotes", "status", "replaced_by",
                  "path", "on_disk", "params")


@click.command()
@click.option("--country", help="ISO country code, e.g. NP.")
@click.option("--global", "global_report", is_flag=True, help="The global report across every country.")
@click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default="md", show_default=True)
@click.option("--quotes", "n_quotes", type=click.IntRange(0, 20), default=3, show_default=True,
              help="Quotes per theme (testimonies, and proposals).")
@click.option("--language", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="The language of the report's headings and fixed texts (quotes stay in their own).")
@click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A .docx whose styles, page set-up, header and footer the report takes (with --format docx).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def report(ctx, country: str | None, global_report: bool, fmt: str, n_quotes: int, language: str,
           template: Path | None, as_json: bool):
    """Write a country or global report: key findings, proposals, drivers, themes, quotes, charts, gaps and an
    annex on method and data protection.

    A country with no contributions is an error that names the countries that have data.
    """
    from analysis.reports import generate_report

    if bool(country) == global_report:
        fail("give either --country CODE or --global")
    if template is not None and fmt != "docx":
        fail("--template is for DOCX reports: add --format docx")
    progress = Progress(progress_shown(as_json), stages=2)
    progress.stage("reading the evidence base")
    evidence = open_evidence(settings_of(ctx))
    progress.stage(f"writing the {'global' if global_report else country.upper()} report ({fmt}): "
                   "drivers, themes, quotes, charts, gaps")
    result = generate_report(evidence, None if global_report else country, fmt, n_quotes=n_quotes,
                             language=language, template=template)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(str(result.path))


@click.group()
def export():
    """Export consented, redacted quotes with their provenance (CSV, Markdown or DOCX)."""


@export.command("theme")
@click.argument("theme_id", type=int)
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True)
@click.option("--n", "n", type=click.IntRange(1, 1000), default=50, show_default=True, help="Most quotes to export.")
@click.option("--country")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def export_theme(ctx, theme_id: int, fmt: str, n: int, country: str | None, as_json: bool):
    """Export a theme's representative quotes (most central and diverse first)."""
    from analysis.explore import theme_quotes
    from analysis.reports import hidden_quotes, pinned_quotes, write_quotes

    evidence = open_evidence(settings_of(ctx))
    theme = evidence.themes.theme(theme_id)
    quotes = theme_quotes(evidence, theme_id, n=n, country=country, hidden=hidden_quotes(evidence),
                          pinned=pinned_quotes(evidence, theme_id))
    if not quotes:
        _nothing_written(aggregate_only_in_theme(evidence, theme_id, country), as_json)
        return
    title = f"Theme {theme_id}: {theme.label}" + (f" ({country.upper()})" if country else "")
    params = {"theme_id": theme_id, "n": n, "country": country.upper() if country else None}
    path, row = write_quotes(evidence, quotes, fmt, title=title, kind="theme-quotes", params=params)
    _done(path, row, as_json)


@export.command("search")
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True)
@search_filters
@click.option("--min-relevance", default=MIN_RELEVANCE, show_default=True, type=click.IntRange(0, 100),
              help="Export only results this relevant (0-100, as `lnob search` shows it; 50: found both by words "
                   "and by meaning, or first by one).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 500), help="Most quotes to export.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def export_search(ctx, query: str, fmt: str, min_relevance: int, limit: int, as_json: bool, **filters):
    """Export the quotes a search finds above a relevance cut-off (hybrid search, the filters of `lnob search`).

    Relevance is the one `lnob search` shows (see `lnob search --help`); the output says how many results
    were found and how many of them are kept.
    """
    from analysis.reports import write_quotes
    from analysis.search import Searcher, aggregate_only, checked_filter

    if not query.strip():
        fail('the query is empty: give a few words, e.g. lnob export search "no clinic nearby"')
    evidence = open_evidence(settings_of(ctx))
    where = checked_filter(evidence, **filters)
    searcher = Searcher(evidence)
    results = searcher.search(query, limit, where)
    rows = result_rows(results, "hybrid", searcher)
    kept = [result for result, row in zip(results, rows) if row["relevance"] >= min_relevance]
    matched = {"found": len(results), "matched": len(kept), "min_relevance": min_relevance}
    if not results:
        _nothing_written(aggregate_only(searcher, where, evidence.settings.small_cell), as_json, matched)
        return
    summary = (f"{len(kept)} of {len(results)} results found have relevance {min_relevance} or more "
               "(--min-relevance)")
    if not kept:
        best = max(row["relevance"] for row in rows)
        _nothing_written(None, as_json, matched, f"{summary}: nothing written (the best has {best})")
        return
    given = given_filters(where)
    title = f"Search: {query}" + "".join(f" {k}:{v}" for k, v in given.items())
    path, row = write_quotes(evidence, kept, fmt, title=title, kind="search",
                             params={"query": query, "limit": limit, "min_relevance": min_relevance, **given})
    if not as_json:
        click.echo(summary)
    _done(path, row, as_json, matched)


@click.group()
def exports():
    """The files written for staff, and what each one quotes."""


@exports.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also the files removed after an erasure.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True, help=f"A CSV table, one row per file: {', '.join(EXPORT_COLUMNS)}.")
@click.pass_context
def exports_list(ctx, show_all: bool, as_json: bool, as_csv: bool):
    """List exports and reports: id, time, kind, format, author, quotes, status and path."""
    check_format(as_json, as_csv)
    from analysis.reports import registry_of

    evidence = open_evidence(settings_of(ctx))
    registry = registry_of(evidence)
    rows = [
        {
            "id": e.id,
            "created_at": e.created_at,
            "kind": e.kind,
            "format": e.format,
            "title": e.title,
            "created_by": e.created_by,
            "quotes": len(e.testimony_ids or []),
            "status": e.status,
            "replaced_by": e.replaced_by,
            "path": str(registry.absolute(e)),
            "on_disk": registry.absolute(e).exists(),
            "params": e.params,
        }
        for e in registry.list(status=None if show_all else "present")
    ]
    if as_json:
        emit_json({"exports": rows})
        return
    if as_csv:
        emit_csv(rows, EXPORT_COLUMNS)
        return
    if not rows:
        click.echo("no exports yet: try `lnob report --global` or `lnob export theme ID`")
        return
    click.echo(table(
        [(r["id"], r["created_at"].strftime("%Y-%m-%d %H:%M"), r["kind"], r["format"], r["created_by"], r["quotes"],
          r["status"] if r["on_disk"] or r["status"] != "present" else "missing", r["path"]) for r in rows],
        ["id", "created", "kind", "format", "by", "quotes", "status", "path"],
    ))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object: path, id, points.")
@click.pass_context
def explore(ctx, as_json: bool):
    """Write the offline theme explorer: one HTML file with a map of the quotable voices, by theme or driver.

    It opens in any browser without a network or a server. It holds only quotes their authors allowed,
    redacted, and theme sizes under the small-cell rule; it is written under the data dir and registered
    like every export, so an erasure or a consent change rebuilds it (a copy made elsewhere is yours to
    keep safe: no erasure can reach it).
    """
    from analysis.reports.explorer import write_explorer
    from analysis.reports.plotlyjs import FULL as FULL_PLOTLY_JS

    evidence = open_evidence(settings_of(ctx))
    if evidence.themes.last_run() is None:
        fail("this evidence base has not been analysed yet: run `lnob analyse` first, then `lnob explore`")
    path, export = write_explorer(evidence, created_by="cli")
    payload = {"path": str(path), "id": export.id, "points": len(export.testimony_ids or [])}
    if (export.params or {}).get("plotly_js") == FULL_PLOTLY_JS:
        click.echo("the explorer holds plotly's full bundle (4.8 MB), so it opens more slowly: `make install` "
                   "fetches the 1.2 MB one it needs (with npm)", err=True)
    if as_json:
        emit_json(payload)
        return
    click.echo(f"theme explorer with {payload['points']} quotable contributions: open it in a browser")
    click.echo(payload["path"])


def _nothing_written(aggregate_only: str | None, as_json: bool, extra: dict | None = None,
                     message: str = "no quotes found: nothing written") -> None:
    """No quote to export: say why (with how many contributions may not be quoted) and write no file."""
    if aggregate_only:
        message = f"{aggregate_only_note(aggregate_only)}: nothing written"
    if as_json:
        emit_json({"path": None, "export_id": None, "quotes": 0, "aggregate_only": aggregate_only, **(extra or {})})
    else:
        click.echo(message)


def _done(path, row, as_json: bool, extra: dict | None = None) -> None:
    if as_json:
        emit_json({"path": str(path), "export_id": row.id, "quotes": len(row.testimony_ids or []), **(extra or {})})
    else:
        click.echo(str(path))
