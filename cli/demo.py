"""``lnob demo``: the synthetic sample corpus loaded into a data dir of its own.

Idempotent: a second run imports nothing new and shows the same evidence base.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from corpus.db import make_engine, upgrade
from corpus.importer import ImportSpec
from corpus.models import ConsentLevel
from corpus.settings import Settings

from cli.output import emit_json

SAMPLES = Path(__file__).resolve().parent.parent / "corpus" / "samples"
DEMO_FILE = SAMPLES / "demo_corpus.csv"
DEMO_ORGANISATIONS = {
    "actionaid": "ActionAid (demo)",
    "plan": "Plan International (demo)",
    "cbm": "CBM (demo)",
    "ifrc": "IFRC (demo)",
    "vso": "VSO (demo)",
}
DEMO_SPEC = ImportSpec(
    text_col="text",
    kind_col="kind",
    country_col="country",
    language_col="language",
    id_col="id",
    region_col="region",
    date_col="created_at",
    age_band_col="age_band",
    gender_col="gender",
    groups_col="groups",
    organisation_col="organisation",
    consent=ConsentLevel.quote,
)
DEMO_QUERIES = ("the clinic is too far away", "bribe for a birth certificate", "lost our crops in the flood")


def run_demo(settings: Settings, *, as_json: bool = False) -> dict:
    """Migrate, import, embed and index the demo corpus, then print what a newcomer needs."""
    from analysis.analyse import Analysis
    from analysis.evidence import EvidenceBase
    from analysis.explore import shown_themes, theme_quotes
    from analysis.languages import theme_languages
    from analysis.gaps import stats_shown
    from analysis.search import Searcher

    from cli.main import run_import

    started = time.perf_counter()
    upgrade(make_engine(settings.resolved_database_url))
    evidence = EvidenceBase(settings)
    for code, name in DEMO_ORGANISATIONS.items():
        evidence.store.add_organisation(code, name)
    report = run_import(evidence, DEMO_FILE, DEMO_SPEC, show_progress=not as_json)
    stats = stats_shown(evidence.store.stats(), settings.small_cell)  # breakdowns under the small-cell rule
    analysis = None
    if report["added"] or not evidence.themes.themes():
        if not as_json:
            click.echo("analysing: clustering into themes and mapping them onto the drivers…", err=True)
        analysis = Analysis(evidence, random_state=0).run().to_dict()
    languages = theme_languages(evidence)
    themes = [
        row
        | {"languages": languages.of(row["id"]).mix.shown(settings.small_cell)}
        | {"quotes": [q.to_dict() for q in theme_quotes(evidence, row["id"], n=2)]}
        for row in shown_themes(evidence)
    ]
    searcher = Searcher(evidence)
    searches = {q: [r.to_dict() for r in searcher.search(q, 2)] for q in DEMO_QUERIES}
    payload = {
        "data_dir": str(settings.resolved_data_dir),
        "import": {k: v for k, v in report.items() if k != "bad_rows"} | {"refused": len(report["bad_rows"])},
        "stats": stats,
        "doctor": evidence.doctor(),
        "analysis": analysis,
        "themes": themes,
        "searches": searches,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if as_json:
        emit_json(payload)
        return payload
    _print_demo(payload, settings)
    return payload


def _print_demo(payload: dict, settings: Settings) -> None:
    stats = payload["stats"]
    click.secho("Leave No One Behind: demo evidence base (synthetic testimonies, no real people)", bold=True)
    click.echo(f"data dir      {payload['data_dir']}")
    click.echo(
        f"imported      {payload['import']['added']} new, {payload['import']['already_imported']} already there"
    )
    click.echo(
        f"stored        {stats['testimonies']} contributions ({', '.join(f'{k} {v}' for k, v in stats['by_kind'].items())})"
        f" from {stats['contributors']} contributors, {stats['organisations']} organisations"
    )
    click.echo(f"countries     {', '.join(f'{k} {v}' for k, v in stats['by_country'].items())}")
    click.echo(f"languages     {', '.join(f'{k} {v}' for k, v in stats['by_language'].items())}")
    doctor = payload["doctor"]
    click.echo(f"index         {doctor['indexed_vectors']} vectors, {doctor['pending']} pending, ok={doctor['ok']}")
    click.secho(f"\n{len(payload['themes'])} themes (driver, size, keywords, two quotes each):", bold=True)
    for theme in payload["themes"]:
        drivers = theme["primary_driver"] + (f" + {', '.join(theme['intersecting_drivers'])}" if theme["intersecting_drivers"] else "")
        click.echo(f"\n[{theme['id']}] {theme['label']}  ({drivers}; {theme['size']} contributions)")
        # a keyword must be used by LNOB_SMALL_CELL people; a theme without one is named from the codebook
        click.echo(f"    keywords: {', '.join(theme['keywords']) or '(no word used by enough people; named by its driver)'}")
        click.echo(f"    languages: {theme['languages']}")
        for quote in theme["quotes"]:
            click.echo(f"    “{quote['text']}” ({quote['country']}, {quote['kind']}, {quote['id'][:8]})")
    for query, results in payload["searches"].items():
        click.echo(f'\nsearch "{query}":')
        for r in results:
            click.echo(f"  [{r['country']}, {r['kind']}]  {r['text']}")
    data_dir = payload["data_dir"]
    click.echo("\nExplore further (the demo has its own data dir; real data never mixes with it):")
    click.echo(f"  lnob --data-dir {data_dir} themes")
    click.echo(f"  lnob --data-dir {data_dir} theme 1")
    click.echo(f"  lnob --data-dir {data_dir} quotes 1 --n 5 --balance country")
    click.echo(f'  lnob --data-dir {data_dir} search "no school for refugee children" --country KE')
    click.echo(f"  lnob --data-dir {data_dir} report --country KE --format md")
    click.echo(f"  lnob --data-dir {data_dir} stats --json")
    click.echo(f"  lnob --data-dir {data_dir} doctor")
    click.echo(f"\ndone in {payload['seconds']} s")
