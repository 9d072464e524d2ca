"""Building and running the bot: one ``Application``, long polling, the handlers in their groups.

    from corpus.settings import Settings
    from bot import run_bot
    run_bot(Settings())          # TELEGRAM_BOT_TOKEN from the environment; blocks until Ctrl-C

``build_application`` is what ``run_bot`` runs and what the tests drive over
HTTP against a fake Bot API server; ``serving`` runs it inside an event loop
that is already running, with the same start and stop sequence as
``Application.run_polling``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from analysis.evidence import EvidenceBase
from corpus.files import use_private_umask
from corpus.redaction import ner_languages
from corpus.settings import Settings

import bot.clearing as clearing
import bot.commands as commands
import bot.guards as guards
from bot.config import BotConfigError, BotSettings
from bot.context import CONTEXT_TYPES
from bot.contributor.conversation import contributor_conversation
from bot.contributor.flow import PRE_CONSENT_STATES
from bot.persistence import DatabasePersistence
from bot.services import SERVICES, Services
from bot.staff.commands import TABLE as STAFF_COMMANDS, join_handler
from bot.staff.wiring import add_staff_handlers, start_staff, stop_staff
from bot.transport import AiohttpRequest

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.CHANNEL_POST, Update.MY_CHAT_MEMBER]
# Bot API calls in flight at once (getUpdates has a connection of its own). Telegram allows a bot about
# 30 messages a second, so with round trips of 0.1 to 0.3 s a few connections carry the whole load; 32
# leave room for bursts of 50 people at a time (one or two calls each per step), and a call waits up to
# POOL_TIMEOUT for a free connection rather than failing at once.
HTTP_CONNECTIONS = 32
POOL_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0  # Telegram answers in well under a second; a loaded server may take a few
WRITE_TIMEOUT = 10.0
MEDIA_WRITE_TIMEOUT = 30.0  # documents and charts sent to staff
COMMANDS = ("share", "propose", "mydata", "delete", "clear", "profile", "language", "privacy", "help", "cancel", "start")
MEDIA = (
    filters.PHOTO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.Sticker.ALL
    | filters.Document.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
    | filters.STORY
)


class OnePersonAtATime(BaseUpdateProcessor):
    """Processes different people's updates concurrently and each person's in the order they came."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _sender(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _sender(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


def build_application(
    settings: Settings, bot_settings: BotSettings | None = None, *, evidence: EvidenceBase | None = None
) -> Application:
    """The bot's Application: handlers, database persistence, rate limiter, per-person ordering.

    ``evidence`` defaults to an ``EvidenceBase`` on ``settings``; pass one to
    share an already loaded embedding model (tests, benchmarks).
    """
    bot_settings = bot_settings or BotSettings()
    token = bot_settings.require_token()
    evidence = evidence or EvidenceBase(settings)
    _quiet_library_loggers()
    services = Services(settings=settings, bot_settings=bot_settings, evidence=evidence)
    persistence = DatabasePersistence(
        evidence.stores.chat_states,
        transient_states=PRE_CONSENT_STATES,
        writer=services.write,
    )
    rate_limiter = AIORateLimiter(
        overall_max_rate=bot_settings.rate_limit_per_second,
        overall_time_period=1,
        group_max_rate=bot_settings.rate_limit_group_per_minute,
        group_time_period=60,
        max_retries=2,
    )
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(bot_settings.telegram_api_url)
        .base_file_url(bot_settings.resolved_file_url)
        .context_types(CONTEXT_TYPES)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(rate_limiter)
        .persistence(persistence)
        .concurrent_updates(OnePersonAtATime(bot_settings.max_concurrent_updates))
        .request(_bot_api_request(HTTP_CONNECTIONS))
        .get_updates_request(_bot_api_request(1))  # python-telegram-bot adds the polling timeout to its read timeout
        .post_init(_on_start)
        .post_stop(_on_stop)
        .post_shutdown(_on_shutdown)
        .build()
    )
    application.bot_data[SERVICES] = services
    _add_handlers(application)
    return application


