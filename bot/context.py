"""The context every handler of the bot gets: python-telegram-bot's ``CallbackContext`` with the bot's own parts.

    async def handler(update: Update, context: BotContext) -> None:
        svc = context.services          # settings, texts, the evidence base, the database writer
        if context.staff is not None:   # set when a staff command or button matched (bot.staff.guards)
            ...

``build_application`` makes the Application with ``CONTEXT_TYPES``, so
python-telegram-bot creates a ``BotContext`` for each update.
"""

from __future__ import annotations

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from corpus.staff import StaffMember

from bot.services import SERVICES, Services


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """``CallbackContext`` with the Application's ``services`` and the ``staff`` member behind the update."""

    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.staff: StaffMember | None = None  # active staff who sent a staff command or pressed a staff button

    @property
    def services(self) -> Services:
        """What the handlers share (one ``Services`` per Application, in ``bot_data``)."""
        return self.application.bot_data[SERVICES]


CONTEXT_TYPES = ContextTypes(context=BotContext)
