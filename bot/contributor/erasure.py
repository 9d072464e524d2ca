"""Erasure on request: ``/delete`` (everything, after confirmation) and ``/delete ID`` (one contribution).

Erasure goes through the evidence base, which removes the contributions from
every copy (tables, vector index, exports); the bot then forgets the
person's conversation state and flow data, keeping only the chat's trail so
that the chat can still be cleared.
"""

from __future__ import annotations

import asyncio

from telegram import Update

from analysis.erasure import erase_contributor, erase_testimonies

import bot.keyboards as keyboards
from bot.context import BotContext
from bot.contributor.enrolment import Enrolment, find
from bot.contributor.flow import CONFIRM_DELETE, CONVERSATION, END, chosen, clear_keeping_trail
from bot.messages import language_of, reply, say
from bot.texts import Html


async def delete(update: Update, context: BotContext) -> str:
    """``/delete``: erase everything, after confirmation; ``/delete ID``: erase one contribution."""
    enrolment = await find(update, context)
    if enrolment is None:
        await say(update, context, "delete_nothing")
        return END
    texts, lang = context.services.texts, language_of(update, context)
    if context.args:
        short_id = context.args[0].strip().lower()
        testimony_id = await _own_testimony(context, enrolment, short_id)
        if testimony_id is None:
            await say(update, context, "delete_not_found", short_id=short_id[:40])
            return END
        keyboard = keyboards.confirm_delete(texts, lang, f"one:{testimony_id}")
        await say(update, context, "delete_confirm_one", keyboard, short_id=testimony_id[:8])
        return CONFIRM_DELETE
    await say(update, context, "delete_confirm_all", keyboards.confirm_delete(texts, lang, "all"))
    return CONFIRM_DELETE


async def delete_confirmed(update: Update, context: BotContext) -> str:
    """Erase, from the vector index and the database: everything of the person, or one contribution."""
    await chosen(update, context)
    svc, lang = context.services, language_of(update, context)
    enrolment = await find(update, context)
    if enrolment is None:
        await say(update, context, "delete_nothing")
        return END
    what = update.callback_query.data.split(":", 1)[1]
    if what == "all":
        async with svc.indexer.paused():
            removed = await svc.write(erase_contributor, svc.evidence, enrolment.contributor_id)
        clear_keeping_trail(context)
        person, chat = update.effective_user.id, update.effective_chat.id
        await context.application.persistence.forget(person, {CONVERSATION: (chat, person)})
        text = Html(svc.texts(lang, "delete_done_all", count=len(removed)) + "\n\n" + svc.texts(lang, "clear_hint"))
        await reply(update, context, text, keyboards.offer_clear(svc.texts, lang))
        return END
    testimony_id = what.split(":", 1)[1]
    if await _own_testimony(context, enrolment, testimony_id) != testimony_id:
        await say(update, context, "delete_not_found", short_id=testimony_id[:8])
        return END
    async with svc.indexer.paused():
        await svc.write(erase_testimonies, svc.evidence, [testimony_id])
    await say(update, context, "delete_done_one", short_id=testimony_id[:8])
    return END


async def delete_kept(update: Update, context: BotContext) -> str:
    await chosen(update, context)
    await say(update, context, "delete_kept")
    return END


async def _own_testimony(context: BotContext, enrolment: Enrolment, prefix: str) -> str | None:
    """The full id of the contributor's one contribution whose id starts with ``prefix`` (4+ characters)."""
    if len(prefix) < 4:
        return None
    records = await asyncio.to_thread(context.services.store.contributor_records, enrolment.contributor_id)
    matches = [record.id for record in records if record.id.lower().startswith(prefix.lower())]
    return matches[0] if len(matches) == 1 else None