def _bot_api_request(connections: int) -> AiohttpRequest:
    """The HTTP client of Bot API calls (see ``bot.transport`` for why not python-telegram-bot's own)."""
    return AiohttpRequest(
        connections,
        pool_timeout=POOL_TIMEOUT,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        write_timeout=WRITE_TIMEOUT,
        media_write_timeout=MEDIA_WRITE_TIMEOUT,
    )


def _add_handlers(application: Application) -> None:
    application.add_handler(TypeHandler(Update, clearing.note_incoming), group=-3)  # every message, even one dropped later
    application.add_handler(TypeHandler(Update, guards.keep_to_private_chats), group=-2)
    application.add_handler(TypeHandler(Update, guards.limit_floods), group=-1)
    # first in group 0: staff commands match before the contributor ones
    add_staff_handlers(application, STAFF_COMMANDS, join_handler(), group=0)
    application.add_handlers(
        [
            contributor_conversation(),
            CommandHandler("help", commands.show_help),
            CommandHandler("language", commands.choose_language),
            CommandHandler("privacy", commands.show_privacy),
            CommandHandler("mydata", commands.show_my_data),
            CommandHandler("clear", clearing.offer),
            CallbackQueryHandler(commands.language_chosen, pattern=r"^lang:"),
            CallbackQueryHandler(clearing.chosen, pattern=rf"^{clearing.CLEAR}:(yes|no)$"),
            MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, commands.message_edited),
            MessageHandler(filters.UpdateType.MESSAGE & (filters.VOICE | filters.AUDIO), commands.voice_received),
            MessageHandler(filters.UpdateType.MESSAGE & MEDIA, commands.media_received),
            MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, commands.unknown_command),
            CallbackQueryHandler(commands.stale_button),
        ],
        group=0,
    )
    application.add_handler(TypeHandler(Update, guards.save_conversation_state), group=1)
    application.add_error_handler(guards.report_error)


async def _on_start(application: Application) -> None:
    """Publish the command menu in every language; start indexing (the backlog first)."""
    svc: Services = application.bot_data[SERVICES]
    for language in (None, *svc.texts.languages):
        lang = language or "en"
        menu = [BotCommand(name, svc.texts(lang, f"cmd_{name}")) for name in COMMANDS]
        await application.bot.set_my_commands(menu, language_code=language)
    svc.ner = await asyncio.to_thread(ner_languages, svc.texts.languages, svc.store.redactor)
    svc.indexer.start()
    svc.trail_sweeper = asyncio.get_running_loop().create_task(clearing.sweep_forever(application))
    start_staff(application)
    log.info("bot started; contributions are indexed in the background")


async def _on_stop(application: Application) -> None:
    services: Services = application.bot_data[SERVICES]
    if services.trail_sweeper is not None:
        services.trail_sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await services.trail_sweeper
        services.trail_sweeper = None
    await stop_staff(application)
    await services.indexer.stop()


async def _on_shutdown(application: Application) -> None:
    """Close the database writer after ``Application.shutdown`` has written the last conversation states."""
    application.bot_data[SERVICES].write.close()


