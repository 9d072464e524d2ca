"""``lnob erase``: erasure requests that partners relay, for people whose words came in by import.

Two forms::

    lnob erase --contributor 17 --org plan            # id 17 of plan's file: everything they shared
    lnob erase --contributor 17 --org plan --source plan-np-2026   # when 17 is in two of plan's collections
    lnob erase --testimony 3f2a9c1e                   # one contribution (and its linked proposal)

It shows what it will erase and asks first (``--yes`` does not ask). The reach
is the bot's ``/delete``: the database rows, the vector index, the person's bot
state, the theme labels and keywords drawn from their words, and every export
and report that quoted or named them (rebuilt without them); then the old
bytes are wiped from the SQLite files. An audit entry records that an erasure
ran, with counts and never an id or a text. What was removed is printed
(``--json``: the same as one JSON object). The exit status is 1 when the
database was being read for the whole wait and its files may still hold the
erased rows' bytes (run it again, or ``lnob reindex``, once readers stop).
"""

from __future__ import annotations

import click

from cli.context import open_evidence, settings_of, staff_store
from cli.output import emit_json, fail


@click.command()
@click.option("--contributor", "partner_id", help="The contributor's id in the partner's file (needs --org).")
@click.option("--org", "organisation", help="Code of the organisation whose file the contributor id is from.")
@click.option("--source", help="The collection the file was imported as (its --source), if the id is in several.")
@click.option("--testimony", "testimony_ref", help="A testimony id, or at least its first 8 characters.")
@click.option("--yes", is_flag=True, help="Erase without asking for confirmation.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def erase(ctx, partner_id, organisation, source, testimony_ref, yes: bool, as_json: bool):
    """Erase an imported contributor's data (--contributor ID --org CODE) or one contribution (--testimony ID)
    from every copy, as the bot's /delete does."""
    if (partner_id is None) == (testimony_ref is None):
        fail("give either --contributor ID (with --org) or --testimony ID")
    if partner_id is not None and not organisation:
        fail("--contributor needs --org: the organisation whose file the id is from")
    if testimony_ref is not None and (organisation or source):
        fail("--org and --source go with --contributor, not --testimony")
    evidence = open_evidence(settings_of(ctx))
    contributor, ids, what = _target(evidence.store, partner_id, organisation, source, testimony_ref)
    if not yes:
        click.echo(f"This erases {what} {_contributions(len(ids))} from the database, the vector index, theme "
                   "labels and keywords, bot state and exports. It cannot be undone.", err=True)
        click.confirm("Erase?", abort=True, err=True)
    report = _erase(evidence, contributor, ids)
    _audit(evidence, "erase.contributor" if contributor is not None else "erase.testimony", organisation, report)
    payload = {"erased": "contributor" if contributor is not None else "testimony", **report.to_dict()}
    if as_json:
        emit_json(payload)
    else:
        _print(payload)
    if not report.journal.complete:
        fail("the database was being read for the whole wait, so its files may still hold the erased rows' "
             "bytes: run this again or `lnob reindex` once the bot and other commands are idle")


def _target(store, partner_id: str | None, organisation: str | None, source: str | None, testimony_ref: str | None):
    """What the command erases: (the imported contributor or None, the testimony ids, how to say it)."""
    if partner_id is not None:
        from corpus.importer import imported_contributor  # not at start-up: it loads SQLAlchemy

        contributor = imported_contributor(store, partner_id, organisation, source)
        ids = store.with_linked([r.id for r in store.contributor_records(contributor.id)])
        return contributor, ids, f"a contributor of {organisation.strip().lower()}: their consents, profile and"
    return None, store.with_linked([store.resolve_id(testimony_ref)]), "one contribution:"


def _erase(evidence, contributor, ids: list[str]):
    """Erase the contributor (everything they shared) if there is one, else the testimonies ``ids``."""
    from analysis import erasure  # the index, the themes and the exports: loaded by this command only

    if contributor is not None:
        return erasure.erase(evidence, contributor_id=contributor.id)
    return erasure.erase(evidence, testimony_ids=ids)


def _contributions(n: int) -> str:
    return f"{n} contribution{'' if n == 1 else 's'}"


def _audit(evidence, action: str, organisation: str | None, report) -> None:
    """An audit entry of the erasure: who (the CLI), what kind, counts; never an id or a text."""
    params = {
        "org": organisation.strip().lower() if organisation else None,
        "testimonies": len(report.testimonies),
        "export_files": len(report.export_files),
        "themes_relabelled": len(report.themes_relabelled),
        "bot_state_rows": report.bot_state_rows,
        "database_wiped": report.journal.complete,
    }
    staff_store(evidence).audit("cli", action, params, len(report.testimonies))


def _print(payload: dict) -> None:
    removed = payload["testimonies"]
    click.echo(f"erased {_contributions(len(removed))}" + (f": {', '.join(removed)}" if removed else ""))
    if payload["contributor"]:
        click.echo("erased the contributor, their consents and profile")
    click.echo(f"vectors removed from the index: {payload['vectors']}")
    click.echo(f"bot state rows removed: {payload['bot_state_rows']}")
    themes = payload["themes_relabelled"]
    click.echo(f"themes relabelled: {', '.join(map(str, themes)) if themes else 'none'}")
    click.echo(f"export files deleted (rebuilt without them): {len(payload['export_files'])}")
    for path in payload["export_files"]:
        click.echo(f"  {path}")
    waited = f" (waited {payload['wipe_seconds']} s for readers)" if payload["wipe_attempts"] > 1 else ""
    state = "wiped" if payload["database_wiped"] else "NOT confirmed wiped"
    click.echo(f"old bytes in the database files: {state}{waited}")
