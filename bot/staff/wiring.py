"""Wiring the staff commands into an Application: the handlers of a command table, the start and stop hooks.

The table itself (``bot.staff.commands``) is handed in by ``bot.app``, so
nothing here depends on the commands, and the menu and the staff help are
built from the same table the handlers were registered from.
"""

from __future__ import annotations

import asyncio
import contextlib

from telegram.ext import Application, BaseHandler

from analysis.curation import Curator

from bot.services import SERVICES, Services
from bot.staff.base import STAFF_SERVICES, CommandTable, StaffServices
from bot.staff.guards import StaffButton, StaffCommand
from bot.staff.menu import MENU_SCOPE, kept_menus, sweep_menus_forever


def add_staff_handlers(application: Application, table: CommandTable, join: BaseHandler, group: int = 0) -> None:
    """Register ``join`` (``/join CODE``, for anyone) and the staff commands and buttons of ``table`` in ``group``,
    before the contributor handlers there."""
    svc: Services = application.bot_data[SERVICES]
    evidence = svc.evidence
    menu_store = evidence.stores.chat_states
    staff = StaffServices(
        services=svc,
        store=evidence.stores.staff,
        curator=Curator(evidence),
        menu_store=menu_store,
        table=table,
        menus=kept_menus(menu_store.load(MENU_SCOPE)),
    )
    application.bot_data[STAFF_SERVICES] = staff
    handlers = [join]
    handlers += [StaffCommand(name, callback, role, staff, application) for name, (callback, role, _) in table.commands.items()]
    handlers += [StaffButton(pattern, callback, role, staff, application) for pattern, (callback, role) in table.buttons.items()]
    application.add_handlers(handlers, group=group)


def start_staff(application: Application) -> None:
    """At start: sweep the staff menus now and every ``MENU_SWEEP_SECONDS``."""
    staff: StaffServices = application.bot_data[STAFF_SERVICES]
    staff.sweeper = asyncio.get_running_loop().create_task(sweep_menus_forever(application))


async def stop_staff(application: Application) -> None:
    staff: StaffServices = application.bot_data[STAFF_SERVICES]
    if staff.sweeper is not None:
        staff.sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await staff.sweeper
        staff.sweeper = None
