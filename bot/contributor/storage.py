"""A finished draft becomes stored contributions: a testimony and its linked proposal, or a proposal alone.

The evidence base validates, redacts and commits them in one transaction
(``EvidenceBase.ingest``), before the bot thanks the person; embedding and
indexing follow in the background (``bot.services.BackgroundIndexer``).

All of it runs on the bot's one database-writer thread, the NER model
included. Redacting on a thread of its own was measured and was worse (14
against 23 contributions a second, 50 people at a time): the model is
Python and numpy that needs the interpreter lock, and on another thread it
fought the event loop and the writer for it.
"""

from __future__ import annotations

import uuid

from analysis.evidence import EvidenceBase
from corpus.store import TestimonyDraft

from bot.contributor.enrolment import Enrolment

SOURCE = "telegram"


def store_draft(evidence: EvidenceBase, draft: dict, enrolment: Enrolment, language: str, ref_prefix: str) -> list[str]:
    """Commit the draft's testimony and linked proposal (or the proposal alone) together; returns their ids.

    Each piece carries a source reference made of the pseudonym's prefix and
    the message id, so a step retried after a crash is not stored twice (the
    evidence base returns what is already there).
    """
    common = {
        "language": language,
        "country": enrolment.country,
        "region": enrolment.region,
        "contributor_id": enrolment.contributor_id,
        "consent_level": enrolment.level,
        "source": SOURCE,
    }
    pieces: list[TestimonyDraft] = []
    parent_id = None
    if draft["kind"] == "testimony":
        parent_id = str(uuid.uuid4())
        pieces.append(TestimonyDraft(
            id=parent_id,
            text=draft["story"],
            kind="testimony",
            self_drivers=list(draft.get("drivers", [])),
            why_text=draft.get("why"),
            source_ref=f"{ref_prefix}:{draft['story_msg']}",
            **common,
        ))
    if draft.get("proposal"):
        pieces.append(TestimonyDraft(
            text=draft["proposal"],
            kind="proposal",
            parent_id=parent_id,
            source_ref=f"{ref_prefix}:{draft['proposal_msg']}",
            **common,
        ))
    return [testimony.id for testimony in evidence.ingest(pieces, index_now=False)]
