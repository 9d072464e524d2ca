"""What the chat bot keeps between updates: conversation states and per-person flow data.

A person half-way through telling their story must be able to continue after
the bot restarts, so the bot's conversation state lives in the database (the
``bot_state`` table), not in a pickle file. The rows are keyed and sealed with
the deployment's secret (the pseudonym key), so the table holds neither a
Telegram id nor an unsaved draft in the clear:

- ``ref`` is a keyed HMAC of the state's key (which contains the Telegram
  ids), used to find and replace the row;
- ``sealed`` is the key and value, JSON-encoded and encrypted with a
  deterministic authenticated construction built from HMAC-SHA256 (SIV style:
  the MAC of the plaintext is the IV of an HMAC-CTR keystream, and is checked
  on opening). Only the standard library is needed; without the secret the
  row cannot be read or forged.

The bot decides what is worth keeping: nothing at all is written for a person
before they consent (see ``bot.persistence``). What the bot reads about
contributions (its daily limit, a retried message) it asks ``CorpusStore``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from corpus.models import utcnow

log = logging.getLogger(__name__)

_IV_BYTES = 16
_UPSERT_ROWS = 200  # rows per INSERT statement (4 parameters each; well under SQLite's limit)


class BotState(SQLModel, table=True):
    """One piece of bot state (a conversation's state or a person's flow data), sealed."""

    __tablename__ = "bot_state"

    scope: str = Field(primary_key=True, max_length=80)
    ref: str = Field(primary_key=True, max_length=64)
    sealed: str
    updated_at: datetime = Field(default_factory=utcnow)


class Sealer:
    """Keyed references and deterministic authenticated encryption with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._ref_key = self._derive(secret, b"ref")
        self._mac_key = self._derive(secret, b"mac")
        self._enc_key = self._derive(secret, b"enc")

    @staticmethod
    def _derive(secret: bytes, purpose: bytes) -> bytes:
        return hmac.new(secret, b"lnob-bot-state:" + purpose, hashlib.sha256).digest()

    def ref(self, scope: str, key: str) -> str:
        """The stable lookup reference of ``key`` in ``scope`` (64 hex characters)."""
        return hmac.new(self._ref_key, f"{scope}\0{key}".encode(), hashlib.sha256).hexdigest()

    def seal(self, plaintext: bytes) -> str:
        """``plaintext`` encrypted and authenticated, as URL-safe base64 text."""
        iv = hmac.new(self._mac_key, plaintext, hashlib.sha256).digest()[:_IV_BYTES]
        return base64.urlsafe_b64encode(iv + self._xor(plaintext, iv)).decode("ascii")

    def open(self, token: str) -> bytes:
        """The plaintext of a sealed token, or ``ValueError`` when it was not sealed with this secret."""
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        iv, body = raw[:_IV_BYTES], raw[_IV_BYTES:]
        plaintext = self._xor(body, iv)
        expected = hmac.new(self._mac_key, plaintext, hashlib.sha256).digest()[:_IV_BYTES]
        if len(iv) != _IV_BYTES or not hmac.compare_digest(iv, expected):
            raise ValueError("bot state sealed with another secret, or altered")
        return plaintext

    def _xor(self, data: bytes, iv: bytes) -> bytes:
        blocks = (len(data) + 31) // 32
        stream = b"".join(
            hmac.new(self._enc_key, iv + n.to_bytes(8, "big"), hashlib.sha256).digest() for n in range(blocks)
        )[: len(data)]
        return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


