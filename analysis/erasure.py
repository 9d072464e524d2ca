"""Erasure and consent changes, carried to every copy: the index, the tables, theme labels and files on disk.

The shortest working examples::

    from analysis.erasure import erase, erase_contributor, give_consent

    report = erase(evidence, contributor_id=17)       # everything they shared; report.to_dict() for the audit
    removed = erase_contributor(evidence, 17)         # the same, returning the ids removed
    give_consent(evidence, 17, "aggregate", "v2")     # no longer quoted: files quoting them are rebuilt

This module sits above the evidence base and the reports: ``EvidenceBase``
keeps the low-level steps (deleting vectors, rows and bot state; recording a
consent in the tables and the index), ``analysis.relabel`` recomputes the
theme labels and keywords, and ``analysis.reports.rebuild`` deletes and
rebuilds the files. Here they run in the order that lets no copy of a
person's words survive (see ``erase``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from corpus.models import Consent
from corpus.deletion import JournalWipe

from analysis.evidence import EvidenceBase, Removal
from analysis.relabel import ErasureTrace, Relabel, relabel_after_erasure
from analysis.reports.rebuild import erase_exports_for

@dataclass
class ErasureReport:
    """What one erasure removed: ids and counts, never a text (for the person, ``lnob erase`` and the audit).

    ``journal`` says whether the erased rows' bytes are confirmed gone from the
    SQLite files (``complete``), and whether that had to wait for readers.
    """

    testimonies: list[str] = field(default_factory=list)  # testimony and linked proposal ids
    contributor: bool = False  # the contributor, their consents and profile
    vectors: int = 0  # vectors deleted from the index
    export_files: list[str] = field(default_factory=list)  # files deleted under the exports dir (rebuilt without them)
    themes_relabelled: list[int] = field(default_factory=list)  # themes whose label or keywords were recomputed
    bot_state_rows: int = 0  # the person's conversation state and draft kept for the bot
    journal: JournalWipe = field(default_factory=lambda: JournalWipe(True))

    @classmethod
    def of(cls, removal: Removal) -> ErasureReport:
        """The report of what the evidence base removed (exports, themes and the wipe still to come)."""
        return cls(testimonies=removal.testimonies, contributor=removal.contributor, vectors=removal.vectors,
                   bot_state_rows=removal.bot_state_rows)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "testimonies": list(self.testimonies),
            "contributor": self.contributor,
            "vectors": self.vectors,
            "export_files": list(self.export_files),
            "themes_relabelled": list(self.themes_relabelled),
            "bot_state_rows": self.bot_state_rows,
            "database_wiped": self.journal.complete,
            "wipe_attempts": self.journal.attempts,
            "wipe_seconds": self.journal.seconds,
        }


def erase(evidence: EvidenceBase, *, contributor_id: int | None = None, testimony_ids: Sequence[str] = ()) -> ErasureReport:
    """Erase a contributor (everything they shared, their consents, their bot state) or these testimonies
    (with the proposals linked to them), from every copy; returns what was removed.

    In this order: the vector index, the database rows (which cascade), the
    themes (labels and keywords recomputed without their words:
    ``analysis.relabel``), then the exports (deleted, and rebuilt with the
    new labels and without their words: ``analysis.reports.rebuild``),
    and last the SQLite files' old bytes (``CorpusStore.wipe_journal``).
    """
    with evidence.write_lock:  # nothing indexed in between can put back what is read here and deleted next
        every = evidence.erasable_ids(contributor_id=contributor_id, testimony_ids=testimony_ids)
        trace = ErasureTrace.of(evidence, every)  # their themes and words, read before the rows go
        report = ErasureReport.of(evidence.remove(every, contributor_id=contributor_id))
    try:
        relabelled = relabel_after_erasure(evidence, trace)
    except Exception:
        evidence.stores.exports.remove_containing(every)  # nothing is rebuilt from labels that may hold their words
        raise
    report.themes_relabelled = [change.theme_id for change in relabelled]
    report.export_files = [str(path) for path in _rebuild_exports(evidence, every, relabelled=relabelled)]
    report.journal = evidence.store.wipe_journal()
    return report


def erase_testimonies(evidence: EvidenceBase, ids: Sequence[str]) -> list[str]:
    """Erase contributions (and their linked proposals) everywhere; returns the ids removed (see ``erase``)."""
    return erase(evidence, testimony_ids=ids).testimonies


def erase_contributor(evidence: EvidenceBase, contributor_id: int) -> list[str]:
    """Erase a contributor and everything they shared everywhere; returns the ids removed (see ``erase``)."""
    return erase(evidence, contributor_id=contributor_id).testimonies


def give_consent(evidence: EvidenceBase, contributor_id: int, level: str, text_version: str) -> Consent:
    """Record a consent (level ``quote`` or ``aggregate``) in the tables and the index
    (``EvidenceBase.record_consent``); a level other than ``quote`` also rebuilds every file already written
    that quotes the contributor, still counting them in every number but quoting them no more."""
    consent = evidence.record_consent(contributor_id, level, text_version)
    if consent.level != "quote":
        _rebuild_exports(evidence, [r.id for r in evidence.store.contributor_records(contributor_id)],
                         still_counted=True)
    return consent


def _rebuild_exports(
    evidence: EvidenceBase, ids: Sequence[str], *, still_counted: bool = False, relabelled: Sequence[Relabel] = ()
) -> list:
    """Remove (and regenerate without quoting them, under the themes' new labels) the export files that
    quoted these testimonies or carry a changed label; returns the paths deleted."""
    if not ids and not relabelled:
        return []
    return erase_exports_for(evidence, ids, still_counted=still_counted, relabelled=relabelled)
