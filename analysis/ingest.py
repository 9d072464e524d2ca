"""Getting testimonies into the evidence base: a file's rows stored, embedded and indexed.

The use case behind ``lnob import`` and ``lnob demo``, for any front end::

    evidence = EvidenceBase(settings)
    report = run_import(evidence, Path("plan.csv"), ImportSpec(country_col="country", organisation="plan"))
    report["added"], report["bad_rows"]

Every row is stored first (each batch one transaction: quick, and durable
before the slow part), then the backlog is embedded and indexed in
length-sorted batches; an interruption leaves rows pending, not lost. The
synthetic demo corpus (``corpus/samples``) is imported the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from corpus.importer import ImportSpec, commit_plan, plan_import
from corpus.vocabulary import ConsentLevel

if TYPE_CHECKING:
    from analysis.evidence import EvidenceBase

LONG_STEP = 256  # rows: a step over this many gets a progress bar

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


class ProgressBar(Protocol):
    """A bar that advances by the number of rows just done (a click progress bar is one)."""

    def update(self, n: int) -> None: ...


Bars = Callable[[int, str], AbstractContextManager[ProgressBar]]  # (length, label) -> an open bar


def run_import(evidence: EvidenceBase, file: Path, spec: ImportSpec, *, show_progress: bool = False,
               bars: Bars | None = None) -> dict:
    """Plan, commit, embed and index an import of ``file``; returns the report.

    With ``show_progress`` and ``bars`` (the CLI's ``cli.output.progress``), storing and indexing more
    than ``LONG_STEP`` rows each run inside a bar. Bad rows are reported, not raised; a wrong file,
    column, organisation or collection raises before anything is written.
    """
    plan = plan_import(evidence.store, file, spec)
    if show_progress and bars is not None and len(plan.drafts) > LONG_STEP:
        with bars(len(plan.drafts), "storing") as bar:
            added = commit_plan(evidence.store, plan, on_batch=lambda stored: bar.update(len(stored)))
    else:
        added = commit_plan(evidence.store, plan)
    backlog = sum(evidence.store.status_counts()[s] for s in ("pending", "failed"))
    if show_progress and bars is not None and backlog > LONG_STEP:
        with bars(backlog, "indexing") as bar:
            indexed = evidence.index_pending(progress=bar.update).indexed
    else:
        indexed = evidence.index_pending().indexed
    statuses = evidence.store.status_counts()
    return {
        "file": str(file),
        "source": plan.source,
        "rows": plan.total_rows,
        "added": added,
        "already_imported": plan.already_imported,
        "bad_rows": [{"row": b.row, "reason": b.reason} for b in plan.bad_rows],
        "indexed": indexed,
        # what is stored, each status by its name (the failed ones are retried by the next import or reindex)
        "pending": statuses["pending"],
        "failed": statuses["failed"],
    }


def import_demo(evidence: EvidenceBase, *, show_progress: bool = False, bars: Bars | None = None) -> dict:
    """Add the demo organisations and import the demo corpus into ``evidence``; a second run adds nothing."""
    for code, name in DEMO_ORGANISATIONS.items():
        evidence.store.add_organisation(code, name)
    return run_import(evidence, DEMO_FILE, DEMO_SPEC, show_progress=show_progress, bars=bars)
