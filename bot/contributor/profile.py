"""The optional profile: age band, gender, country, region and groups, each skippable, saved at the end.

Offered once after consent (then the story follows) and again with
``/profile`` (then the conversation ends). The answers offered and the
check of a typed country are in ``bot.profile``.
"""

from __future__ import annotations

from telegram import Update

import bot.keyboards as keyboards
from bot.context import BotContext
from bot.contributor.enrolment import find
from bot.contributor.flow import (
    AGE,
    ASK_RECORD,
    COUNTRY,
    END,
    GENDER,
    GROUPS,
    PENDING,
    PROFILE,
    REGION,
    STORY,
    chosen,
    profile_of,
    record_keyboard,
    show_notice,
    start_draft,
    tick,
)
from bot.messages import language_of, reply, say
from bot.profile import REGION_MAX_CHARS, parse_country_answer
from bot.texts import Html


async def profile_accepted(update: Update, context: BotContext) -> str:
    """The newcomer agreed to the profile questions; the story comes after them."""
    await chosen(update, context)
    context.user_data[PROFILE] = {"then": STORY}
    return await _ask_age(update, context)


async def profile_skipped(update: Update, context: BotContext) -> str:
    """The newcomer skipped the profile: straight to the story."""
    await chosen(update, context)
    return await _after_profile(update, context)


async def edit_profile(update: Update, context: BotContext) -> str:
    """``/profile``: answer the profile questions again."""
    if not await find(update, context):
        return await show_notice(update, context, "need_consent")
    context.user_data[PROFILE] = {"then": END}
    return await _ask_age(update, context)


async def age_chosen(update: Update, context: BotContext) -> str:
    profile_of(context)["age_band"] = await chosen(update, context)
    await say(update, context, "ask_gender", keyboards.genders(context.services.texts, language_of(update, context)))
    return GENDER


async def gender_chosen(update: Update, context: BotContext) -> str:
    profile_of(context)["gender"] = await chosen(update, context)
    return await _ask_country(update, context)


async def country_chosen(update: Update, context: BotContext) -> str:
    profile_of(context)["country"] = await chosen(update, context)
    return await _ask_region(update, context)


async def country_typed(update: Update, context: BotContext) -> str:
    """A typed country: an ISO code (or flag), else a clear message and the question again."""
    code = parse_country_answer(update.message.text)
    if code is None:
        svc, lang = context.services, language_of(update, context)
        keyboard = keyboards.countries(svc.texts, lang, svc.bot_settings.country_choices)
        await say(update, context, "bad_country", keyboard, value=update.message.text.strip()[:40])
        return COUNTRY
    profile_of(context)["country"] = code
    return await _ask_region(update, context)


async def region_typed(update: Update, context: BotContext) -> str:
    region = update.message.text.strip()
    if len(region) > REGION_MAX_CHARS:
        await say(update, context, "bad_region", limit=REGION_MAX_CHARS)
        return REGION
    profile_of(context)["region"] = region
    return await _ask_groups(update, context)


async def region_skipped(update: Update, context: BotContext) -> str:
    profile_of(context)["region"] = await chosen(update, context)
    return await _ask_groups(update, context)


async def group_toggled(update: Update, context: BotContext) -> None:
    """Tick or untick one self-identified group."""
    await tick(update, context, profile_of(context).setdefault("groups", []), keyboards.groups)


async def groups_done(update: Update, context: BotContext) -> str:
    """Done (or "prefer not to say"): save the whole profile, then go on to the story or end."""
    profile = profile_of(context)
    texts, lang = context.services.texts, language_of(update, context)
    if update.callback_query.data == "groups:skip":
        profile["groups"] = []
    labels = [texts(lang, f"group_{code}") for code in profile.get("groups", [])]
    await chosen(update, context, "; ".join(labels) or None)
    await _save_profile(update, context, profile)
    context.user_data.pop(PROFILE, None)
    if profile["then"] == STORY:
        return await _after_profile(update, context, prefix="profile_saved")
    await say(update, context, "profile_saved")
    return END


async def _save_profile(update: Update, context: BotContext, profile: dict) -> None:
    enrolment = await find(update, context)
    if enrolment is None:
        return
    answers = {key: profile.get(key) for key in ("age_band", "gender", "country", "region")}
    answers["groups"] = list(profile.get("groups", []))
    svc = context.services
    await svc.write(svc.store.update_profile, enrolment.contributor_id, **answers)


async def _after_profile(update: Update, context: BotContext, prefix: str | None = None) -> str:
    """After the profile: the text that was waiting for consent, else the story question."""
    texts, lang = context.services.texts, language_of(update, context)
    pending = context.user_data.get(PENDING)
    if pending:
        key, state = ("ask_own" if pending["forwarded"] else "ask_record"), ASK_RECORD
        keyboard = record_keyboard(texts, lang, pending["forwarded"])
    else:
        start_draft(context, "testimony")
        key, state, keyboard = "ask_story", STORY, None
    text = texts(lang, key)
    if prefix:
        text = Html(texts(lang, prefix) + "\n\n" + text)
    await reply(update, context, text, keyboard)
    return state


async def _ask_age(update: Update, context: BotContext) -> str:
    await say(update, context, "ask_age", keyboards.ages(context.services.texts, language_of(update, context)))
    return AGE


async def _ask_country(update: Update, context: BotContext) -> str:
    svc = context.services
    keyboard = keyboards.countries(svc.texts, language_of(update, context), svc.bot_settings.country_choices)
    await say(update, context, "ask_country", keyboard)
    return COUNTRY


async def _ask_region(update: Update, context: BotContext) -> str:
    keyboard = keyboards.skip(context.services.texts, language_of(update, context), "region", "btn_prefer_not")
    await say(update, context, "ask_region", keyboard)
    return REGION


async def _ask_groups(update: Update, context: BotContext) -> str:
    ticked = profile_of(context).setdefault("groups", [])
    keyboard = keyboards.groups(context.services.texts, language_of(update, context), ticked)
    await say(update, context, "ask_groups", keyboard)
    return GROUPS
