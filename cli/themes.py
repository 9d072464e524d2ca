"""``lnob analyse``, ``themes``, ``theme``, ``quotes`` and ``evaluate``: the themes side of the CLI::

    lnob analyse
    lnob themes --csv > themes.csv      # a topic table: size, people, drivers, keywords, languages, change
    lnob theme 12 --json
    lnob quotes 12 --n 10 --balance country --csv
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from corpus.vocabulary import BALANCE_CHOICES, SEARCH_MODES

from cli.context import open_evidence, settings_of
from cli.output import (Progress, aggregate_only_note, breakdown, check_format, emit_csv, emit_json, progress_shown,
                        table)

if TYPE_CHECKING:
    from analysis.languages import CorpusLanguages, ThemeLanguages

LANGUAGES_SHOWN = 4  # languages per theme in a table row; the rest as "and N more"
# the columns of `--csv`: JSON keys, every count as the JSON shows it ("12", "<5", "≥5")
THEME_COLUMNS = ("id", "label", "size", "contributors", "primary_driver", "intersecting_drivers", "subdriver",
                 "keywords", "languages", "single_language", "change")
DETAIL_COLUMNS = ("id", "label", "status", "size", "contributors", "testimonies", "proposals", "quotable",
                  "primary_driver", "intersecting_drivers", "subdriver", "keywords", "by_country", "by_organisation",
                  "by_gender", "by_age_band", "by_group", "by_month", "languages", "single_language", "change")
QUOTE_COLUMNS = ("id", "text", "date", "country", "region", "organisation", "kind", "language", "drivers", "theme_id",
                 "score", "pinned")


@click.command()
@click.option("--seed", "seed", default=0, show_default=True, type=int, help="random_state of the theme model.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def analyse(ctx, seed: int, as_json: bool):
    """Embed the backlog, re-cluster into themes, label them and map them onto drivers."""
    from analysis.analyse import STAGES, Analysis
    from analysis.explore import list_themes, theme_languages

    evidence = open_evidence(settings_of(ctx))
    with Progress(progress_shown(as_json)).steps(STAGES, "analysing") as step:
        report = Analysis(evidence, random_state=seed).run(step)
    languages = theme_languages(evidence)
    if as_json:
        emit_json({**report.to_dict(), "languages": languages.to_dict()})
        return
    click.echo(
        f"{report.themes} themes over {report.testimonies} testimonies "
        f"(coverage {report.coverage:.0%}, {report.unthemed} unthemed) in {report.seconds:.1f} s"
    )
    click.echo(describe_changes(report.changes))
    agreement = report.driver_agreement
    if agreement.get("n"):
        click.echo(f"driver agreement with contributors' own choice: {agreement['rate']:.0%} of {agreement['n']}")
        by_language = report.driver_agreement_by_language
        if len(by_language) > 1:
            click.echo("  by language: " + ", ".join(
                f"{code} {result['rate']:.0%} of {result['n']}" for code, result in by_language.items()))
    small = languages.rule.small_cell
    click.echo(f"languages: {languages.corpus.shown(small)}")
    rows = list_themes(evidence)
    if rows:
        click.echo(table([(r["id"], r["label"], languages.of(r["id"]).mix.shown(small, limit=LANGUAGES_SHOWN),
                           _flag_mark(languages.of(r["id"]))) for r in rows],
                         ["id", "label", "languages", "one language"]))
    _echo_flags(languages, {r["id"]: r["label"] for r in rows})


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True,
              help=f"A CSV table, one row per theme: {', '.join(THEME_COLUMNS)} (lists joined with '; ').")
@click.pass_context
def themes(ctx, as_json: bool, as_csv: bool):
    """List the themes: label, size, contributors, primary driver, keywords, languages, change."""
    check_format(as_json, as_csv)
    from analysis.explore import shown_themes, theme_languages, unthemed_count

    evidence = open_evidence(settings_of(ctx))
    rows = shown_themes(evidence)  # sizes and contributors under the small-cell rule
    languages = theme_languages(evidence) if rows else None
    small = evidence.settings.small_cell
    for row in rows:
        row.update(languages.of(row["id"]).to_dict(small))
    if as_json:
        emit_json({"themes": rows, "unthemed": unthemed_count(evidence)})
        return
    if as_csv:
        emit_csv([_csv_row(r) for r in rows], THEME_COLUMNS)
        return
    if not rows:
        click.echo("no themes yet: run `lnob analyse`")
        return
    click.echo(
        table(
            [
                (r["id"], r["label"], r["size"], r["contributors"], _drivers(r), ", ".join(r["keywords"][:4]),
                 languages.of(r["id"]).mix.shown(small, limit=LANGUAGES_SHOWN), _flag_mark(languages.of(r["id"])),
                 r["change"])
                for r in rows
            ],
            ["id", "label", "size", "people", "drivers", "keywords", "languages", "one language", "change"],
        )
    )
    _echo_flags(languages, {r["id"]: r["label"] for r in rows})


@click.command()
@click.argument("theme_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True,
              help="The theme as one CSV row: counts, drivers, keywords and each breakdown "
                   "(its quotes: `lnob quotes ID --csv`).")
@click.pass_context
def theme(ctx, theme_id: int, as_json: bool, as_csv: bool):
    """One theme: keywords, drivers, breakdowns, languages, months and representative quotes."""
    check_format(as_json, as_csv)
    from analysis.explore import theme_detail, theme_languages
    from analysis.languages import language_label

    evidence = open_evidence(settings_of(ctx))
    detail = theme_detail(evidence, theme_id)
    small = evidence.settings.small_cell
    languages = theme_languages(evidence).of(theme_id)
    detail.update(languages.to_dict(small))
    if as_json:
        emit_json(detail)
        return
    summary = detail["summary"]
    if as_csv:  # the summary's counts and breakdowns beside the theme's own fields, keywords without scores
        row = detail | {k: v for k, v in summary.items() if k not in detail}
        row["keywords"] = [k for k, _ in detail["keywords"]]
        emit_csv([_csv_row(row)], DETAIL_COLUMNS)
        return
    click.secho(f"theme {detail['id']}: {detail['label']}", bold=True)
    click.echo(f"size {summary['size']} ({summary['testimonies']} testimonies, {summary['proposals']} proposals) "
               f"from {summary['contributors']} contributors")
    click.echo(f"drivers   {_drivers(detail)}  scores {detail['driver_scores']}")
    click.echo(f"keywords  {', '.join(k for k, _ in detail['keywords'][:10])}")
    if len(detail["keywords_by_language"]) > 1:  # a theme that spans languages: its words in each
        for code, words in detail["keywords_by_language"].items():
            click.echo(f"  {code:8}{', '.join(k for k, _ in words[:8])}")
    for key in ("by_country", "by_organisation", "by_gender", "by_age_band", "by_group", "by_month"):
        click.echo(f"{key[3:]:12} {breakdown(summary[key])}")
    click.echo(f"{'languages':12} {languages.mix.shown(small)}")
    if languages.flag is not None:
        click.echo(f"{'':12} essentially one language: {languages.flag.reason}")
    for quote in detail["quotes"]:
        click.echo(f"  “{quote['text']}” ({quote['country']}, {language_label(quote['language'])}, {quote['kind']}, "
                   f"{quote['date']}, {quote['id'][:8]})")
    if not detail["quotes"] and summary["quotable"] == "0":
        click.echo(f"{'quotes':12} none may be quoted: their authors allowed aggregate use only")


@click.command()
@click.argument("theme_id", type=int)
@click.option("--n", "n", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--country")
@click.option("--balance", "balance_by", type=click.Choice(BALANCE_CHOICES),
              help="Take quotes in turn by this field; default: by language when the theme spans languages.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True, help=f"A CSV table, one row per quote: {', '.join(QUOTE_COLUMNS)}.")
@click.pass_context
def quotes(ctx, theme_id: int, n: int, country, balance_by, as_json: bool, as_csv: bool):
    """Representative, diverse, consented and redacted quotes of a theme, with provenance."""
    check_format(as_json, as_csv)
    from analysis.explore import theme_quotes
    from analysis.languages import language_label

    evidence = open_evidence(settings_of(ctx))
    found = theme_quotes(evidence, theme_id, n=n, country=country, balance_by=balance_by)
    withheld = None if found else aggregate_only_in_theme(evidence, theme_id, country)
    if as_json:
        emit_json({"theme": theme_id, "quotes": [q.to_dict() for q in found], "aggregate_only": withheld})
        return
    if as_csv:
        emit_csv([q.to_dict() for q in found], QUOTE_COLUMNS)
        return
    if withheld:
        click.echo(aggregate_only_note(withheld))
    elif not found:
        click.echo("no quotable testimonies in this theme (only those with quote consent are shown)")
    for q in found:
        click.echo(f"“{q.text}”\n    {q.id}  {q.date}  {q.country}  {q.organisation}  {q.kind}  "
                   f"{language_label(q.language)}  drivers: {', '.join(q.drivers)}")


@click.group()
def evaluate():
    """Measure themes and search against labelled data (in a temporary store)."""


@evaluate.command("clusters")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--text-col", required=True)
@click.option("--label-col", required=True)
@click.option("--language-col", help="Column with each text's language: how strongly the themes follow it.")
@click.option("--id-col", help="Column with each row's id, written to --assignments.")
@click.option("--assignments", "assignments_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write each row's theme to this CSV (row, id, theme, label, language; never the text).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def evaluate_clusters_cmd(ctx, file: Path, text_col: str, label_col: str, language_col: str | None,
                          id_col: str | None, assignments_path: Path | None, seed: int, as_json: bool):
    """Cluster FILE's texts and compare the themes with LABEL_COL (NMI, ARI, coverage...)."""
    from analysis.evaluation import evaluate_clusters

    result = evaluate_clusters(settings_of(ctx), file, text_col, label_col, language_col=language_col,
                               id_col=id_col, assignments_path=assignments_path, random_state=seed,
                               step=Progress(progress_shown(as_json)).stage)
    if as_json:
        emit_json(result)
        return
    for key, value in result.items():
        if key == "language":
            _echo_language_metrics(value)
        elif key == "assignments_csv":
            click.echo(f"{'assignments':14} {value['rows']} rows written to {value['path']}")
        else:
            click.echo(f"{key:14} {value}")


