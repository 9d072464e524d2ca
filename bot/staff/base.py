"""What every staff command shares: ``StaffServices``, the staff member behind an update, the audit.

``StaffServices`` is made once per Application at wiring time
(``bot.staff.wiring``) and holds the staff store, one ``Searcher`` (built on
first use, rebuilt in the background and swapped in whole), the curator, the
running analysis, the chat menus set, and the command table it was wired
with (from which the menu and the staff help are built).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

from analysis.curation import Curator
from analysis.evidence import EvidenceBase
from analysis.search import Searcher
from corpus.chatstate import ChatStateStore
from corpus.staff import StaffMember, StaffStore, role_allows

from bot.context import BotContext
from bot.services import Services

STAFF_SERVICES = "staff"  # the bot_data key of the Application's StaffServices
BUTTON_PREFIX = "s:"
SEARCH_RECHECK_SECONDS = 60.0  # how often the corpus size is compared with the search catalogue's

Callback = Callable[[Update, BotContext], Awaitable[Any]]


@dataclass(frozen=True)
class CommandTable:
    """The staff commands and buttons: ``commands`` name -> (handler, least role, shown in the menu),
    ``buttons`` callback-data pattern after ``s:`` -> (handler, least role)."""

    commands: Mapping[str, tuple[Callback, str, bool]]
    buttons: Mapping[str, tuple[Callback, str]]

    def menu(self, role: str) -> list[str]:
        """The commands shown in a staff chat's menu for ``role``, in menu order."""
        return [name for name, (_, needed, in_menu) in self.commands.items() if in_menu and role_allows(role, needed)]


@dataclass
class StaffServices:
    """What the staff handlers share: the staff store, one ``Searcher``, the curator, the running analysis."""

    services: Services
    store: StaffStore
    curator: Curator
    menu_store: ChatStateStore  # where the menus set survive a restart (sealed, scope bot.staff.menu.MENU_SCOPE)
    table: CommandTable
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
    table = searcher._catalogue
    if table is not None and (position := table.position.get(testimony_id)) is not None:
        table.quotable[position] = False


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


def staff_services(context: BotContext) -> StaffServices:
    """The staff services of the Application that runs this handler."""
    return context.application.bot_data[STAFF_SERVICES]


def member(context: BotContext) -> StaffMember:
    """The staff member behind this update (set on the context when a staff handler matched)."""
    if context.staff is None:
        raise RuntimeError("a staff handler ran for an update that no active staff member sent")
    return context.staff


async def audit(context: BotContext, action: str, params: dict | None = None, size: int | None = None) -> None:
    """Record one staff action (pseudonym, action, parameters, result size) on the database writer thread."""
    staff = staff_services(context)
    await context.services.write(staff.store.audit, member(context).pseudonym, action, params or {}, size)
