"""``lnob analyse``, ``themes``, ``theme``, ``quotes`` and ``evaluate``: the themes side of the CLI."""

from __future__ import annotations

from pathlib import Path

import click

from cli.output import emit_json, table


def register(cli: click.Group, settings_of, open_evidence) -> None:
    """Add the theme commands to the ``lnob`` group."""

    @cli.command()
    @click.option("--seed", "seed", default=0, show_default=True, type=int, help="random_state of the theme model.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def analyse(ctx, seed: int, as_json: bool):
        """Embed the backlog, re-cluster into themes, label them and map them onto drivers."""
        from analysis.analyse import Analysis

        evidence = open_evidence(settings_of(ctx))
        report = Analysis(evidence, random_state=seed).run(None if as_json else _stage)
        if as_json:
            emit_json(report.to_dict())
            return
        click.echo(
            f"{report.themes} themes over {report.testimonies} testimonies "
            f"(coverage {report.coverage:.0%}, {report.unthemed} unthemed) in {report.seconds:.1f} s"
        )
        click.echo(describe_changes(report.changes))
        agreement = report.driver_agreement
        if agreement.get("n"):
            click.echo(f"driver agreement with contributors' own choice: {agreement['rate']:.0%} of {agreement['n']}")

    @cli.command()
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def themes(ctx, as_json: bool):
        """List the themes: label, size, contributors, primary driver, keywords, change."""
        from analysis.explore import list_themes, unthemed_count

        evidence = open_evidence(settings_of(ctx))
        rows = list_themes(evidence)
        if as_json:
            emit_json({"themes": rows, "unthemed": unthemed_count(evidence)})
            return
        if not rows:
            click.echo("no themes yet: run `lnob analyse`")
            return
        click.echo(
            table(
                [
                    (r["id"], r["label"], r["size"], r["contributors"], _drivers(r), ", ".join(r["keywords"][:4]), r["change"])
                    for r in rows
                ],
                ["id", "label", "size", "people", "drivers", "keywords", "change"],
            )
        )

    @cli.command()
    @click.argument("theme_id", type=int)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def theme(ctx, theme_id: int, as_json: bool):
        """One theme: keywords, drivers, breakdowns, months and representative quotes."""
        from analysis.explore import theme_detail

        evidence = open_evidence(settings_of(ctx))
        detail = theme_detail(evidence, theme_id)
        if as_json:
            emit_json(detail)
            return
        summary = detail["summary"]
        click.secho(f"theme {detail['id']}: {detail['label']}", bold=True)
        click.echo(f"size {summary['size']} ({summary['testimonies']} testimonies, {summary['proposals']} proposals) "
                   f"from {summary['contributors']} contributors")
        click.echo(f"drivers   {_drivers(detail)}  scores {detail['driver_scores']}")
        click.echo(f"keywords  {', '.join(k for k, _ in detail['keywords'][:10])}")
        for key in ("by_country", "by_organisation", "by_gender", "by_age_band", "by_group", "by_month"):
            click.echo(f"{key[3:]:12} {', '.join(f'{k} {v}' for k, v in summary[key].items()) or '-'}")
        for quote in detail["quotes"]:
            click.echo(f"  “{quote['text']}” ({quote['country']}, {quote['kind']}, {quote['date']}, {quote['id'][:8]})")

    @cli.command()
    @click.argument("theme_id", type=int)
    @click.option("--n", "n", default=5, show_default=True, type=click.IntRange(1, 100))
    @click.option("--country")
    @click.option("--balance", "balance_by", type=click.Choice(["country", "organisation", "gender", "age_band", "group", "language", "kind"]))
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def quotes(ctx, theme_id: int, n: int, country, balance_by, as_json: bool):
        """Representative, diverse, consented and redacted quotes of a theme, with provenance."""
        from analysis.explore import theme_quotes

        evidence = open_evidence(settings_of(ctx))
        found = theme_quotes(evidence, theme_id, n=n, country=country, balance_by=balance_by)
        if as_json:
            emit_json({"theme": theme_id, "quotes": [q.to_dict() for q in found]})
            return
        if not found:
            click.echo("no quotable testimonies in this theme (only those with quote consent are shown)")
        for q in found:
            click.echo(f"“{q.text}”\n    {q.id}  {q.date}  {q.country}  {q.organisation}  {q.kind}  {q.language}  "
                       f"drivers: {', '.join(q.drivers)}")

    @cli.group()
    def evaluate():
        """Measure themes and search against labelled data (in a temporary store)."""

    @evaluate.command("clusters")
    @click.argument("file", type=click.Path(path_type=Path))
    @click.option("--text-col", required=True)
    @click.option("--label-col", required=True)
    @click.option("--seed", default=0, show_default=True, type=int)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def evaluate_clusters_cmd(ctx, file: Path, text_col: str, label_col: str, seed: int, as_json: bool):
        """Cluster FILE's texts and compare the themes with LABEL_COL (NMI, ARI, coverage...)."""
        from analysis.evaluation import evaluate_clusters

        result = evaluate_clusters(settings_of(ctx), file, text_col, label_col, random_state=seed, step=_stage)
        if as_json:
            emit_json(result)
        else:
            for key, value in result.items():
                click.echo(f"{key:14} {value}")

    @evaluate.command("retrieval")
    @click.argument("file", type=click.Path(path_type=Path))
    @click.option("--text-col", required=True)
    @click.option("--label-cols", required=True, help="Comma-separated 0/1 columns that queries name as labels.")
    @click.option("--queries", "queries_path", required=True, type=click.Path(path_type=Path))
    @click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))
    @click.option("--mode", default="hybrid", show_default=True, type=click.Choice(["hybrid", "semantic", "lexical"]))
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def evaluate_retrieval_cmd(ctx, file: Path, text_col: str, label_cols: str, queries_path: Path, k: int, mode: str, as_json: bool):
        """Precision@k and nDCG@k of search on FILE for the queries in Q.csv (columns query,label)."""
        from analysis.evaluation import evaluate_retrieval

        labels = [c.strip() for c in label_cols.split(",") if c.strip()]
        result = evaluate_retrieval(settings_of(ctx), file, text_col, labels, queries_path, k=k, mode=mode, step=_stage)
        if as_json:
            emit_json(result)
            return
        for q in result["per_query"]:
            click.echo(f"P@{k} {q['precision_at_k']:.2f}  nDCG {q['ndcg_at_k']:.2f}  [{q['label']}] {q['query']}")
        for name, scores in result["modes"].items():
            click.echo(f"{name:9} mean P@{k} {scores['precision_at_k']:.3f}  nDCG@{k} {scores['ndcg_at_k']:.3f}")


def _stage(name: str) -> None:
    click.echo(f"… {name}", err=True)


def _drivers(row: dict) -> str:
    primary = row.get("primary_driver") or "-"
    others = row.get("intersecting_drivers") or []
    return primary + (f" (+{', '.join(others)})" if others else "")


def describe_changes(changes: dict) -> str:
    """One line on what an analysis changed."""
    parts = [
        f"{len(changes.get('persisted', []))} kept",
        f"{len(changes.get('new', []))} new",
        f"{len(changes.get('merged', []))} merged",
        f"{len(changes.get('split', []))} split",
        f"{len(changes.get('gone', []))} gone",
    ]
    return "themes: " + ", ".join(parts)
