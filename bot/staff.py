"""Staff in chat: who may do what, checked on every update, and the wiring of the staff commands.

Staff of the partner organisations use the same bot as contributors. A staff
command or button is matched only when its sender is active staff (looked up
by pseudonym in ``corpus.staff`` on every update, so a revocation takes
effect at once, from the bot or the CLI); for anyone else the handler does
not match and the update goes on to the contributor handlers, which answer
exactly as they answer any unknown command. Roles nest: ``writer`` (read and
export) < ``analyst`` (also curate and re-analyse) < ``admin`` (also manage
staff and read the audit log).

The commands themselves live in ``bot.staff_admin``, ``bot.staff_explore``,
``bot.staff_search``, ``bot.staff_curate`` and ``bot.staff_files``; every
one of them writes an audit entry through :func:`audit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from analysis.curation import Curator
from analysis.evidence import EvidenceBase
from analysis.search import Searcher
from corpus.chatstate import ChatStateStore
from corpus.staff import StaffMember, StaffStore, role_allows

from bot.messages import language_of, say
from bot.services import Services, services

log = logging.getLogger(__name__)

STAFF_SERVICES = "staff"
BUTTON_PREFIX = "s:"
SEARCH_RECHECK_SECONDS = 60.0  # how often the corpus size is compared with the search catalogue's
MENU_SCOPE = "staff_menu"  # bot_state scope of the staff menus set: pseudonym -> {"chat": id, "role": role}
MENU_SWEEP_SECONDS = 60.0  # how often the menus of staff revoked elsewhere (the CLI, another run) are taken away
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[Any]]


@dataclass
class StaffServices:
    """What the staff handlers share: the staff store, one ``Searcher``, the curator, the running analysis."""

    services: Services
    store: StaffStore
    curator: Curator
    menu_store: ChatStateStore  # where the menus set survive a restart (sealed, scope MENU_SCOPE)
    searcher: Searcher | None = None
    searcher_size: int = -1
    searcher_checked: float = 0.0
    analysis: asyncio.Task | None = None
    menus: dict[str, tuple[int, str]] = field(default_factory=dict)  # pseudonym -> (chat id, role) of menus set
    last_search: dict[str, tuple[str, Any]] = field(default_factory=dict)  # pseudonym -> (query, filter)
    sweeper: asyncio.Task | None = None
    _searcher_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _rebuilding: asyncio.Task | None = None
    _forgotten: set[str] = field(default_factory=set)  # hidden this run: kept out of every rebuilt catalogue too

    @property
    def reclustering(self) -> bool:
        return self.analysis is not None and not self.analysis.done()

    async def current_searcher(self) -> Searcher:
        """The search index (built on first use); rebuilt in the background when the corpus size changed."""
        async with self._searcher_lock:
            if self.searcher is None and self._rebuilding is not None:
                await asyncio.shield(self._rebuilding)
            if self.searcher is None:
                await self._rebuild()
            elif time.monotonic() - self.searcher_checked > SEARCH_RECHECK_SECONDS:
                self.searcher_checked = time.monotonic()
                size = await asyncio.to_thread(self.services.store.count_testimonies)
                if size != self.searcher_size:
                    self.refresh_searcher()
        return self.searcher

    def refresh_searcher(self) -> None:
        """Rebuild the search catalogue and BM25 index in the background, then swap it in whole
        (searches meanwhile use the previous one, never a half-built one)."""
        if self._rebuilding is None or self._rebuilding.done():
            self._rebuilding = asyncio.get_running_loop().create_task(self._rebuild())

    async def _rebuild(self) -> None:
        searcher, size = await asyncio.to_thread(build_searcher, self.services.evidence)
        # a rebuild that began before a /hide read the hidden set without it
        for testimony_id in self._forgotten:
            _unquote(searcher, testimony_id)
        self.searcher, self.searcher_size = searcher, size
        self.searcher_checked = time.monotonic()

    def forget_quote(self, testimony_id: str) -> None:
        """A hidden quote leaves search at once (the rebuild that follows makes it permanent)."""
        self._forgotten.add(testimony_id)
        if self.searcher is not None:
            _unquote(self.searcher, testimony_id)
        self.refresh_searcher()


def _unquote(searcher: Searcher, testimony_id: str) -> None:
    """Take one testimony out of a built searcher's quotable set."""
    catalogue = searcher._catalogue
    if catalogue is not None and (position := catalogue.position.get(testimony_id)) is not None:
        catalogue.quotable[position] = False


def build_searcher(evidence: EvidenceBase) -> tuple[Searcher, int]:
    """A fresh ``Searcher`` with its catalogue and BM25 index built, and the corpus size it was built at.

    The catalogue holds a record per contribution; the objects alive now are
    then moved out of the garbage collector's sight (``gc.freeze``), so that
    its full collections do not scan them again and again and add hundreds
    of milliseconds to a search at 100,000 contributions.
    """
    size = evidence.store.count_testimonies()
    searcher = Searcher(evidence)
    searcher.refresh()
    searcher.warm()
    gc.unfreeze()  # the previous catalogue, once dropped, may be collected
    gc.collect()
    gc.freeze()
    return searcher, size


