"""Telling a story (``/share``: story, why, drivers, proposal) or a proposal alone (``/propose``), and saving it.

Text sent outside a flow is not lost: the person is asked whether to record
it; forwarded text is used only once they say it is their own experience. A
contribution is committed to the database before the thank-you is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

import bot.keyboards as keyboards
from bot.context import BotContext
from bot.contributor.enrolment import find, find_contributing
from bot.contributor.flow import (
    DRAFT,
    DRIVERS,
    END,
    PENDING,
    PROFILE,
    PROPOSAL,
    PROPOSAL_ONLY,
    SAVED,
    STORY,
    WHY,
    ask_record,
    chosen,
    draft_of,
    hold,
    incoming,
    show_notice,
    start_draft,
    text_acceptable,
    tick,
)
from bot.contributor.storage import store_draft
from bot.messages import language_of, reply, say
from bot.texts import Html

SAVED_KEPT = 20  # how many stored message ids are remembered to answer edits
TYPING_AFTER = 0.5  # seconds a save may take before the person sees "typing…"

log = logging.getLogger(__name__)
T = TypeVar("T")


# -- telling a story ------------------------------------------------------------------


async def share(update: Update, context: BotContext) -> str:
    """``/share``: ask for the story."""
    return await _begin(update, context, "testimony", "ask_story", STORY)


async def story_received(update: Update, context: BotContext) -> str:
    return await _ask_why(update, context) if await _take(update, context, "story") else STORY


async def why_received(update: Update, context: BotContext) -> str:
    return await _ask_drivers(update, context) if await _take(update, context, "why") else WHY


async def why_skipped(update: Update, context: BotContext) -> str:
    await chosen(update, context)
    return await _ask_drivers(update, context)


async def driver_toggled(update: Update, context: BotContext) -> None:
    """Tick or untick one driver: the contributor's own signification of their story."""
    await tick(update, context, draft_of(context).setdefault("drivers", []), keyboards.drivers)


async def drivers_done(update: Update, context: BotContext) -> str:
    """Done, or "not sure" (which stores no driver); then ask what should be done."""
    draft = draft_of(context)
    texts, lang = context.services.texts, language_of(update, context)
    if update.callback_query.data == "drivers:unsure":
        draft["drivers"] = []
    labels = [texts.driver(lang, code) for code in draft.get("drivers", [])]
    await chosen(update, context, "; ".join(labels) or None)
    await say(update, context, "ask_proposal", keyboards.skip(texts, lang, "proposal"))
    return PROPOSAL


async def proposal_received(update: Update, context: BotContext) -> str:
    return await _save(update, context) if await _take(update, context, "proposal") else PROPOSAL


async def proposal_skipped(update: Update, context: BotContext) -> str:
    await chosen(update, context)
    return await _save(update, context)


# -- a proposal alone -----------------------------------------------------------------


async def propose(update: Update, context: BotContext) -> str:
    """``/propose``: ask for a proposal, stored on its own."""
    return await _begin(update, context, "proposal", "ask_proposal_only", PROPOSAL_ONLY)


async def proposal_only_received(update: Update, context: BotContext) -> str:
    return await _save(update, context) if await _take(update, context, "proposal") else PROPOSAL_ONLY


async def _begin(update: Update, context: BotContext, kind: str, question: str, state: str) -> str:
    """Start a draft of ``kind`` and ask ``question`` (unless the person may not contribute now)."""
    refused = await _refusal(update, context)
    if refused is not None:
        return refused
    start_draft(context, kind)
    await say(update, context, question)
    return state


async def _take(update: Update, context: BotContext, part: str) -> bool:
    """Put the text just received into the draft as ``part`` (with its message id); False when
    it was not acceptable (the person was told why and is asked again)."""
    text, message_id = await incoming(update, context)
    if not await text_acceptable(update, context, text):
        return False
    draft_of(context).update({part: text, f"{part}_msg": message_id})
    return True


# -- text sent outside a flow, and forwarded text ---------------------------------------


async def offer_to_record(update: Update, context: BotContext) -> str:
    """Text outside a flow is not lost: keep it and ask whether to record it (a forwarded one: is it theirs?)."""
    hold(update, context)
    if not await find(update, context):
        return await show_notice(update, context, "need_consent")
    return await ask_record(update, context)


async def more_text_while_asking(update: Update, context: BotContext) -> str:
    """More text while "record it?" is open: it joins the waiting text."""
    hold(update, context)
    return await ask_record(update, context)


async def record_confirmed(update: Update, context: BotContext) -> str:
    """Yes, record it: the waiting text becomes the story; the flow goes on with "why?"."""
    text, message_id = await incoming(update, context)
    if not await text_acceptable(update, context, text):
        return END
    refused = await _refusal(update, context)
    if refused is not None:
        return refused
    start_draft(context, "testimony")
    draft_of(context).update(story=text, story_msg=message_id)
    return await _ask_why(update, context)


