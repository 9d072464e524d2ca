"""``lnob demo``: the synthetic sample corpus loaded into a data dir of its own.

Idempotent: a second run imports nothing new and shows the same evidence base.
The corpus, its organisations and how its columns are read are
``analysis.ingest``'s ``DEMO_*``. At a terminal it shows its four stages and
progress bars on stderr (``cli.output.Progress``); it ends with commands to
explore further, written so that they run as printed from where the demo ran
(``explore_commands``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import click

from corpus.settings import Settings

from cli.output import Progress, emit_json, progress_shown

DEMO_QUERIES = ("the clinic is too far away", "bribe for a birth certificate", "lost our crops in the flood")


@click.command()
@click.option("--data-dir", "demo_dir", type=click.Path(path_type=Path), default=Path("./demo-data"), show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def demo(ctx, demo_dir: Path, as_json: bool):
    """Load the synthetic demo corpus into its own data dir and show it working."""
    # Its own SQLite file and embedded index, whatever LNOB_DATABASE_URL / LNOB_CHROMA_URL (or .env) say,
    # so the samples never mix with real contributions.
    overrides = {k: v for k, v in ctx.obj["overrides"].items() if v is not None}
    settings = Settings(**{**overrides, "data_dir": demo_dir, "database_url": None, "chroma_url": None})
    run_demo(settings, as_json=as_json, progress=Progress(progress_shown(as_json), stages=4))


def run_demo(settings: Settings, *, as_json: bool = False, progress: Progress | None = None) -> dict:
    """Migrate, import, embed and index the demo corpus, then print what a newcomer needs."""
    # The database, the embedding model, the index and the theme model: loaded by this command only.
    from analysis.analyse import STAGES, Analysis
    from analysis.evidence import EvidenceBase
    from analysis.explore import shown_themes, theme_languages, theme_quotes
    from analysis.gaps import stats_shown
    from analysis.ingest import import_demo
    from analysis.search import Searcher
    from corpus.db import make_engine, upgrade

    progress = progress or Progress(False)
    started = time.perf_counter()
    progress.stage(f"setting up the demo evidence base in {settings.resolved_data_dir}")
    upgrade(make_engine(settings.resolved_database_url))
    evidence = EvidenceBase(settings)
    progress.stage("importing the synthetic testimonies: storing, embedding and indexing them")
    report = import_demo(evidence, show_progress=progress.shown, bars=progress.bar)
    stats = stats_shown(evidence.store.stats(), settings.small_cell)  # breakdowns under the small-cell rule
    analysis = None
    if report["added"] or not evidence.themes.themes():
        progress.stage("analysing: clustering into themes and mapping them onto the drivers")
        with progress.steps(STAGES, "analysing") as step:
            analysis = Analysis(evidence, random_state=0).run(step).to_dict()
    else:
        progress.stage("analysis up to date: nothing new was imported")
    progress.stage("choosing quotes and running three searches")
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
    click.echo("\nExplore further (the demo has its own data dir; real data never mixes with it):")
    for line in explore_commands(settings, payload["themes"][0]["id"] if payload["themes"] else 1):
        click.echo(f"  {line}")
    click.echo(f"\ndone in {payload['seconds']} s")


def explore_commands(settings: Settings, theme_id: int) -> list[str]:
    """The demo's "explore further" lines, each a shell command that runs as printed from this folder.

    They call this ``lnob`` as the user can (``lnob_command``) on the demo's data dir; where
    LNOB_DATABASE_URL or LNOB_CHROMA_URL (from the environment or .env) point elsewhere, each line sets
    them aside with an empty ``--database-url`` or ``--chroma-url``, so it reads the demo's own files.
    """
    options = ["--data-dir", str(settings.resolved_data_dir)]
    ambient = Settings()
    if ambient.database_url:
        options += ["--database-url", ""]
    if ambient.chroma_url:
        options += ["--chroma-url", ""]
    lnob = f"{lnob_command()} {shlex.join(options)}"
    return [
        f"{lnob} themes",
        f"{lnob} theme {theme_id}",
        f"{lnob} quotes {theme_id} --n 5 --balance country",
        f'{lnob} search "no school for refugee children" --country KE',
        f"{lnob} themes --csv",
        f"{lnob} explore",
        f"{lnob} report --country KE --format md",
        f"{lnob} stats --json",
        f"{lnob} doctor",
    ]


def lnob_command() -> str:
    """How to call this ``lnob`` from the current folder: ``lnob`` when that name finds it on PATH, else its
    path (relative when it is under this folder: ``.venv/bin/lnob``), else ``python -m cli.main``."""
    invoked = Path(sys.argv[0])
    script = invoked if invoked.name == "lnob" and invoked.is_file() else Path(sys.executable).parent / "lnob"
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m cli.main"
    on_path = shutil.which("lnob")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "lnob"
    absolute = Path(os.path.abspath(script))
    if absolute.is_relative_to(Path.cwd()):
        relative = absolute.relative_to(Path.cwd()).as_posix()
        return shlex.quote(relative if "/" in relative else f"./{relative}")
    return shlex.quote(str(absolute))
