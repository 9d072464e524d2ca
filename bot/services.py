"""What the bot's handlers use: the evidence base, settings, texts, flood guard and background indexer.

One ``Services`` per Application, kept in ``application.bot_data`` (which is
not persisted) and reached from a handler as ``context.services``
(``bot.context.BotContext``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from analysis.evidence import EvidenceBase
from corpus.settings import Settings
from corpus.store import CorpusStore

from bot.config import BotSettings
from bot.flood import FloodGuard
from bot.persistence import StateSaver
from bot.texts import Catalogue

log = logging.getLogger(__name__)

SERVICES = "services"
INDEXER_NICENESS = 10
T = TypeVar("T")


class SerialWorker:
    """Runs functions on one thread of its own, in the order they were handed in.

    ``niceness`` above 0 lowers that thread's CPU priority by as much (Linux
    schedules threads one by one), so its work takes only the CPU that the
    rest leaves.
    """

    def __init__(self, name: str, niceness: int = 0) -> None:
        initializer = partial(_lower_priority, niceness) if niceness else None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name, initializer=initializer)

    async def __call__(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(function, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def _lower_priority(niceness: int) -> None:
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + niceness))
    except (AttributeError, OSError) as exc:  # not Linux, or not allowed: the thread runs at normal priority
        log.info("could not lower the indexer's priority (%s)", exc.__class__.__name__)


class DatabaseWriter(SerialWorker):
    """Runs every database write of the bot on one thread, in order.

    SQLite allows one writer at a time; writers on several threads make its
    busy handler sleep (up to 100 ms a try), which under load costs far more
    than waiting in line here. Reads still run on the default thread pool.
    """

    def __init__(self) -> None:
        super().__init__("lnob-db-write")


class BackgroundIndexer:
    """Embeds and indexes stored contributions after the thank-you, one batch at a time.

    Contributions are committed before they are submitted here, so nothing is
    lost if this falls behind or the bot stops: they stay ``pending`` and
    ``index_pending`` (run at every start) picks them up.
    """

    def __init__(self, evidence: EvidenceBase, *, backlog_at_start: bool = True, batch_window: float = 0.25) -> None:
        self.evidence = evidence
        self.backlog_at_start = backlog_at_start
        self.batch_window = batch_window  # gather what arrives meanwhile: bigger batches embed faster
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._batch = asyncio.Lock()  # held while a batch is embedded and written to the index
        # Embedding is the bot's largest CPU cost and nobody waits for it: on its own thread at low
        # priority it uses the CPU the conversations leave (see bench/bench_bot.py in BENCHMARKS.md).
        self._thread = SerialWorker("lnob-index", niceness=INDEXER_NICENESS)

    def paused(self) -> asyncio.Lock:
        """Hold this (``async with``) to run between batches: erasure does, so that a batch
        embedded before an erasure cannot put the erased vectors back into the index afterwards."""
        return self._batch

    def start(self) -> None:
        """Start the worker (first the backlog left by earlier runs)."""
        if self._task is None:
            if self.backlog_at_start:
                self._idle.clear()
            self._task = asyncio.create_task(self._work(), name="lnob-indexer")

    def submit(self, ids: Sequence[str]) -> None:
        """Queue stored testimonies for embedding and indexing."""
        for testimony_id in ids:
            self._queue.put_nowait(testimony_id)
        self._idle.clear()

    async def join(self) -> None:
        """Wait until everything submitted so far (and the start-up backlog) is indexed or failed."""
        await self._idle.wait()

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued (up to ``timeout`` seconds), then stop; the rest stays pending in the database."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.join(), timeout)
        except TimeoutError:
            log.warning("indexer stopped with %d contributions queued; they stay pending", self._queue.qsize())
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    async def _work(self) -> None:
        if self.backlog_at_start:
            await self._run(self.evidence.index_pending)
        while True:
            if self._queue.empty():
                self._idle.set()
            ids = [await self._queue.get()]
            await asyncio.sleep(self.batch_window)
            while not self._queue.empty():
                ids.append(self._queue.get_nowait())
            await self._run(self.evidence.index_ids, ids)

    async def _run(self, function, *args) -> None:
        try:
            async with self._batch:
                report = await self._thread(function, *args)
        except Exception as exc:  # index_ids itself never raises for embedding errors; a database error may
            log.warning("background indexing failed (%s); the contributions stay pending", exc.__class__.__name__)
            return
        if report.failed:
            log.warning("%d contributions could not be indexed; they stay pending", report.failed)


@dataclass
class Services:
    """Everything a handler needs besides the update."""

    settings: Settings
    bot_settings: BotSettings
    evidence: EvidenceBase
    texts: Catalogue | None = None  # default: analysis/texts.yaml and the driver labels of the evidence base's codebook
    flood: FloodGuard | None = None
    indexer: BackgroundIndexer | None = None
    state_saver: StateSaver = field(default_factory=StateSaver)
    write: DatabaseWriter = field(default_factory=DatabaseWriter)
    ner: dict[str, str | None] | None = None  # language -> pipeline hiding names and places (None: none); set at start
    trail_sweeper: asyncio.Task | None = None  # prunes the chats' message ids (bot.clearing)

    def __post_init__(self) -> None:
        if self.texts is None:
            self.texts = Catalogue.load(self.evidence.codebook)
        if self.flood is None:
            self.flood = FloodGuard(self.bot_settings.flood_messages_per_minute, 60.0)
        if self.indexer is None:
            self.indexer = BackgroundIndexer(self.evidence)

    @property
    def store(self) -> CorpusStore:
        return self.evidence.store
