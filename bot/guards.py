"""Checks every update passes before (and after) the conversation, each in its own handler group.

1. ``keep_to_private_chats`` (group -2): in groups and channels the bot
   collects nothing; addressed there, it offers a link to a private chat.
2. ``limit_floods`` (group -1): more than the per-minute limit from one
   person is answered once, politely, and nothing of it is processed.
3. ``save_conversation_state`` (last group): the conversation state reaches
   the database right after each update, not only every minute.

``report_error`` logs what failed without the update's content: logs never
hold message texts, names or Telegram ids.
"""

from __future__ import annotations

import logging
import traceback

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.links import deep_link
from bot.messages import say

log = logging.getLogger(__name__)


async def keep_to_private_chats(update: Update, context: BotContext) -> None:
    """Outside private chats: collect nothing; when addressed, offer a private chat."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    if update.callback_query:
        await update.callback_query.answer()
    message = update.effective_message
    if message is not None and _addressed_to_bot(message, context):
        texts = context.services.texts
        user = update.effective_user
        lang = texts.pick(user.language_code if user else None)
        await context.bot.send_message(chat.id, texts(lang, "private_only", link=deep_link(context.bot.username)))
    raise ApplicationHandlerStop


def _addressed_to_bot(message: Message, context: BotContext) -> bool:
    """A command, a mention of the bot, a reply to it, or the bot just added to the chat."""
    bot = context.bot
    if any(member.id == bot.id for member in message.new_chat_members or ()):
        return True
    text = message.text or message.caption or ""
    if text.startswith("/"):
        return True
    mentions = message.parse_entities([MessageEntity.MENTION]) if message.text else {}
    if any(mention.lower() == f"@{bot.username}".lower() for mention in mentions.values()):
        return True
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot.id)


async def limit_floods(update: Update, context: BotContext) -> None:
    """Count the update against its sender's window; over the limit, warn once and stop here."""
    user = update.effective_user
    if user is None:
        return
    svc = context.services
    verdict = svc.flood.allow(svc.store.pseudonym_for(user.id))
    if verdict.allowed:
        return
    log.info("flood limit reached by one person; update dropped")
    if verdict.warn:
        await say(update, context, "flood_messages")
    raise ApplicationHandlerStop


async def save_conversation_state(update: Update, context: BotContext) -> None:
    """Write the conversation state and flow data changed by this update to the database now."""
    await context.services.state_saver.save(context.application)


async def report_error(update: object, context: BotContext) -> None:
    """Log the failure (exception type and code location only) and tell the person calmly."""
    error = context.error
    where = "".join(traceback.format_tb(error.__traceback__)) if error is not None else ""
    kind = type(update).__name__ if update is not None else "no update"
    log.error("handling %s failed with %s\n%s", kind, type(error).__name__, where)
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        try:
            await say(update, context, "error")
        except Exception as exc:  # the Bot API itself may be what failed
            log.warning("could not send the error message (%s)", type(exc).__name__)