class ChatStateStore:
    """Reads and writes sealed bot state rows; a value of ``None`` deletes a row."""

    def __init__(self, engine: Engine, secret: bytes) -> None:
        self.engine = engine
        self.sealer = Sealer(secret)
        if engine.dialect.name == "postgresql":  # both dialects spell INSERT ... ON CONFLICT the same way
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        self._insert = insert

    def load(self, scope: str) -> dict[str, Any]:
        """Every key and value kept in ``scope``; rows sealed with another secret are skipped."""
        with Session(self.engine) as session:
            rows = list(session.exec(select(BotState).where(BotState.scope == scope)))
        found: dict[str, Any] = {}
        unreadable = 0
        for row in rows:
            try:
                payload = json.loads(self.sealer.open(row.sealed))
            except (ValueError, TypeError):
                unreadable += 1
                continue
            if self.sealer.ref(scope, payload["k"]) != row.ref:
                unreadable += 1
                continue
            found[payload["k"]] = payload["v"]
        if unreadable:
            log.warning("skipped %d bot state rows in %s that this secret cannot open", unreadable, scope)
        return found

    def get(self, scope: str, key: str) -> Any | None:
        """The value kept for ``key`` in ``scope``, or None."""
        with Session(self.engine) as session:
            row = session.get(BotState, (scope, self.sealer.ref(scope, key)))
        if row is None:
            return None
        return json.loads(self.sealer.open(row.sealed))["v"]

    def apply(self, changes: Iterable[tuple[str, str, Any | None]]) -> None:
        """Write ``(scope, key, value)`` changes in one transaction; ``None`` deletes; for a key
        named twice the later change wins.

        Plain SQL statements rather than ORM objects (a delete per scope and one
        upsert for all the rest): this runs after nearly every update the bot
        handles, on its single database writer thread.
        """
        final: dict[tuple[str, str], tuple[str, Any | None]] = {}
        for scope, key, value in changes:
            final[(scope, self.sealer.ref(scope, key))] = (key, value)
        gone: dict[str, list[str]] = {}
        kept: list[dict[str, Any]] = []
        now = utcnow()
        for (scope, ref), (key, value) in final.items():
            if value is None:
                gone.setdefault(scope, []).append(ref)
            else:
                kept.append({"scope": scope, "ref": ref, "sealed": self._seal(key, value), "updated_at": now})
        table = BotState.__table__
        with self.engine.begin() as connection:
            for scope, refs in gone.items():
                connection.execute(delete(table).where(table.c.scope == scope, table.c.ref.in_(refs)))
            for start in range(0, len(kept), _UPSERT_ROWS):
                statement = self._insert(table).values(kept[start : start + _UPSERT_ROWS])
                connection.execute(statement.on_conflict_do_update(
                    index_elements=[table.c.scope, table.c.ref],
                    set_={"sealed": statement.excluded.sealed, "updated_at": statement.excluded.updated_at},
                ))

    def forget_person(self, is_person: Callable[[int], bool]) -> int:
        """Delete every row kept about one person, in every scope; returns how many.

        The bot keys a person's rows by their Telegram user id (``user_data``)
        or by a JSON list of chat and user ids (a conversation's state);
        ``is_person`` tells whether an id is theirs (erasure compares its
        pseudonym, since only the pseudonym is stored). Every row is opened to
        read its key, as the keys are sealed; rows sealed with another secret
        are left alone.
        """
        with Session(self.engine) as session:
            rows = list(session.exec(select(BotState.scope, BotState.ref, BotState.sealed)))
        doomed: list[tuple[str, str]] = []
        for scope, ref, sealed in rows:
            try:
                key = json.loads(self.sealer.open(sealed))["k"]
            except (ValueError, TypeError, KeyError):
                continue
            if any(is_person(number) for number in _ids_in(key)):
                doomed.append((scope, ref))
        table = BotState.__table__
        if doomed:
            with self.engine.begin() as connection:
                for scope, ref in doomed:
                    connection.execute(delete(table).where(table.c.scope == scope, table.c.ref == ref))
        return len(doomed)

    def _seal(self, key: str, value: Any) -> str:
        plaintext = json.dumps({"k": key, "v": value}, sort_keys=True, separators=(",", ":"))
        return self.sealer.seal(plaintext.encode())

    def count(self, scope: str | None = None) -> int:
        """How many rows are kept (in ``scope``, or in all scopes)."""
        statement = select(func.count()).select_from(BotState)
        if scope is not None:
            statement = statement.where(BotState.scope == scope)
        with Session(self.engine) as session:
            return int(session.exec(statement).one())


def _ids_in(key: Any) -> list[int]:
    """The ids a state key names: ``"123"`` (a user) or ``"[456, 123]"`` (a chat and a user); none for other keys."""
    try:
        value = json.loads(key) if isinstance(key, str) else key
    except ValueError:
        return []
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
