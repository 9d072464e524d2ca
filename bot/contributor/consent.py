"""Arriving and consenting: ``/start``, the consent buttons, and text sent before the choice."""

from __future__ import annotations

import asyncio

from telegram import Update

import bot.keyboards as keyboards
from bot.context import BotContext
from bot.contributor.enrolment import change_consent, enrol, find
from bot.contributor.flow import (
    CONSENT,
    END,
    ORGANISATION,
    PROFILE_OFFER,
    clear_keeping_trail,
    hold,
    show_notice,
)
from bot.messages import LANGUAGE, reply, say
from bot.texts import Html


async def start(update: Update, context: BotContext) -> str | None:
    """``/start [code]``: the notice for a newcomer (attributed to the link's organisation), else a welcome back."""
    if context.args:
        organisation = await asyncio.to_thread(context.services.store.organisation, context.args[0])
        if organisation is not None:
            context.user_data[ORGANISATION] = organisation.id
    if await find(update, context):
        await say(update, context, "welcome_back")
        return None
    return await show_notice(update, context)


async def consent_chosen(update: Update, context: BotContext) -> str | None:
    """A consent button: enrol and offer the profile, change the level, or decline and keep nothing."""
    query = update.callback_query
    level, lang, organisation_id = keyboards.parse_consent_data(query.data)
    texts = context.services.texts
    _, enrolment, _ = await asyncio.gather(query.answer(), find(update, context), query.edit_message_reply_markup(None))
    if level == keyboards.DECLINE:
        if enrolment:
            await say(update, context, "already_agreed")
            return None
        clear_keeping_trail(context)
        await reply(update, context, texts(lang, "declined"))
        return END
    if enrolment:
        await change_consent(context, enrolment, level, lang)
        await say(update, context, f"consent_{level}_given")
        return None
    context.user_data[LANGUAGE] = lang
    await enrol(update, context, level, lang, organisation_id or context.user_data.get(ORGANISATION))
    context.user_data.pop(ORGANISATION, None)
    text = Html(texts(lang, f"consent_{level}_given") + "\n\n" + texts(lang, "profile_offer"))
    await reply(update, context, text, keyboards.profile_offer(texts, lang))
    return PROFILE_OFFER


async def hold_until_consent(update: Update, context: BotContext) -> str:
    """Text before consent: keep it in memory for after the choice, and ask for the choice first."""
    hold(update, context)
    await say(update, context, "need_consent")
    return CONSENT
