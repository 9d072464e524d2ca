"""Deleting contributions for good: their rows, their cached embeddings, and the old bytes in the SQLite files.

``CorpusStore`` (``corpus.store``) holds these steps (``Deletion``); an erasure
that must reach every copy (vector index, theme labels, exports) runs through
``analysis.erasure``, which calls them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from corpus.db import EngineStore, session_scope
from corpus.lexicon import Lexicon
from corpus.models import Consent, Contributor, Embedding, Testimony
from corpus.settings import Settings

WIPE_FIRST_WAIT_S = 0.05  # the first pause between checkpoint attempts; it doubles up to WIPE_LONGEST_WAIT_S
WIPE_LONGEST_WAIT_S = 2.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JournalWipe:
    """Whether the bytes of erased rows are gone from the database files (SQLite's file and write-ahead log).

    ``complete`` is False only when readers kept the log busy for the whole of
    ``settings.erase_wait_seconds``; ``attempts`` above 1 means the wipe had
    to wait for them. Other databases (PostgreSQL) are not files of ours:
    ``complete`` is True with 0 attempts.
    """

    complete: bool
    attempts: int = 0
    seconds: float = 0.0

    @property
    def retried(self) -> bool:
        return self.attempts > 1


class Deletion(EngineStore):
    """The erasing side of ``CorpusStore``: rows deleted (zeroed on SQLite) and the write-ahead log wiped."""

    settings: Settings

    def with_linked(self, ids: Sequence[str]) -> list[str]:
        """These ids plus the proposals linked to them (erased together)."""
        ids = list(ids)
        if not ids:
            return []
        with self.session() as session:
            linked = list(session.exec(select(Testimony.id).where(Testimony.parent_id.in_(ids))))
        return list(dict.fromkeys(ids + linked))

    def erase_testimonies(self, ids: Sequence[str], *, wipe: bool = True) -> list[str]:
        """Delete these testimonies (and linked proposals) and their cached embeddings; returns ids removed.

        With ``wipe`` (the default) the old bytes are then wiped from the SQLite
        files (:meth:`wipe_journal`); a caller with more to erase passes False
        and wipes once at the end.
        """
        all_ids = self.with_linked(ids)
        if not all_ids:
            return []
        with session_scope(self.engine) as session:
            self._overwrite_deleted(session)
            hashes = set(session.exec(select(Testimony.text_hash).where(Testimony.id.in_(all_ids))))
            session.exec(update(Testimony).where(Testimony.parent_id.in_(all_ids)).values(parent_id=None))
            found = list(session.exec(select(Testimony.id).where(Testimony.id.in_(all_ids))))
            session.exec(delete(Testimony).where(Testimony.id.in_(all_ids)))  # their saved tokens cascade
            Lexicon.forget_index(session)  # the saved search index holds every text's words
            still_used = set(session.exec(select(Testimony.text_hash).where(Testimony.text_hash.in_(hashes))))
            orphaned = hashes - still_used
            if orphaned:
                session.exec(delete(Embedding).where(Embedding.text_hash.in_(orphaned)))
        if wipe:
            self.wipe_journal()
        return found

    def erase_contributor(self, contributor_id: int, *, wipe: bool = True) -> list[str]:
        """Delete a contributor, their consents and everything they shared; returns testimony ids removed."""
        with self.session() as session:
            ids = list(session.exec(select(Testimony.id).where(Testimony.contributor_id == contributor_id)))
        removed = self.erase_testimonies(ids, wipe=False)
        with session_scope(self.engine) as session:
            self._overwrite_deleted(session)
            session.exec(delete(Consent).where(Consent.contributor_id == contributor_id))
            session.exec(delete(Contributor).where(Contributor.id == contributor_id))
        if wipe:
            self.wipe_journal()
        return removed

    def _overwrite_deleted(self, session: Session) -> None:
        """On SQLite, zero the bytes of deleted rows instead of leaving them in free pages of the file."""
        if self.engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("PRAGMA secure_delete=ON")

    def wipe_journal(self, patience: float | None = None) -> JournalWipe:
        """On SQLite, move every page of the write-ahead log into the file and empty the log; returns how it went.

        Deleted rows are zeroed (``secure_delete``) in new versions of their
        pages, written to the log; the old versions stay in the file, and
        older ones in the log, until a checkpoint copies the new ones over them.
        A checkpoint cannot do that while another connection (the bot, a CLI
        command) reads an older snapshot, and then reports itself busy. So it is
        tried again, with pauses doubling from ``WIPE_FIRST_WAIT_S``, until it
        completes or ``patience`` seconds (``settings.erase_wait_seconds``)
        have passed; an incomplete wipe is logged and reported, never silent.
        """
        if self.engine.dialect.name != "sqlite":
            return JournalWipe(complete=True)
        patience = self.settings.erase_wait_seconds if patience is None else patience
        started = time.monotonic()
        deadline, pause, attempts = started + patience, WIPE_FIRST_WAIT_S, 0
        with self.engine.connect() as connection:
            # each attempt gives up at once when busy; the pauses between attempts are ours, so they can grow
            kept_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            connection.exec_driver_sql("PRAGMA busy_timeout=0")
            try:
                while True:
                    attempts += 1
                    if self._checkpoint(connection):
                        return JournalWipe(True, attempts, round(time.monotonic() - started, 3))
                    if time.monotonic() + pause > deadline:
                        break
                    if attempts == 1:
                        log.info("erased rows wait for other readers of the database to finish")
                    time.sleep(pause)
                    pause = min(2 * pause, WIPE_LONGEST_WAIT_S)
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={int(kept_timeout or 0)}")
        log.warning("the database was read by others for %.0f s: erased rows may remain in its files until the "
                    "next erasure or `lnob reindex`", patience)
        return JournalWipe(False, attempts, round(time.monotonic() - started, 3))

    @staticmethod
    def _checkpoint(connection) -> bool:
        """One TRUNCATE checkpoint; whether it completed (no reader or writer kept it from the whole log)."""
        try:
            busy, _log_pages, _moved = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        except OperationalError:  # "database is locked": a writer holds it
            return False
        connection.commit()
        return busy == 0
