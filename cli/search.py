"""``lnob search``: quotes found by words and meaning, in any language, with filters::

    lnob search "no clinic nearby" --country KE --kind testimony
    lnob search "bribe for a birth certificate" --mode lexical --json
    lnob search "the clinic is too far" --csv > found.csv

Each result's relevance (0-100, and a band: high, medium, low) is read from
its fused rank score (``relevance``); ``lnob export search`` keeps the results
above a relevance cut-off. When the filters leave no contribution that may be
quoted but some whose authors allowed aggregate use only, the command says
how many (``analysis.search.aggregate_only``) instead of "no quotes found".
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from corpus.vocabulary import KINDS, SEARCH_MODES

from cli.context import open_evidence, settings_of
from cli.output import aggregate_only_note, check_format, emit_csv, emit_json, fail

if TYPE_CHECKING:
    from analysis.search import SearchFilter, Searcher, SearchResult

MODE_NAMES = {"hybrid": "words and meaning", "semantic": "meaning", "lexical": "words"}
BANDS = ((75, "high"), (50, "medium"), (0, "low"))  # the lowest relevance of each band
RESULT_COLUMNS = ("relevance", "band", "id", "text", "kind", "country", "organisation", "language", "date", "drivers",
                  "theme_id", "semantic_rank", "lexical_rank")

RELEVANCE_HELP = """\b
Relevance (0-100) is a result's fused rank score as a share of the best
possible one: first both by its words and by its meaning (in --mode
semantic or lexical: first by that one). It ranks the results of one
search; it is no absolute measure.
  high    75-100  near the top by words and by meaning
  medium  50-74   found by both, or first by one
  low      0-49   found by one only, further down"""


def band(value: int) -> str:
    """``high``, ``medium`` or ``low`` (``BANDS``)."""
    return next(name for lowest, name in BANDS if value >= lowest)


def result_rows(results: list[SearchResult], mode: str, searcher: Searcher) -> list[dict]:
    """The results as JSON-ready dicts, each with its ``relevance`` and ``band``."""
    from analysis.search import relevance

    rows = []
    for result in results:
        value = relevance(result.score, mode, searcher.lexical_weight)
        rows.append(result.to_dict() | {"relevance": value, "band": band(value)})
    return rows


def given_filters(where: SearchFilter) -> dict:
    """The filters set on ``where``, dates as days (``{"country": "KE", "until": "2026-03-31"}``)."""
    return {k: (v.date().isoformat() if hasattr(v, "date") else v) for k, v in vars(where).items() if v is not None}


def header(query: str, mode: str, count: int, filters: dict) -> str:
    """``"no clinic nearby": 5 results, hybrid search (words and meaning), country KE``."""
    shown = "".join(f", {key} {value}" for key, value in filters.items())
    return f"\"{query}\": {count} result{'' if count == 1 else 's'}, {mode} search ({MODE_NAMES[mode]}){shown}"


@contextmanager
def one_search() -> Iterator[None]:
    """The process set up for one search and put back after: the query embedded on one thread, and no
    garbage collection meanwhile.

    One thread embeds a query in milliseconds; more threads, on a machine
    whose cores are busy, wait on each other (1.8 s instead of 0.03 s at load
    3.7 on 2 cores); a value of ``OMP_NUM_THREADS`` set by the operator is
    kept. A search reads a few objects per contribution and keeps them to the
    end; the collector would walk them again and again as they are made (at
    100,000 contributions, seconds). Loading the language identifier on
    another thread meanwhile was tried: it made searches no faster (the
    threads take turns at the interpreter lock).
    """
    set_here = "OMP_NUM_THREADS" not in os.environ
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        if set_here:
            os.environ.pop("OMP_NUM_THREADS", None)


def search_filters(command):
    """The filter options of ``search`` and ``export search`` (passed on as keyword arguments)."""
    options = [
        click.option("--country"),
        click.option("--kind", type=click.Choice(KINDS)),
        click.option("--org", "organisation"),
        click.option("--language"),
        click.option("--driver", help="A driver key of the codebook, e.g. geography."),
        click.option("--theme", "theme", type=int),
        click.option("--group"),
        click.option("--since", metavar="DATE", help="From this day, or the first day of this month (2026-03) or year (2026)."),
        click.option("--until", metavar="DATE", help="To this day, or the last day of this month (2026-03) or year (2026)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command(epilog=RELEVANCE_HELP)
@click.argument("query")
@search_filters
@click.option("--mode", default="hybrid", show_default=True, type=click.Choice(SEARCH_MODES))
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 200))
@click.option("--json", "as_json", is_flag=True, help="One JSON object: query, mode, count, results.")
@click.option("--csv", "as_csv", is_flag=True, help="A CSV table of the results, best first.")
@click.pass_context
def search(ctx, query: str, mode: str, limit: int, as_json: bool, as_csv: bool, **filters):
    """Search quotes by words and meaning (hybrid), with filters; each with its relevance."""
    check_format(as_json, as_csv)
    if not query.strip():
        fail("the query is empty: give a few words, e.g. lnob search \"no clinic nearby\"")
    with one_search():
        from analysis.search import Searcher, aggregate_only, checked_filter  # after the check: it loads spaCy

        evidence = open_evidence(settings_of(ctx))
        where = checked_filter(evidence, **filters)  # a bad value is an error, not "no quotes found"
        searcher = Searcher.one_shot(evidence)
        rows = result_rows(searcher.search(query, limit, where, mode=mode), mode, searcher)
        withheld = None if rows else aggregate_only(searcher, where, evidence.settings.small_cell)
    if as_json:
        emit_json({"query": query, "mode": mode, "filters": given_filters(where), "count": len(rows),
                   "results": rows, "aggregate_only": withheld})
        return
    if as_csv:
        emit_csv(rows, RESULT_COLUMNS)
        return
    click.echo(header(query, mode, len(rows), given_filters(where)))
    if not rows:
        click.echo(aggregate_only_note(withheld) if withheld else "no quotes found")
        return
    for r in rows:
        click.echo(f"{r['relevance']:>3} {r['band']:<6}  {r['id'][:8]}  {r['country'] or '--':2}  {r['kind']:9}  "
                   f"{r['text']}")
