"""What every ``lnob`` command shares: this call's settings and the evidence base they point to.

The ``lnob`` group (``cli.main``) keeps the global options (``--data-dir``,
``--database-url``, ``--chroma-url``) in ``ctx.obj["overrides"]``; a command
turns them into settings and opens the evidence base::

    @click.command()
    @click.pass_context
    def stats(ctx):
        evidence = open_evidence(settings_of(ctx))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from corpus.settings import Settings, get_settings

from cli.output import fail

if TYPE_CHECKING:
    from analysis.evidence import EvidenceBase
    from corpus.staff import StaffStore


def settings_of(ctx: click.Context, **extra) -> Settings:
    """Settings from the environment with this call's global options applied."""
    return get_settings(**{**ctx.obj["overrides"], **extra})


def require_evidence_base(settings: Settings) -> None:
    """Stop with one line when the SQLite database does not exist, before anything creates it.

    Only `lnob db upgrade` (and `lnob demo`, in its own folder) creates an evidence base; every other
    command needs one, and a read must not leave an empty database or data dir behind.
    """
    from corpus.db import sqlite_file  # SQLAlchemy: loaded by the commands that open a database

    path = sqlite_file(settings.resolved_database_url)
    if path is not None and not path.exists():
        fail(f"no evidence base at {path}: create one with `lnob db upgrade`, then add to it with `lnob import FILE`")


def open_evidence(settings: Settings) -> EvidenceBase:
    """The evidence base, after checking the database exists, is reachable and is migrated."""
    from analysis.evidence import EvidenceBase  # the embedding model and the vector index

    require_evidence_base(settings)
    evidence = EvidenceBase(settings)
    evidence.store.check()
    return evidence


def staff_store(evidence: EvidenceBase) -> StaffStore:
    """The staff store of an evidence base (staff commands and the audit of erasures)."""
    return evidence.stores.staff
