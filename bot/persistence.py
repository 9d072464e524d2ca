"""Conversation state in the database, so a person half-way through a flow continues after a restart.

``DatabasePersistence`` is python-telegram-bot's ``BasePersistence`` over
``corpus.chatstate.ChatStateStore`` (sealed rows in ``bot_state``). It keeps
two things: the state of each persistent ``ConversationHandler`` and each
person's ``user_data`` (their draft, language and pending text, and the ids
of the chat's messages from the last 48 hours, for ``/clear``: see
``bot.trail``). Chat data,
bot data and callback data are not used by the bot and not stored.

Consent first, here too: nothing is written for a person who has not agreed.
A conversation in one of ``transient_states`` (the consent notice) is not
written, and ``user_data`` is written only once it carries ``consented``.
When either is cleared (decline, ``/delete``, end of a flow) its row is
deleted.

The writes of one ``Application.update_persistence`` run are coalesced into
one transaction; a write that would not change a row is skipped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from corpus.chatstate import ChatStateStore

USER_DATA = "user_data"
CONSENTED = "consented"
_UNKNOWN = object()  # a row whose write failed: neither present nor absent as far as we know

ConversationKey = tuple[int | str, ...]


def _conversation_scope(name: str) -> str:
    return f"conversation:{name}"


class DatabasePersistence(BasePersistence[dict, dict, dict]):
    """Stores conversation states and ``user_data`` of consenting people, sealed, in the corpus database."""

    def __init__(
        self,
        states: ChatStateStore,
        *,
        transient_states: Collection[object] = (),
        update_interval: float = 60,
        writer: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self.states = states
        self.transient_states = frozenset(transient_states)
        self._written: dict[tuple[str, str], str] = {}
        self._pending: list[tuple[str, str, Any | None]] = []
        self._write_lock = asyncio.Lock()
        self._writer = writer or asyncio.to_thread

    # -- what the Application loads at start ------------------------------------------

    async def get_user_data(self) -> dict[int, dict]:
        rows = await asyncio.to_thread(self.states.load, USER_DATA)
        for key, value in rows.items():
            self._written[(USER_DATA, key)] = _canonical(value)
        return {int(key): value for key, value in rows.items()}

    async def get_conversations(self, name: str) -> dict[ConversationKey, object]:
        scope = _conversation_scope(name)
        rows = await asyncio.to_thread(self.states.load, scope)
        conversations: dict[ConversationKey, object] = {}
        for key, state in rows.items():
            self._written[(scope, key)] = _canonical(state)
            conversations[tuple(json.loads(key))] = state
        return conversations

    async def get_chat_data(self) -> dict[int, dict]:
        return {}

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self) -> None:
        return None

    # -- what the Application writes after updates ------------------------------------

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        value = None if new_state is None or new_state in self.transient_states else new_state
        await self._write(_conversation_scope(name), json.dumps(list(key)), value)

    async def update_user_data(self, user_id: int, data: dict) -> None:
        await self._write(USER_DATA, str(user_id), data if data.get(CONSENTED) else None)

    async def drop_user_data(self, user_id: int) -> None:
        await self._write(USER_DATA, str(user_id), None)

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        pass

    async def drop_chat_data(self, chat_id: int) -> None:
        pass

    async def update_bot_data(self, data: dict) -> None:
        pass

    async def update_callback_data(self, data) -> None:
        pass

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        pass

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        pass

    async def refresh_bot_data(self, bot_data: dict) -> None:
        pass

    async def forget(self, user_id: int, conversations: dict[str, ConversationKey]) -> None:
        """Delete at once everything kept about one person: their user data and these conversations' states.

        Used by erasure, which confirms only when everything is gone.
        """
        await self._write(USER_DATA, str(user_id), None)
        for name, key in conversations.items():
            await self._write(_conversation_scope(name), json.dumps(list(key)), None)
        await self._drain()

    async def flush(self) -> None:
        """Wait for every write handed over so far."""
        await self._drain()

    # -- coalesced writing --------------------------------------------------------------

    async def _write(self, scope: str, key: str, value: Any | None) -> None:
        canonical = None if value is None else _canonical(value)
        if self._written.get((scope, key)) == canonical:
            return
        self._written[(scope, key)] = canonical
        self._pending.append((scope, key, value))
        await asyncio.sleep(0)  # let the other writes of this persistence run join the batch
        await self._drain()

    async def _drain(self) -> None:
        async with self._write_lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            try:
                await self._writer(self.states.apply, batch)
            except BaseException:
                for scope, key, _ in batch:  # let the next run write them again
                    self._written[(scope, key)] = _UNKNOWN
                raise


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class StateSaver:
    """Group commit of conversation state: updates that finish together share one database write.

    Each update asks for its state to be saved and waits until it is. A save
    starts at once when none is running; updates that finish while one is
    running join the next one, so under load one transaction carries many
    people's states while a lone person still gets theirs written right away.
    """

    def __init__(self) -> None:
        self._next: asyncio.Future | None = None
        self._lock = asyncio.Lock()

    async def save(self, application) -> None:
        """Return once the state changed so far is in the database."""
        if self._next is None:
            self._next = asyncio.ensure_future(self._run(application))
        await asyncio.shield(self._next)

    async def _run(self, application) -> None:
        async with self._lock:
            self._next = None  # from here on, newcomers wait for the following run
            await application.update_persistence()