@evaluate.command("retrieval")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--text-col", required=True)
@click.option("--label-cols", required=True, help="Comma-separated 0/1 columns that queries name as labels.")
@click.option("--queries", "queries_path", required=True, type=click.Path(path_type=Path))
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--mode", default="hybrid", show_default=True, type=click.Choice(SEARCH_MODES))
@click.option("--language-col", help="Column with each text's language: P@k and nDCG@k per language of relevant texts.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def evaluate_retrieval_cmd(ctx, file: Path, text_col: str, label_cols: str, queries_path: Path, k: int, mode: str,
                           language_col: str | None, as_json: bool):
    """Precision@k and nDCG@k of search on FILE for the queries in Q.csv (columns query,label), in any language."""
    from analysis.evaluation import evaluate_retrieval

    labels = [c.strip() for c in label_cols.split(",") if c.strip()]
    result = evaluate_retrieval(settings_of(ctx), file, text_col, labels, queries_path, k=k, mode=mode,
                                language_col=language_col, step=Progress(progress_shown(as_json)).stage)
    if as_json:
        emit_json(result)
        return
    for q in result["per_query"]:
        click.echo(f"P@{k} {q['precision_at_k']:.2f}  nDCG {q['ndcg_at_k']:.2f}  [{q['label']}] {q['query']}")
    for name, scores in result["modes"].items():
        click.echo(f"{name:9} mean P@{k} {scores['precision_at_k']:.3f}  nDCG@{k} {scores['ndcg_at_k']:.3f}")
    for language, scores in result.get("by_language", {}).items():
        click.echo(f"relevant in {language:6} P@{k} {scores['precision_at_k']:.3f}  nDCG@{k} {scores['ndcg_at_k']:.3f}  "
                   f"({scores['queries']} queries, {scores['relevant']:.1f} relevant each)")


