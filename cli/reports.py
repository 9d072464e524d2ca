"""``lnob report``, ``export theme``, ``export search`` and ``exports list``: files for report writers.

Every file is written under the data dir's ``exports/`` folder and registered,
so that erasure reaches it::

    lnob report --country NP --format docx
    lnob report --global --format html --json
    lnob export theme 12 --format csv
    lnob export search "no clinic nearby" --country KE --format md
    lnob exports list --json
"""

from __future__ import annotations

import click

from cli.output import emit_json, fail, table


def register(cli: click.Group, settings_of, open_evidence) -> None:
    """Add the report and export commands to the ``lnob`` group."""

    @cli.command()
    @click.option("--country", help="ISO country code, e.g. NP.")
    @click.option("--global", "global_report", is_flag=True, help="The global report across every country.")
    @click.option("--format", "fmt", type=click.Choice(["docx", "md", "html"]), default="md", show_default=True)
    @click.option("--quotes", "n_quotes", type=click.IntRange(0, 20), default=3, show_default=True, help="Quotes per theme.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def report(ctx, country: str | None, global_report: bool, fmt: str, n_quotes: int, as_json: bool):
        """Write a country or global report: drivers, themes, quotes, charts, gaps and a method note."""
        from analysis.reports import generate_report

        if bool(country) == global_report:
            fail("give either --country CODE or --global")
        evidence = open_evidence(settings_of(ctx))
        result = generate_report(evidence, None if global_report else country, fmt, n_quotes=n_quotes)
        if as_json:
            emit_json(result.to_dict())
        else:
            click.echo(str(result.path))

    @cli.group()
    def export():
        """Export consented, redacted quotes with their provenance (CSV, Markdown or DOCX)."""

    @export.command("theme")
    @click.argument("theme_id", type=int)
    @click.option("--format", "fmt", type=click.Choice(["csv", "md", "docx"]), default="csv", show_default=True)
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
        title = f"Theme {theme_id}: {theme.label}" + (f" ({country.upper()})" if country else "")
        params = {"theme_id": theme_id, "n": n, "country": country.upper() if country else None}
        path, row = write_quotes(evidence, quotes, fmt, title=title, kind="theme-quotes", params=params)
        _done(path, row, as_json)

    @export.command("search")
    @click.argument("query")
    @click.option("--format", "fmt", type=click.Choice(["csv", "md", "docx"]), default="csv", show_default=True)
    @click.option("--country")
    @click.option("--kind", type=click.Choice(["testimony", "proposal"]))
    @click.option("--org", "organisation")
    @click.option("--language")
    @click.option("--driver", help="A driver key of the codebook, e.g. geography.")
    @click.option("--theme", "theme", type=int)
    @click.option("--group")
    @click.option("--since", metavar="DATE", help="From this day, or the first day of this month or year.")
    @click.option("--until", metavar="DATE", help="To this day, or the last day of this month or year.")
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def export_search(ctx, query: str, fmt: str, limit: int, as_json: bool, **filters):
        """Export the quotes a search finds (hybrid search, with the same filters as `lnob search`)."""
        from analysis.reports import write_quotes
        from analysis.search import Searcher, checked_filter

        if not query.strip():
            fail('the query is empty: give a few words, e.g. lnob export search "no clinic nearby"')
        evidence = open_evidence(settings_of(ctx))
        where = checked_filter(evidence, **filters)
        results = Searcher(evidence).search(query, limit, where)
        given = {k: (v.date().isoformat() if hasattr(v, "date") else v) for k, v in vars(where).items() if v is not None}
        title = f"Search: {query}" + "".join(f" {k}:{v}" for k, v in given.items())
        path, row = write_quotes(evidence, results, fmt, title=title, kind="search",
                                 params={"query": query, "limit": limit, **given})
        _done(path, row, as_json)

    @cli.group()
    def exports():
        """The files written for staff, and what each one quotes."""

    @exports.command("list")
    @click.option("--all", "show_all", is_flag=True, help="Also the files removed after an erasure.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def exports_list(ctx, show_all: bool, as_json: bool):
        """List exports and reports: id, time, kind, format, author, quotes, status and path."""
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
        if not rows:
            click.echo("no exports yet: try `lnob report --global` or `lnob export theme ID`")
            return
        click.echo(table(
            [(r["id"], r["created_at"].strftime("%Y-%m-%d %H:%M"), r["kind"], r["format"], r["created_by"], r["quotes"],
              r["status"] if r["on_disk"] or r["status"] != "present" else "missing", r["path"]) for r in rows],
            ["id", "created", "kind", "format", "by", "quotes", "status", "path"],
        ))


def _done(path, row, as_json: bool) -> None:
    if as_json:
        emit_json({"path": str(path), "export_id": row.id, "quotes": len(row.testimony_ids or [])})
    else:
        click.echo(str(path))
