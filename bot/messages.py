"""Sending replies within Telegram's limits: 4096 characters a message, HTML that always parses.

Texts are measured in UTF-16 code units (how Telegram counts) on the HTML
source, which is never shorter than what Telegram shows, so a page that fits
here fits there. Long texts are cut at a line break or a space, never inside
an HTML entity; the only long blocks are escaped user text (no tags), so
pages never split a tag.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType

import bot.trail as trail
from bot.context import BotContext
from bot.texts import Html, escape

MESSAGE_LIMIT = 4096
LANGUAGE = "lang"  # the user_data key of the language a person chose
_TAG = re.compile(r"<[^>]+>")
_ENTITY_OR_CHAR = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|\w+);|.", re.S)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int = MESSAGE_LIMIT) -> list[Html]:
    """``text`` (HTML) in pieces of at most ``limit``, cut at spaces or line breaks where possible."""
    if utf16_len(text) <= limit:
        return [Html(text)]
    if "<" in text:  # markup only ever wraps short catalogue parts: keep the words, drop the markup
        text = escape(html.unescape(_TAG.sub("", text)))
    tokens = _ENTITY_OR_CHAR.findall(text)
    pieces: list[Html] = []
    start = 0
    while start < len(tokens):
        size, end, last_space = 0, start, None
        while end < len(tokens) and size + utf16_len(tokens[end]) <= limit:
            size += utf16_len(tokens[end])
            if tokens[end] in (" ", "\n"):
                last_space = end
            end += 1
        if end < len(tokens) and last_space is not None and last_space > start + (end - start) // 2:
            end = last_space + 1
        end = max(end, start + 1)
        piece = "".join(tokens[start:end]).strip()
        if piece:
            pieces.append(Html(piece))
        start = end
    return pieces


def paginate(blocks: Sequence[str], limit: int = MESSAGE_LIMIT, separator: str = "\n\n") -> list[Html]:
    """Blocks joined into as few messages of at most ``limit`` as possible, in order."""
    pages: list[str] = []
    current = ""
    for block in blocks:
        for piece in cut(block, limit):
            candidate = f"{current}{separator}{piece}" if current else piece
            if utf16_len(candidate) <= limit:
                current = candidate
            else:
                pages.append(current)
                current = piece
    if current:
        pages.append(current)
    return [Html(page) for page in pages]


async def reply(
    update: Update,
    context: BotContext,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
) -> Message:
    """Send ``text`` (HTML) to the chat of ``update``, split into pages; the keyboard goes on the last page."""
    pages = paginate([text])
    chat_id = update.effective_chat.id
    message = None
    for number, page in enumerate(pages, start=1):
        markup = keyboard if number == len(pages) else None
        message = await context.bot.send_message(chat_id, page, reply_markup=markup)
        note_sent(context, message)
    return message


def note_sent(context: BotContext, message: Message | None) -> None:
    """Note a message the bot sent into a private chat in the chat's trail, so that /clear can delete it."""
    if message is None or message.chat.type != ChatType.PRIVATE or context.user_data is None:
        return
    trail.note(context.user_data, message.message_id, message.date.timestamp(), time.time())


def language_of(update: Update, context: BotContext) -> str:
    """The person's language: their choice (``/language``), else Telegram's ``language_code``, else English."""
    chosen = context.user_data.get(LANGUAGE) if context.user_data is not None else None
    user = update.effective_user
    return chosen or context.services.texts.pick(user.language_code if user else None)


async def say(
    update: Update,
    context: BotContext,
    key: str,
    keyboard: InlineKeyboardMarkup | None = None,
    **values,
) -> Message:
    """Send the catalogue text ``key`` in the person's language (``values`` are escaped)."""
    return await reply(update, context, context.services.texts(language_of(update, context), key, **values), keyboard)
