"""The saved lexical data: each testimony's search tokens, so that no search tokenises the corpus again.

The shortest working example::

    lexicon = stores.lexicon                                  # ``CorpusStores.lexicon``
    lexicon.save([SavedTokens("t1", "ab12...", "en", "v1", ("well", "dry"))])
    lexicon.all()["t1"].tokens                                # ('well', 'dry')

``analysis.search`` reads every row, keeps those that still match their
testimony, makes the others again and saves them (``analysis.search.corpus_tokens``).
A row matches while its testimony's redacted text has the same hash, its
language is the same and the tokenizer is the same version: re-redaction, an
edit, a language detected anew or a change to the tokenizer all make it stale.

The BM25 index built from these tokens is saved too (``lexical_index``, one
row), with a fingerprint of every testimony's id, text hash and language and
of the tokenizer: a search whose corpus has the same fingerprint loads it
instead of building it (``analysis.search.Searcher.one_shot``).

Erasure: a token row references its testimony with ``ON DELETE CASCADE``, so
the statement that deletes a testimony deletes its tokens, and the deletion
of testimonies deletes the saved index in the same transaction
(``corpus.deletion``); both are zeroed on SQLite like every deleted row
(``secure_delete``), and ``CorpusStore.wipe_journal`` empties the
write-ahead log of them. Tokens are never saved for a testimony that is gone
(an erasure that ran while they were made): the foreign key refuses the row,
and ``save`` leaves it out; an index is not saved once the corpus has fewer
testimonies than it was built from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Column, LargeBinary, delete, func, insert
from sqlalchemy import select as select_columns
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Field, SQLModel, select

from corpus.db import EngineStore, describe_error, session_scope
from corpus.models import Testimony

log = logging.getLogger(__name__)

CHUNK = 500  # ids per IN (...) list


class TestimonyTokens(SQLModel, table=True):
    """One testimony's search tokens, with what they were made from."""

    __tablename__ = "testimony_tokens"

    testimony_id: str = Field(foreign_key="testimony.id", primary_key=True, max_length=36, ondelete="CASCADE")
    text_hash: str = Field(max_length=64)  # of the redacted text the tokens were made from
    language: str | None = Field(default=None, max_length=16)  # the language the text was read in
    tokenizer: str = Field(max_length=64)  # the tokenizer's version (``analysis.text.tokenizer_version``)
    tokens: str  # in text order, separated by single spaces (a token holds no white space)


class LexicalIndexRow(SQLModel, table=True):
    """The search's BM25 index as last built (one row), with the fingerprint of the corpus it was built from."""

    __tablename__ = "lexical_index"

    id: int = Field(default=1, primary_key=True)
    fingerprint: str = Field(max_length=64)  # of every testimony's id, text hash and language, and the tokenizer
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # ``analysis.lexical.LexicalIndex.to_bytes``


class SavedTokens(NamedTuple):
    """A testimony's tokens as saved, and the key that says whether they still hold."""

    testimony_id: str
    text_hash: str
    language: str | None
    tokenizer: str
    tokens: tuple[str, ...]

    def matches(self, text_hash: str, language: str | None, tokenizer: str) -> bool:
        """Whether these tokens were made from this text, in this language, by this tokenizer."""
        return self.text_hash == text_hash and self.language == language and self.tokenizer == tokenizer


class Lexicon(EngineStore):
    """The saved tokens of every testimony (``testimony_tokens``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self) -> dict[str, SavedTokens]:
        """Every saved row, by testimony id (one query, plain rows: no ORM object per testimony)."""
        columns = TestimonyTokens.__table__.c
        statement = select_columns(columns.testimony_id, columns.text_hash, columns.language, columns.tokenizer,
                                   columns.tokens)
        with self.engine.connect() as connection:
            return {
                tid: SavedTokens(tid, digest, language, tokenizer, tuple(tokens.split()))
                for tid, digest, language, tokenizer, tokens in connection.execute(statement)
            }

    def save(self, rows: Sequence[SavedTokens]) -> int:
        """Save (or replace) these rows, in one transaction; returns how many were saved.

        Rows of testimonies that no longer exist are left out. Should an
        erasure delete one between that check and the insert, the database
        refuses the whole batch; nothing is saved then, nor when the database
        stays busy past its timeout: the tokens are made again at the next
        search, and the log says how many rows, never which.
        """
        if not rows:
            return 0
        try:
            with session_scope(self.engine) as session:
                alive = set()
                ids = [row.testimony_id for row in rows]
                for start in range(0, len(ids), CHUNK):
                    chunk = ids[start : start + CHUNK]
                    alive.update(session.exec(select(Testimony.id).where(Testimony.id.in_(chunk))))
                kept = [row for row in rows if row.testimony_id in alive and _storable(row.tokens)]
                self._delete(session, [row.testimony_id for row in kept])
                if kept:
                    session.exec(insert(TestimonyTokens), params=[_values(row) for row in kept])
        except IntegrityError:
            log.info("search tokens of %d testimonies not saved: some were erased meanwhile", len(rows))
            return 0
        except OperationalError as exc:
            log.warning("search tokens of %d testimonies not saved (%s)", len(rows), describe_error(exc))
            return 0
        return len(kept)

    def index(self, fingerprint: str) -> bytes | None:
        """The saved BM25 index, if it was built from the corpus with this fingerprint; else None."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select_columns(LexicalIndexRow.__table__.c.fingerprint, LexicalIndexRow.__table__.c.data)
            ).first()
        return row[1] if row is not None and row[0] == fingerprint else None

    def save_index(self, fingerprint: str, data: bytes, testimonies: int) -> bool:
        """Save the BM25 index built from the corpus with this fingerprint, of ``testimonies`` testimonies,
        in place of any other; whether it was saved.

        Not saved when the corpus no longer has that many testimonies (an
        erasure ran while it was built: it would hold the erased words), nor
        when the database stays busy past its timeout.
        """
        try:
            with session_scope(self.engine) as session:
                if int(session.exec(select(func.count()).select_from(Testimony)).one()) != testimonies:
                    return False
                session.exec(delete(LexicalIndexRow))
                session.exec(insert(LexicalIndexRow), params=[{"id": 1, "fingerprint": fingerprint, "data": data}])
        except OperationalError as exc:
            log.warning("the search index was not saved (%s)", describe_error(exc))
            return False
        return True

    def clear(self, *, tokens: bool = True) -> None:
        """Delete the saved index and (``tokens``) every saved token row: the next search makes them again."""
        with session_scope(self.engine) as session:
            if tokens:
                session.exec(delete(TestimonyTokens))
            self.forget_index(session)

    @staticmethod
    def forget_index(session) -> None:
        """Delete the saved BM25 index within ``session`` (an erasure's: the index holds every text's words)."""
        session.exec(delete(LexicalIndexRow))

    @staticmethod
    def _delete(session, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), CHUNK):
            session.exec(delete(TestimonyTokens).where(TestimonyTokens.testimony_id.in_(ids[start : start + CHUNK])))


def _values(row: SavedTokens) -> dict:
    """The insert parameters of a row."""
    return {
        "testimony_id": row.testimony_id,
        "text_hash": row.text_hash,
        "language": row.language,
        "tokenizer": row.tokenizer,
        "tokens": " ".join(row.tokens),
    }


def _storable(tokens: Sequence[str]) -> bool:
    """Whether tokens read back as they were saved: none empty, none holding white space.

    spaCy's tokenizers split at white space, so no token of theirs holds any;
    a row that would not read back is not saved, only made again each time.
    """
    return list(tokens) == " ".join(tokens).split()
