"""The chat's trail: ids of the messages in a private chat that the bot can still delete, and for how long.

The Bot API lets a bot delete messages of a private chat, its own and the
person's, for 48 hours after they were sent. So that ``/clear`` can delete
them (see ``bot.clearing``), each message's id and time go into the
person's flow data (``user_data``, sealed in the database once they
consent) and stay there only while they can be deleted: ids past the limit
are dropped whenever the trail is touched, and by a sweep over everyone's
trail (``sweep``). What is left of an old message is a count, never its id,
so that the person can be told plainly how many could not be cleared.

    >>> data = {}
    >>> note(data, 41, sent_at=1_000.0, now=1_000.0)
    >>> deletable(data, now=1_000.0 + 3600)
    [41]
    >>> prune(data, now=1_000.0 + DELETABLE_FOR)
    True
    >>> data
    {'trail_aged': 1}
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

TRAIL = "trail"  # user_data key: [[message id, unix time sent], ...], oldest first
AGED = "trail_aged"  # user_data key: how many messages of the chat grew too old to delete (a count)
DELETABLE_FOR = 48 * 3600 - 10 * 60
"""Seconds a message id is kept: Telegram's 48 hours, less a margin for clocks and slow calls,
so that the bot never asks to delete a message Telegram would refuse."""
MAX_KEPT = 2_000
"""At most this many ids per chat (a person sending a message every 90 seconds for 48 hours);
older ones are counted as aged out."""

KEYED_BY_MESSAGE = ("saved",)
"""Other ``user_data`` maps keyed by message id (``bot.contributor.SAVED``: stored messages, to answer
their edits); their entries go when the message leaves the trail, since Telegram allows no edit later."""

UserData = MutableMapping[str, Any]


def note(user_data: UserData | None, message_id: int, sent_at: float, now: float) -> None:
    """Remember that message ``message_id`` of this chat was sent at ``sent_at`` (unix time)."""
    if user_data is None:
        return
    user_data.setdefault(TRAIL, []).append([int(message_id), float(sent_at)])
    prune(user_data, now)


def prune(user_data: UserData, now: float) -> bool:
    """Drop the ids that can no longer be deleted (counting them); whether anything changed."""
    changed = False
    trail = user_data.get(TRAIL)
    if trail is not None:
        fresh = [entry for entry in trail if now - entry[1] < DELETABLE_FOR][-MAX_KEPT:]
        aged = len(trail) - len(fresh)
        if aged:
            user_data[AGED] = user_data.get(AGED, 0) + aged
        if fresh:
            user_data[TRAIL] = fresh
        else:
            del user_data[TRAIL]
        changed = bool(aged) or not fresh
    return _drop_gone_messages(user_data) or changed


def _drop_gone_messages(user_data: UserData) -> bool:
    """Drop the entries of ``KEYED_BY_MESSAGE`` maps whose message is no longer in the trail."""
    live = {str(message_id) for message_id, _ in user_data.get(TRAIL, [])}
    changed = False
    for key in KEYED_BY_MESSAGE:
        kept = user_data.get(key)
        for message_id in [m for m in kept or () if m not in live]:
            del kept[message_id]
            changed = True
    return changed


def deletable(user_data: UserData, now: float) -> list[int]:
    """The ids of this chat's messages that can still be deleted, oldest first, each once."""
    prune(user_data, now)
    return list(dict.fromkeys(message_id for message_id, _ in user_data.get(TRAIL, [])))


def aged_out(user_data: UserData) -> int:
    """How many messages of this chat grew too old to delete since it was last cleared."""
    return int(user_data.get(AGED, 0))


def forget(user_data: UserData, message_ids: list[int] | None = None) -> None:
    """Drop these ids (all, and the aged-out count, when ``message_ids`` is None): they are deleted."""
    if message_ids is None:
        user_data.pop(TRAIL, None)
        user_data.pop(AGED, None)
        _drop_gone_messages(user_data)
        return
    gone = set(message_ids)
    kept = [entry for entry in user_data.get(TRAIL, []) if entry[0] not in gone]
    if kept:
        user_data[TRAIL] = kept
    else:
        user_data.pop(TRAIL, None)
    _drop_gone_messages(user_data)


def carried_over(user_data: UserData) -> dict[str, Any]:
    """The trail alone, to put back after the rest of ``user_data`` is cleared (decline, erasure):
    the person may still want the chat cleared afterwards."""
    return {key: user_data[key] for key in (TRAIL, AGED) if key in user_data}


def sweep(everyone: MutableMapping[int, UserData], now: float) -> list[int]:
    """Prune every person's trail; the ids of the people whose data changed (to be written again)."""
    return [user_id for user_id, data in everyone.items() if data and prune(data, now)]
