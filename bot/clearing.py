"""Clearing the chat: the bot deletes this chat's messages, its own and the person's, from the phone.

People who tell the bot about discrimination or abuse may have their phone
looked at by the people they describe, and a Telegram cloud chat stays on
the device. So after a contribution is stored (a button under the
thank-you), and at any time with ``/clear``, the bot offers to delete every
message of the chat it still can. The stored contributions are not touched
(``/delete`` erases those).

Telegram lets a bot delete a private chat's messages for 48 hours, with
``deleteMessages`` taking up to 100 ids a call. The ids come from the chat's
trail (``bot.trail``): every message the person sends is noted on arrival
(``note_incoming``), every message the bot sends is noted by
``bot.messages.reply``. Afterwards the person is told plainly what could
not be cleared: messages too old to delete, and a batch Telegram refused.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application

import bot.keyboards as keyboards
import bot.trail as trail
from bot.context import BotContext
from bot.messages import language_of, reply, say
from bot.texts import Html

BATCH = 100  # ids per deleteMessages call (the Bot API's limit)
CLEAR = "clear"  # callback data prefix: clear:yes, clear:no
SWEEP_SECONDS = 3600  # how often every trail is pruned, so no id outlives its 48 hours by much

log = logging.getLogger(__name__)


async def note_incoming(update: Update, context: BotContext) -> None:
    """Note the id of every message a person sends in a private chat, so that /clear can delete it."""
    message = update.message
    if message is None or message.chat.type != ChatType.PRIVATE or context.user_data is None:
        return
    trail.note(context.user_data, message.message_id, message.date.timestamp(), time.time())


async def offer(update: Update, context: BotContext) -> None:
    """``/clear``: ask before deleting the chat's messages."""
    svc, lang = context.services, language_of(update, context)
    await say(update, context, "clear_confirm", keyboards.clear(svc.texts, lang))


async def chosen(update: Update, context: BotContext) -> None:
    """A clear button (under the thank-you, or under the /clear question): clear the chat, or keep it."""
    query = update.callback_query
    await query.answer()
    if query.data == f"{CLEAR}:no":
        await query.edit_message_reply_markup(None)
        await say(update, context, "clear_kept")
        return
    await clear(update, context)


async def clear(update: Update, context: BotContext) -> None:
    """Delete every message of this chat that can still be deleted, then say plainly what is left."""
    svc, lang = context.services, language_of(update, context)
    data = context.user_data
    ids = trail.deletable(data, time.time())
    deleted, failed = await delete_messages(context, update.effective_chat.id, ids)
    too_old = trail.aged_out(data)
    trail.forget(data, deleted)
    data.pop(trail.AGED, None)  # told once, below
    parts = []
    if deleted or not failed:
        parts.append(svc.texts(lang, "clear_done", count=len(deleted)) if deleted else svc.texts(lang, "clear_nothing"))
    if too_old:
        parts.append(svc.texts(lang, "clear_too_old", count=too_old))
    if failed:
        parts.append(svc.texts(lang, "clear_failed", count=len(failed)))
    parts.append(svc.texts(lang, "clear_yourself"))
    await reply(update, context, Html("\n\n".join(parts)))


async def delete_messages(context: BotContext, chat_id: int, ids: list[int]) -> tuple[list[int], list[int]]:
    """Delete ``ids`` in batches of ``BATCH``; ``(deleted, failed)``. A refused batch does not stop the others."""
    deleted: list[int] = []
    failed: list[int] = []
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        try:
            await context.bot.delete_messages(chat_id, batch)
        except TelegramError as exc:
            log.warning("could not delete %d messages of a chat (%s)", len(batch), type(exc).__name__)
            failed += batch
        else:
            deleted += batch
    return deleted, failed


def sweep(application: Application, now: float | None = None) -> int:
    """Prune every person's trail and mark the changed ones for writing; how many changed."""
    changed = trail.sweep(application.user_data, time.time() if now is None else now)
    if changed:
        application.mark_data_for_update_persistence(user_ids=changed)
    return len(changed)


async def sweep_forever(application: Application, every: float = SWEEP_SECONDS) -> None:
    """Sweep the trails now and every ``every`` seconds, writing what changed."""
    while True:
        try:
            if sweep(application):
                await application.update_persistence()
        except Exception:  # a database hiccup: the next sweep writes it
            log.exception("sweeping the chat trails failed")
        await asyncio.sleep(every)
