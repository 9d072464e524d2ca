"""What the bot answers outside the contributor conversation: help, language, privacy, own data, and the rest.

None of these change the conversation's state, so they work in the middle
of a flow too (``/language`` while telling a story, a photo while asked for
text). Nothing sent here is stored: media, stickers, locations and contacts
get a kind reply that only text is collected.
"""

from __future__ import annotations

import asyncio
import io

from telegram import Update

from corpus.store import TestimonyRecord

import bot.keyboards as keyboards
from bot.context import BotContext
from bot.contributor.enrolment import find
from bot.contributor.flow import DRAFT, PENDING, SAVED, text_acceptable
from bot.messages import LANGUAGE, language_of, note_sent, paginate, reply, say
from bot.notice import notice
from bot.texts import Catalogue, Html, escape

MYDATA_PAGES = 3  # more than this, and the full list comes as a file


async def show_help(update: Update, context: BotContext) -> None:
    """``/help``: what the bot can do."""
    await say(update, context, "help")


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not know: say so, with the help text."""
    texts, lang = context.services.texts, language_of(update, context)
    await reply(update, context, Html(texts(lang, "unknown_command") + "\n\n" + texts(lang, "help")))


async def choose_language(update: Update, context: BotContext) -> None:
    """``/language``: every language under its own name."""
    await say(update, context, "choose_language", keyboards.languages(context.services.texts))


async def language_chosen(update: Update, context: BotContext) -> None:
    """A language button: speak it from now on (and keep it in the profile of a contributor)."""
    query = update.callback_query
    svc = context.services
    language = query.data.split(":", 1)[1]
    if language not in svc.texts.languages:
        await query.answer()
        return
    await query.answer()
    await query.edit_message_reply_markup(None)
    context.user_data[LANGUAGE] = language
    enrolment = await find(update, context)
    if enrolment is not None:
        await svc.write(svc.store.update_profile, enrolment.contributor_id, language=language)
    await say(update, context, "language_set")


async def show_privacy(update: Update, context: BotContext) -> None:
    """``/privacy``: the notice again, with the person's current choice and the buttons to change it."""
    svc, lang = context.services, language_of(update, context)
    texts = svc.texts
    enrolment = await find(update, context)
    if enrolment is None:
        text = Html(notice(svc, lang) + "\n\n" + texts(lang, "current_choice_none"))
        await reply(update, context, text, keyboards.consent(texts, lang, None))
        return
    text = Html(notice(svc, lang) + "\n\n" + texts(lang, f"current_choice_{enrolment.level}"))
    await reply(update, context, text, keyboards.consent(texts, lang, None, decline=False))


async def show_my_data(update: Update, context: BotContext) -> None:
    """``/mydata``: every contribution of the person, redacted, with its date and short id."""
    svc, lang = context.services, language_of(update, context)
    enrolment = await find(update, context)
    records = []
    if enrolment is not None:
        records = await asyncio.to_thread(svc.store.contributor_records, enrolment.contributor_id)
    if not records:
        await say(update, context, "mydata_empty")
        return
    header = svc.texts(lang, "mydata_header", count=len(records), example=records[-1].id[:8])
    pages = paginate([header] + [_entry(svc.texts, lang, record) for record in records])
    for page in pages[:MYDATA_PAGES]:
        note_sent(context, await context.bot.send_message(update.effective_chat.id, page))
    if len(pages) > MYDATA_PAGES:
        listing = "\n\n".join(_plain_entry(svc.texts, lang, record) for record in records)
        sent = await context.bot.send_document(
            update.effective_chat.id,
            document=io.BytesIO(listing.encode("utf-8")),
            filename="my-contributions.txt",
            caption=svc.texts(lang, "mydata_file"),
        )
        note_sent(context, sent)


def _entry(texts: Catalogue, lang: str, record: TestimonyRecord) -> Html:
    kind = texts(lang, f"kind_{record.kind}")
    return Html(f"<b>{record.id[:8]}</b> · {record.created_at:%Y-%m-%d} · {kind}\n{escape(record.text)}")


def _plain_entry(texts: Catalogue, lang: str, record: TestimonyRecord) -> str:
    kind = texts(lang, f"kind_{record.kind}")
    return f"{record.id[:8]} · {record.created_at:%Y-%m-%d} · {kind}\n{record.text}"


async def voice_received(update: Update, context: BotContext) -> None:
    """A voice note or audio: nothing is stored; suggest typing it."""
    await say(update, context, "voice_not_supported")


async def media_received(update: Update, context: BotContext) -> None:
    """A photo, video, sticker, document, location, contact...: nothing is stored; only text is collected."""
    await say(update, context, "media_not_supported")


async def message_edited(update: Update, context: BotContext) -> None:
    """An edited message: during a flow, the edit replaces the text to be stored; after, explain how to change it."""
    message = update.edited_message
    if not message.text:
        return
    draft = context.user_data.get(DRAFT) or {}
    for part in ("story", "why", "proposal"):
        if draft.get(f"{part}_msg") == message.message_id:
            if not await text_acceptable(update, context, message.text):
                return
            draft[part] = message.text
            await say(update, context, "edit_applied")
            return
    pending = context.user_data.get(PENDING)
    if pending and pending.get("msg") == message.message_id:
        pending["text"] = message.text
        await say(update, context, "edit_applied")
        return
    short_id = (context.user_data.get(SAVED) or {}).get(str(message.message_id))
    if short_id:
        await say(update, context, "edit_after_saved", short_id=short_id)
    else:
        await say(update, context, "edit_too_late")


async def stale_button(update: Update, context: BotContext) -> None:
    """A button of a question that is no longer open."""
    texts, lang = context.services.texts, language_of(update, context)
    await update.callback_query.answer(texts(lang, "button_expired"))
