"""Staff-only handlers: they match only when the sender is active staff, who is then ``context.staff``.

The sender is looked up by pseudonym in ``corpus.staff`` on every update, so
a revocation takes effect at once, from the bot or the CLI. For anyone else
the handler does not match and the update goes on to the contributor
handlers, which answer exactly as they answer any unknown command or stale
button. A matched handler then checks the role (``writer`` < ``analyst`` <
``admin``) and tells a member without it which role it needs.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from corpus.staff import StaffMember, role_allows

from bot.context import BotContext
from bot.messages import say
from bot.staff.base import BUTTON_PREFIX, Callback, StaffServices, member, staff_services
from bot.staff.menu import drop_menu_of, ensure_menu


def _lookup(update: object, staff: StaffServices, application: Application) -> StaffMember | None:
    """The active staff member who sent ``update``, or None (a quick indexed read, on every staff update)."""
    if not isinstance(update, Update) or update.effective_user is None:
        return None
    found = staff.store.find(update.effective_user.id)
    if found is None and staff.menus:
        drop_menu_of(staff, application, staff.store.pseudonym_for(update.effective_user.id))
    return found


class _StaffOnly:
    """Mixin: the handler matches only when the sender is active staff, who is then ``context.staff``."""

    staff: StaffServices
    application: Application

    def check_update(self, update: object):
        matched = super().check_update(update)  # type: ignore[misc]
        if matched is None or matched is False:
            return matched
        found = _lookup(update, self.staff, self.application)
        return None if found is None else (matched, found)

    def collect_additional_context(self, context: BotContext, update, application, check_result) -> None:
        matched, found = check_result
        super().collect_additional_context(context, update, application, matched)  # type: ignore[misc]
        context.staff = found


class StaffCommand(_StaffOnly, CommandHandler):
    """A command that exists only for active staff; ``role`` is the least role that may use it."""

    def __init__(self, command: str, callback: Callback, role: str, staff: StaffServices, application: Application) -> None:
        super().__init__(command, _guarded(callback, role), filters=filters.UpdateType.MESSAGE)
        self.staff, self.application = staff, application


class StaffButton(_StaffOnly, CallbackQueryHandler):
    """A staff inline button (data ``s:...``); for anyone else it is a stale button like any other."""

    def __init__(self, pattern: str, callback: Callback, role: str, staff: StaffServices, application: Application) -> None:
        super().__init__(_guarded(callback, role, button=True), pattern=f"^{BUTTON_PREFIX}{pattern}")
        self.staff, self.application = staff, application


def _guarded(callback: Callback, role: str, button: bool = False) -> Callback:
    """``callback`` for staff of at least ``role``; others are told which role it needs."""

    async def guarded(update: Update, context: BotContext) -> None:
        found = member(context)
        staff = staff_services(context)
        if staff.searcher is None:  # the first staff update of a run warms the search index up
            staff.refresh_searcher()
        await ensure_menu(update, context, found)
        if not role_allows(found.role, role):
            if button:
                await update.callback_query.answer()
            await say(update, context, "staff_role_needed", role=role)
            return
        await callback(update, context)

    guarded.__name__ = getattr(callback, "__name__", "staff_handler")
    guarded.__doc__ = callback.__doc__
    return guarded
