"""The staff command menu of each staff chat: set for active staff, taken away once they are staff no more.

A staff chat's menu lists the commands of the member's role (from the
command table the bot was wired with) and ``/help``. The menus set are kept,
sealed, in ``bot_state``: after a restart the bot neither sets them again
nor forgets to take them away from someone revoked, whether in chat, by
``lnob staff revoke`` or while it was not running (``sweep_menus``).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application

from corpus.staff import StaffMember

from bot.context import BotContext
from bot.messages import language_of
from bot.staff.base import STAFF_SERVICES, StaffServices, staff_services

log = logging.getLogger(__name__)

MENU_SCOPE = "staff_menu"  # bot_state scope of the staff menus set: pseudonym -> {"chat": id, "role": role}
MENU_SWEEP_SECONDS = 60.0  # how often the menus of staff revoked elsewhere (the CLI, another run) are taken away


async def ensure_menu(update: Update, context: BotContext, found: StaffMember) -> None:
    """Set this staff chat's command menu (once, and again when the role or the chat changed)."""
    staff = staff_services(context)
    chat_id = update.effective_chat.id
    if staff.menus.get(found.pseudonym) == (chat_id, found.role):
        return
    texts, lang = context.services.texts, language_of(update, context)
    commands = [BotCommand(name, texts(lang, f"cmd_{name}")) for name in staff.table.menu(found.role)]
    commands.append(BotCommand("help", texts(lang, "cmd_help")))
    try:
        await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except Exception as exc:  # the menu is a convenience; the commands work without it
        log.warning("could not set a staff menu (%s)", type(exc).__name__)
        return
    staff.menus[found.pseudonym] = (chat_id, found.role)
    await _remember_menu(staff, found.pseudonym, {"chat": chat_id, "role": found.role})


def kept_menus(staff_menu_rows: dict[str, dict]) -> dict[str, tuple[int, str]]:
    """The menus set in earlier runs, as ``StaffServices.menus`` holds them."""
    return {alias: (kept["chat"], kept["role"]) for alias, kept in staff_menu_rows.items()}


async def _remember_menu(staff: StaffServices, pseudonym: str, value: dict | None) -> None:
    await staff.services.write(staff.menu_store.apply, [(MENU_SCOPE, pseudonym, value)])


def drop_menu_of(staff: StaffServices, application: Application, pseudonym: str) -> None:
    """Someone who has the staff menu is staff no more: take the menu away (in the background)."""
    if pseudonym in staff.menus:
        application.create_task(_take_menu_away(staff, application, pseudonym))


async def _take_menu_away(staff: StaffServices, application: Application, pseudonym: str) -> None:
    entry = staff.menus.pop(pseudonym, None)
    if entry is None:
        return
    try:
        await application.bot.delete_my_commands(scope=BotCommandScopeChat(entry[0]))
    except (BadRequest, Forbidden) as exc:  # the chat is gone or blocked the bot: no menu left to take
        log.info("a staff menu could not be removed (%s); forgotten", type(exc).__name__)
    except TelegramError as exc:  # the network: kept, the next sweep tries again
        log.warning("could not remove a staff menu (%s)", type(exc).__name__)
        staff.menus.setdefault(pseudonym, entry)
        return
    await _remember_menu(staff, pseudonym, None)


async def drop_menu(context: BotContext, pseudonym: str) -> None:
    """After a revocation in chat: the revoked person's menu goes now."""
    await _take_menu_away(staff_services(context), context.application, pseudonym)


async def sweep_menus(application: Application) -> int:
    """Take the menu away from everyone who has one but is no longer active staff; returns how many.

    Catches revocations the bot did not see: by ``lnob staff revoke``, or
    while it was not running.
    """
    staff: StaffServices = application.bot_data[STAFF_SERVICES]
    holders = list(staff.menus)
    active = await asyncio.to_thread(staff.store.active_among, holders)
    gone = [pseudonym for pseudonym in holders if pseudonym not in active]
    for pseudonym in gone:
        await _take_menu_away(staff, application, pseudonym)
    return len(gone)


async def sweep_menus_forever(application: Application, every: float = MENU_SWEEP_SECONDS) -> None:
    while True:
        try:
            await sweep_menus(application)
        except Exception:  # a database hiccup: try again at the next sweep
            log.exception("staff menu sweep failed")
        await asyncio.sleep(every)