def _quiet_library_loggers() -> None:
    """python-telegram-bot's and httpx's debug and info logs contain texts, chat ids and the token."""
    for name in ("telegram", "httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def _embed_on_one_thread() -> None:
    """Let the background embedder use one CPU thread, so that the event loop keeps a core to answer people.

    torch's default is a thread per core, whose workers also spin between
    batches; on a small machine that takes the cores the conversation needs,
    and the bot embeds a few short texts at a time, where more threads hardly
    help. torch reads ``OMP_NUM_THREADS`` when it is first imported (when the
    model loads); a value set by the operator is kept.
    """
    threads = os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch = sys.modules.get("torch")  # already imported: too late for the variable
    if torch is not None and threads.isdigit():
        torch.set_num_threads(int(threads))


@asynccontextmanager
async def serving(
    application: Application, *, poll_interval: float | None = None, timeout: int | None = None
) -> AsyncIterator[Application]:
    """Run ``application`` with long polling in the current event loop, as ``run_polling`` does, until exit."""
    bot_settings: BotSettings = application.bot_data[SERVICES].bot_settings
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.updater.start_polling(
            poll_interval=bot_settings.poll_interval if poll_interval is None else poll_interval,
            timeout=bot_settings.poll_timeout if timeout is None else timeout,
            allowed_updates=ALLOWED_UPDATES,
        )
        await application.start()
        try:
            yield application
        finally:
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
                if application.post_stop:
                    await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


async def wait_for_bot_api(bot_settings: BotSettings, *, first_delay: float = 1.0, max_delay: float = 60.0) -> bool:
    """Return True once the Bot API answers ``getMe`` for the token; until then retry with back-off.
    Return False when the process is told to stop (SIGINT, SIGTERM) first.

    Each failed try is one warning line (where, why, when the next try is),
    never a traceback: a network that comes back later is normal, not a bug.
    A token the server refuses is ``BotConfigError``: retrying cannot help.
    A stop is caught by a signal handler of its own and ends a try under way,
    rather than relying on asyncio's cancellation reaching through the HTTP
    library (under heavy load a test once saw the bot still retrying 60 s
    after Ctrl-C; the cause was not pinned down).
    """
    token = bot_settings.require_token()
    where = _api_address(bot_settings.telegram_api_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            loop.add_signal_handler(number, stop.set)
            handled.append(number)
    try:
        delay, tries = first_delay, 0
        while True:
            tries += 1
            attempt = asyncio.ensure_future(_get_me(token, bot_settings))
            if not await _unless_stopped(attempt, stop):
                return False
            try:
                attempt.result()
                break
            except InvalidToken:
                raise BotConfigError(
                    f"the Bot API at {where} refused TELEGRAM_BOT_TOKEN: copy the token again from @BotFather"
                ) from None
            except (NetworkError, RetryAfter) as exc:
                reason = str(exc).replace(token, "<token>").splitlines()[0][:200] if str(exc) else type(exc).__name__
                log.warning("cannot reach the Bot API at %s (%s); retrying in %.0f s", where, reason, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return False
            delay = min(delay * 2, max_delay)
    finally:
        for number in handled:
            loop.remove_signal_handler(number)
    if tries > 1:
        log.warning("reached the Bot API at %s", where)
    return True


async def _get_me(token: str, bot_settings: BotSettings) -> None:
    async with Bot(token, base_url=bot_settings.telegram_api_url, base_file_url=bot_settings.resolved_file_url):
        pass


async def _unless_stopped(attempt: asyncio.Future, stop: asyncio.Event) -> bool:
    """Wait for ``attempt``; False (and the attempt cancelled) when ``stop`` is set first."""
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({attempt, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if stop.is_set():
        attempt.cancel()
        with contextlib.suppress(BaseException):
            await attempt
        return False
    stopper.cancel()
    return True


def _api_address(url: str) -> str:
    """Scheme, host and port of the Bot API URL: never its path, which may hold the token."""
    parsed = urlsplit(url)
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else "the configured LNOB_TELEGRAM_API_URL"


def run_bot(settings: Settings, bot_settings: BotSettings | None = None) -> None:
    """Run the bot with long polling until interrupted (``lnob bot``).

    Raises ``BotConfigError`` without a token (or with one the Bot API refuses)
    and ``corpus.errors.DatabaseUnavailable`` when the database is unreachable
    or not migrated. An unreachable Bot API is waited for (``wait_for_bot_api``).
    """
    use_private_umask()  # what the bot and its libraries write is private: see corpus.files
    bot_settings = bot_settings or BotSettings()
    bot_settings.require_token()
    evidence = EvidenceBase(settings)
    evidence.store.check()
    _embed_on_one_thread()
    _quiet_library_loggers()  # before the first request: httpx logs each URL, and the URL holds the token
    try:
        reached = asyncio.run(wait_for_bot_api(bot_settings))
    except KeyboardInterrupt:
        reached = False
    if not reached:
        log.warning("stopped before the Bot API could be reached")
        return
    application = build_application(settings, bot_settings, evidence=evidence)
    application.run_polling(
        poll_interval=bot_settings.poll_interval,
        timeout=bot_settings.poll_timeout,
        allowed_updates=ALLOWED_UPDATES,
        bootstrap_retries=-1,  # a Bot API lost again since the wait above: python-telegram-bot retries quietly
    )