def staff_services(context: ContextTypes.DEFAULT_TYPE) -> StaffServices:
    """The staff services of the Application that runs this handler."""
    return context.application.bot_data[STAFF_SERVICES]


def member(context: ContextTypes.DEFAULT_TYPE) -> StaffMember:
    """The staff member behind this update (set when the handler matched)."""
    return context.staff  # type: ignore[attr-defined]


def _lookup(update: object, staff: StaffServices, application: Application) -> StaffMember | None:
    """The active staff member who sent ``update``, or None (a quick indexed read, on every staff update)."""
    if not isinstance(update, Update) or update.effective_user is None:
        return None
    found = staff.store.find(update.effective_user.id)
    if found is None and staff.menus:
        _drop_menu_of(staff, application, staff.store.pseudonym_for(update.effective_user.id))
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

    def collect_additional_context(self, context, update, application, check_result) -> None:
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

    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def audit(context: ContextTypes.DEFAULT_TYPE, action: str, params: dict | None = None, size: int | None = None) -> None:
    """Record one staff action (pseudonym, action, parameters, result size) on the database writer thread."""
    staff = staff_services(context)
    await services(context).write(staff.store.audit, member(context).pseudonym, action, params or {}, size)


# -- the staff command menu -------------------------------------------------------------

def menu_commands(role: str) -> list[str]:
    """The commands shown in a staff chat's menu for ``role``, in menu order."""
    from bot.staff_commands import COMMANDS

    return [name for name, (_, needed, in_menu) in COMMANDS.items() if in_menu and role_allows(role, needed)]


async def ensure_menu(update: Update, context: ContextTypes.DEFAULT_TYPE, found: StaffMember) -> None:
    """Set this staff chat's command menu (once, and again when the role or the chat changed).

    The menus set are kept, sealed, in ``bot_state``: after a restart the bot
    neither sets them again nor forgets to take them away from someone revoked.
    """
    staff = staff_services(context)
    chat_id = update.effective_chat.id
    if staff.menus.get(found.pseudonym) == (chat_id, found.role):
        return
    texts, lang = services(context).texts, language_of(update, context)
    commands = [BotCommand(name, texts(lang, f"cmd_{name}")) for name in menu_commands(found.role)]
    commands.append(BotCommand("help", texts(lang, "cmd_help")))
    try:
        await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except Exception as exc:  # the menu is a convenience; the commands work without it
        log.warning("could not set a staff menu (%s)", type(exc).__name__)
        return
    staff.menus[found.pseudonym] = (chat_id, found.role)
    await _remember_menu(staff, found.pseudonym, {"chat": chat_id, "role": found.role})


async def _remember_menu(staff: StaffServices, pseudonym: str, value: dict | None) -> None:
    await staff.services.write(staff.menu_store.apply, [(MENU_SCOPE, pseudonym, value)])


def _drop_menu_of(staff: StaffServices, application: Application, pseudonym: str) -> None:
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


async def drop_menu(context: ContextTypes.DEFAULT_TYPE, pseudonym: str) -> None:
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


async def _sweep_menus_forever(application: Application, every: float) -> None:
    while True:
        try:
            await sweep_menus(application)
        except Exception:  # a database hiccup: try again at the next sweep
            log.exception("staff menu sweep failed")
        await asyncio.sleep(every)


def start_staff(application: Application) -> None:
    """At start: sweep the staff menus now and every ``MENU_SWEEP_SECONDS``."""
    staff: StaffServices = application.bot_data[STAFF_SERVICES]
    staff.sweeper = asyncio.get_running_loop().create_task(_sweep_menus_forever(application, MENU_SWEEP_SECONDS))


async def stop_staff(application: Application) -> None:
    staff: StaffServices = application.bot_data[STAFF_SERVICES]
    if staff.sweeper is not None:
        staff.sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await staff.sweeper
        staff.sweeper = None


# -- wiring ---------------------------------------------------------------------------

def add_staff_handlers(application: Application, group: int = 0) -> None:
    """Register the staff commands and buttons in ``group``, before the contributor handlers there."""
    from bot.staff_commands import BUTTONS, COMMANDS, join_handler

    svc: Services = application.bot_data["services"]
    evidence = svc.evidence
    menu_store = evidence.stores.chat_states
    staff = StaffServices(
        services=svc,
        store=evidence.stores.staff,
        curator=Curator(evidence),
        menu_store=menu_store,
        menus={alias: (kept["chat"], kept["role"]) for alias, kept in menu_store.load(MENU_SCOPE).items()},
    )
    application.bot_data[STAFF_SERVICES] = staff
    handlers = [join_handler()]
    handlers += [StaffCommand(name, callback, role, staff, application) for name, (callback, role, _) in COMMANDS.items()]
    handlers += [StaffButton(pattern, callback, role, staff, application) for pattern, (callback, role) in BUTTONS.items()]
    application.add_handlers(handlers, group=group)