async def record_declined(update: Update, context: BotContext) -> str:
    """No: the waiting text is dropped; nothing was stored."""
    await chosen(update, context)
    pending = context.user_data.pop(PENDING, None) or {}
    await say(update, context, "not_own" if pending.get("forwarded") else "record_discarded")
    return END


async def ask_if_own(update: Update, context: BotContext) -> None:
    """A forwarded message during a flow: ask whether it is the person's own experience before using it."""
    message = update.message
    context.user_data[PENDING] = {"text": message.text, "msg": message.message_id, "forwarded": True}
    await ask_record(update, context)
    return None


async def not_own(update: Update, context: BotContext) -> None:
    """Not their own experience: drop the forwarded text and stay where the flow was."""
    await chosen(update, context)
    context.user_data.pop(PENDING, None)
    await say(update, context, "not_own")
    return None


# -- leaving a flow -------------------------------------------------------------------


async def cancel(update: Update, context: BotContext) -> str:
    """``/cancel``: leave the flow; nothing of it is stored."""
    dropped = [context.user_data.pop(key, None) for key in (DRAFT, PENDING, PROFILE)]
    await say(update, context, "cancelled" if any(dropped) else "nothing_to_cancel")
    return END


async def use_buttons(update: Update, context: BotContext) -> None:
    """Text where a button is expected: say so, and stay."""
    await say(update, context, "use_buttons")
    return None


# -- saving -----------------------------------------------------------------------------


async def _refusal(update: Update, context: BotContext) -> str | None:
    """None when the person may contribute now; else the notice (not consented) or the daily limit is sent.

    Returns the state to go to when refused.
    """
    enrolment, over_limit = await find_contributing(update, context)
    return await _refuse(update, context, enrolment is None, over_limit)


async def _refuse(update: Update, context: BotContext, not_consented: bool, over_limit: bool) -> str | None:
    if not_consented:
        return await show_notice(update, context, "need_consent")
    if over_limit:
        await say(update, context, "flood_contributions", limit=context.services.bot_settings.flood_contributions_per_day)
        context.user_data.pop(DRAFT, None)
        return END
    return None


async def _save(update: Update, context: BotContext) -> str:
    """Commit the draft, then thank; embedding and indexing follow in the background.

    Two trips to the corpus: one read (consent in force, today's count) and
    one write (the testimony and its proposal, committed together).
    """
    svc = context.services
    enrolment, over_limit = await find_contributing(update, context)
    refused = await _refuse(update, context, enrolment is None, over_limit)
    if refused is not None:
        return refused
    draft = draft_of(context)
    lang = language_of(update, context)
    ref_prefix = svc.store.pseudonym_for(update.effective_user.id)[:16]
    stored = svc.write(store_draft, svc.evidence, draft, enrolment, lang, ref_prefix)
    ids = await _typing_if_slow(update, context, stored)
    svc.indexer.submit(ids)
    short_id = ids[0][:8]
    _remember_saved(context, draft, short_id)
    context.user_data.pop(DRAFT, None)
    texts = svc.texts
    if draft["kind"] == "proposal":
        text = texts(lang, "thanks_proposal", short_id=short_id)
    else:
        text = texts(lang, "thanks_testimony", short_id=short_id)
        if draft.get("proposal"):
            text = Html(text + "\n\n" + texts(lang, "thanks_with_proposal"))
    await reply(update, context, Html(text + "\n\n" + texts(lang, "clear_hint")), keyboards.offer_clear(texts, lang))
    return END


async def _typing_if_slow(update: Update, context: BotContext, work: Awaitable[T]) -> T:
    """Await ``work``; when it takes more than ``TYPING_AFTER`` seconds, show "typing…" meanwhile.

    A save usually takes milliseconds and the thank-you follows at once, so
    the indicator (one Bot API call) is sent only when there is a wait to show.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=TYPING_AFTER)
    if not done:
        try:
            await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
        except TelegramError as exc:  # only a hint: the save goes on
            log.info("could not show typing (%s)", type(exc).__name__)
    return await task


def _remember_saved(context: BotContext, draft: dict, short_id: str) -> None:
    saved = context.user_data.setdefault(SAVED, {})
    for key in ("story_msg", "why_msg", "proposal_msg"):
        if draft.get(key):
            saved[str(draft[key])] = short_id
    for old in list(saved)[:-SAVED_KEPT]:
        del saved[old]


# -- the questions ----------------------------------------------------------------------


async def _ask_why(update: Update, context: BotContext) -> str:
    await say(update, context, "ask_why", keyboards.skip(context.services.texts, language_of(update, context), "why"))
    return WHY


async def _ask_drivers(update: Update, context: BotContext) -> str:
    ticked = draft_of(context).setdefault("drivers", [])
    keyboard = keyboards.drivers(context.services.texts, language_of(update, context), ticked)
    await say(update, context, "ask_drivers", keyboard)
    return DRIVERS