def _echo_language_metrics(language: dict) -> None:
    """How strongly the themes follow language, for people."""
    click.echo(f"{'language':14} column {language['column']!r}: {language['texts']} texts, "
               + ", ".join(f"{k} {v}" for k, v in language["languages"].items()))
    click.echo(f"{'language nmi':14} {language['nmi']}  (0: themes ignore language, 1: each theme is one language)")
    for code, scores in language["by_language"].items():
        click.echo(f"  {code:12} {scores['texts']} texts  coverage {scores['coverage']}  nmi {scores['nmi']}  "
                   f"ari {scores['ari']}")
    flagged = language["single_language_themes"]
    click.echo(f"{'one language':14} {len(flagged)} themes")
    for entry in flagged:
        click.echo(f"  theme {entry['theme']}: {entry['reason']}")


def _flag_mark(languages: ThemeLanguages) -> str:
    """The cell of the "one language" column: the flagged language, or nothing."""
    return f"yes ({languages.flag.language})" if languages.flag is not None else ""


def _echo_flags(languages: CorpusLanguages | None, labels: dict[int, str]) -> None:
    """One line per theme flagged as essentially one language, with its reason."""
    for entry in languages.flagged if languages is not None else []:
        if entry.theme_id in labels:
            click.echo(f"theme {entry.theme_id} ({labels[entry.theme_id]}) is essentially one language: {entry.flag.reason}")


def aggregate_only_in_theme(evidence, theme_id: int, country: str | None) -> str | None:
    """How many of a theme's contributions (from ``country``) match, as ``lnob themes`` or ``lnob theme``
    shows that count ("12", "<5", "≥5"; "some" where the breakdown is withheld), when none of them may be
    quoted because their authors allowed aggregate use only; None when some may be, or none match."""
    from analysis.counting import cell_of, count_of
    from analysis.explore import theme_cells, theme_members
    from analysis.summaries import shown_summary

    records = theme_members(evidence, theme_id)
    matching = [r for r in records if r.country == country.upper()] if country else records
    if not matching or any(r.quotable for r in matching):
        return None
    small = evidence.settings.small_cell
    cell = theme_cells(evidence).themes.get(theme_id) or cell_of(count_of(records), small)
    if not country:
        return cell.label
    return shown_summary(records, cell, small)["by_country"].get(country.upper(), "some")


def _csv_row(row: dict) -> dict:
    """A theme row for ``--csv``: the flag of a theme that is essentially one language as its language."""
    flag = row.get("single_language")
    return row | {"single_language": flag["language"] if flag else None}


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
