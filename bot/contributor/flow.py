"""What every step of the contributor conversation shares: its states, the flow-data keys, and small helpers.

The states are named constants; ``bot.contributor.conversation`` wires them
to the steps. The helpers answer a button press under its question
(``chosen``), take a step's text (``incoming``, ``text_acceptable``), show
the consent notice and reach the draft and profile being collected.
"""

from __future__ import annotations

import asyncio

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler, filters

from corpus.errors import InvalidText
from corpus.validation import clean_text

import bot.keyboards as keyboards
import bot.trail as trail
from bot.context import BotContext
from bot.messages import language_of, reply, say
from bot.notice import notice
from bot.texts import Catalogue, Html, escape

# -- states ---------------------------------------------------------------------------

CONSENT = "CONSENT"
PROFILE_OFFER = "PROFILE_OFFER"
AGE = "AGE"
GENDER = "GENDER"
COUNTRY = "COUNTRY"
REGION = "REGION"
GROUPS = "GROUPS"
STORY = "STORY"
WHY = "WHY"
DRIVERS = "DRIVERS"
PROPOSAL = "PROPOSAL"
PROPOSAL_ONLY = "PROPOSAL_ONLY"
ASK_RECORD = "ASK_RECORD"
CONFIRM_DELETE = "CONFIRM_DELETE"
END = ConversationHandler.END

PRE_CONSENT_STATES = frozenset({CONSENT})  # never written to the database
CONVERSATION = "contributor"  # the name its states are kept under

# -- user_data keys -------------------------------------------------------------------

DRAFT = "draft"
PENDING = "pending"
PROFILE = "profile"
SAVED = "saved"
ORGANISATION = "org"

TYPED = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & ~filters.FORWARDED
FORWARDED_TEXT = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & filters.FORWARDED
OWN_YES = r"^own:yes$"

INVALID_TEXT_KEYS = {  # InvalidText.reason -> what the person is told (analysis/texts.yaml)
    "empty": "bad_text_empty",
    "too_long": "bad_text_long",
    "no_letters": "bad_text_no_letters",
    "unreadable_script": "bad_text_script",
}


async def chosen(update: Update, context: BotContext, label: str | None = None) -> str | None:
    """Answer a button press and show the answer under the question (its buttons gone).

    Returns the answer's code, or None for "skip", "prefer not to say" and "not sure".
    """
    query = update.callback_query
    label = label or _pressed_label(query)
    answered = Html(query.message.text_html + "\n\n" + keyboards.CHECK + escape(label))
    await asyncio.gather(query.answer(), query.edit_message_text(answered))  # independent calls
    code = query.data.split(":", 1)[1]
    return None if code in ("skip", "unsure") else code


def _pressed_label(query: CallbackQuery) -> str:
    markup = query.message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return ""


async def incoming(update: Update, context: BotContext) -> tuple[str, int]:
    """The text of this step: the message just typed, or the waiting one just confirmed as the person's own."""
    if update.callback_query:
        await chosen(update, context)
        pending = context.user_data.pop(PENDING, None) or {}
        return pending.get("text", ""), pending.get("msg", 0)
    return update.message.text, update.message.message_id


async def text_acceptable(update: Update, context: BotContext, text: str) -> bool:
    """Whether ``text`` can be stored; if not, say why in the person's language."""
    try:
        clean_text(text, context.services.settings.max_text_chars)
    except InvalidText as invalid:
        await say(update, context, INVALID_TEXT_KEYS.get(invalid.reason, "bad_text_chars"), **invalid.details)
        return False
    return True


async def show_notice(update: Update, context: BotContext, intro: str | None = None) -> str:
    """The consent notice with its buttons (after ``intro``, a catalogue key); the conversation waits for consent."""
    svc, lang = context.services, language_of(update, context)
    texts, text = svc.texts, notice(svc, lang)
    if intro:
        text = Html(texts(lang, intro) + "\n\n" + text)
    await reply(update, context, text, keyboards.consent(texts, lang, context.user_data.get(ORGANISATION)))
    return CONSENT


async def ask_record(update: Update, context: BotContext) -> str:
    """Ask whether the waiting text should be recorded (a forwarded one: whether it is the person's own)."""
    forwarded = context.user_data[PENDING]["forwarded"]
    keyboard = record_keyboard(context.services.texts, language_of(update, context), forwarded)
    await say(update, context, "ask_own" if forwarded else "ask_record", keyboard)
    return ASK_RECORD


def record_keyboard(texts: Catalogue, lang: str, forwarded: bool) -> InlineKeyboardMarkup:
    if forwarded:
        return keyboards.yes_no(texts, lang, "own", "btn_own_yes", "btn_own_no")
    return keyboards.yes_no(texts, lang, "record")


def hold(update: Update, context: BotContext) -> None:
    """Keep a message's text as waiting text; several in a row are joined into one."""
    message = update.message
    forwarded = message.forward_origin is not None
    pending = context.user_data.get(PENDING)
    if pending:
        pending["text"] = f"{pending['text']}\n\n{message.text}"
        pending["forwarded"] = pending["forwarded"] or forwarded
    else:
        context.user_data[PENDING] = {"text": message.text, "msg": message.message_id, "forwarded": forwarded}


def clear_keeping_trail(context: BotContext) -> None:
    """Forget everything about the person but the chat's trail, so that /clear can still delete the chat.

    Without consent the trail stays in memory only (``bot.persistence`` writes no ``user_data`` then).
    """
    kept = trail.carried_over(context.user_data)
    context.user_data.clear()
    context.user_data.update(kept)


def start_draft(context: BotContext, kind: str) -> dict:
    context.user_data[DRAFT] = {"kind": kind}
    return context.user_data[DRAFT]


def draft_of(context: BotContext) -> dict:
    """The contribution being told (a testimony when none was started)."""
    return context.user_data.setdefault(DRAFT, {"kind": "testimony"})


def profile_of(context: BotContext) -> dict:
    """The profile answers being collected."""
    return context.user_data.setdefault(PROFILE, {"then": END})


async def tick(update: Update, context: BotContext, ticked: list[str], keyboard) -> None:
    """A multi-select button (data ``name:CODE``): tick or untick CODE in ``ticked``, redraw the buttons."""
    query = update.callback_query
    code = query.data.split(":", 1)[1]
    if code in ticked:
        ticked.remove(code)
    else:
        ticked.append(code)
    markup = keyboard(context.services.texts, language_of(update, context), ticked)
    await asyncio.gather(query.answer(), query.edit_message_reply_markup(markup))  # independent calls
