"""Charts, quote exports and reports in chat: ``/chart``, ``/export``, ``/report``.

Charts are PNG images (``analysis.reports`` draws them from the evidence);
exports and reports are files written and registered by ``analysis.reports``
(quote consent re-checked, redacted text only, provenance on every quote), then
sent as documents. A report can take a while: it is written in the
background, so the staff member can go on working meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from pathlib import Path

from telegram import InlineKeyboardMarkup, Update

from analysis.explore import theme_quotes
from analysis.reports.explorer import write_explorer
from analysis.reports import (
    EXPORT_FORMATS,
    REPORT_FORMATS,
    REPORT_LANGUAGES,
    countries_with_data,
    drivers_chart,
    generate_report,
    has_data,
    report_package,
    theme_month_chart,
    themes_chart,
    write_quotes,
)
from corpus.errors import CorpusError, NotFound

from bot.context import BotContext
from bot.messages import cut, language_of, reply
from bot.staff.base import audit, member, staff_services
from bot.staff.search import ParsedSearch, find_quotes, parse_or_explain
from bot.staff.views import buttons, rest_of_message, text, theme_id_arg

log = logging.getLogger(__name__)

EXPORT_QUOTES = 50  # quotes in a theme export
SEARCH_EXPORT_RESULTS = 50
CAPTION_CHARS = 1000


# -- charts ---------------------------------------------------------------------------------

async def chart(update: Update, context: BotContext) -> None:
    """``/chart themes [COUNTRY]``, ``/chart drivers [COUNTRY]``, ``/chart theme ID``: a PNG image."""
    args = [a for a in (context.args or [])]
    kind = args[0].lower() if args else "themes"
    evidence = context.services.evidence
    country = args[1].upper() if len(args) > 1 and kind in ("themes", "drivers") else None
    if country is not None and (len(country) != 2 or not country.isalpha()):
        await reply(update, context, text(update, context, "usage_chart"))
        return
    if kind == "themes":
        draw, params = (lambda: themes_chart(evidence, country)), {"chart": "themes", "country": country}
    elif kind == "drivers":
        draw, params = (lambda: drivers_chart(evidence, country)), {"chart": "drivers", "country": country}
    elif kind == "theme" and len(args) > 1 and theme_id_arg(args[1]) is not None:
        await send_theme_chart(update, context, theme_id_arg(args[1]))
        return
    else:
        await reply(update, context, text(update, context, "usage_chart"))
        return
    png = await asyncio.to_thread(draw)
    await audit(context, "chart", params, 1)
    await _send_photo(update, context, png, text(update, context, f"chart_{kind}", scope=country or "—"))


async def chart_pressed(update: Update, context: BotContext) -> None:
    """The chart button of ``/theme`` (data ``s:c:ID``): the theme by month."""
    await update.callback_query.answer()
    await send_theme_chart(update, context, int(update.callback_query.data.rsplit(":", 1)[1]))


async def send_theme_chart(update: Update, context: BotContext, theme_id: int) -> None:
    try:
        png = await asyncio.to_thread(theme_month_chart, context.services.evidence, theme_id)
    except NotFound:
        await reply(update, context, text(update, context, "theme_not_found", id=theme_id))
        return
    await audit(context, "chart", {"chart": "theme_by_month", "theme": theme_id}, 1)
    await _send_photo(update, context, png, text(update, context, "chart_theme", id=theme_id))


async def _send_photo(update: Update, context: BotContext, png: bytes, caption: str) -> None:
    await context.bot.send_photo(update.effective_chat.id, photo=io.BytesIO(png), caption=cut(caption, CAPTION_CHARS)[0])


# -- exports --------------------------------------------------------------------------------

async def export(update: Update, context: BotContext) -> None:
    """``/export ID [csv|md|docx]`` (a theme's quotes) or ``/export search TEXT [filters] [format:docx]``."""
    args = context.args or []
    if args and args[0].lower() == "search":
        source = rest_of_message(update).split(maxsplit=1)
        parsed = await parse_or_explain(update, context, source[1] if len(source) > 1 else "", allow_format=True)
        if parsed is not None:
            await _export_search(update, context, parsed, parsed.format or "csv")
        return
    theme_id = theme_id_arg(args[0]) if args else None
    fmt = args[1].lower() if len(args) > 1 else "csv"
    if theme_id is None or fmt not in EXPORT_FORMATS:
        await reply(update, context, text(update, context, "usage_export"))
        return
    await _export_theme(update, context, theme_id, fmt)


async def export_pressed(update: Update, context: BotContext) -> None:
    """The export button of ``/theme`` (data ``s:x:ID``): which format?"""
    await update.callback_query.answer()
    theme_id = int(update.callback_query.data.rsplit(":", 1)[1])
    keyboard = InlineKeyboardMarkup(buttons([(fmt.upper(), f"s:xf:{theme_id}:{fmt}") for fmt in EXPORT_FORMATS]))
    await reply(update, context, text(update, context, "export_choose", id=theme_id), keyboard)


async def export_format_pressed(update: Update, context: BotContext) -> None:
    """A format button (data ``s:xf:ID:FORMAT``)."""
    await update.callback_query.answer()
    _, _, theme_id, fmt = update.callback_query.data.split(":")
    await _export_theme(update, context, int(theme_id), fmt)


async def export_search_pressed(update: Update, context: BotContext) -> None:
    """The export buttons under ``/search`` results (data ``s:xs:FORMAT``): the staff member's last search."""
    await update.callback_query.answer()
    last = staff_services(context).last_search.get(member(context).pseudonym)
    if last is None:
        await reply(update, context, text(update, context, "export_no_search"))
        return
    query, where = last
    await _export_search(update, context, ParsedSearch(query, where), update.callback_query.data.rsplit(":", 1)[1])


async def _export_theme(update: Update, context: BotContext, theme_id: int, fmt: str) -> None:
    evidence, staff = context.services.evidence, member(context)

    def write():
        theme = evidence.themes.theme(theme_id)
        quotes = theme_quotes(evidence, theme_id, n=EXPORT_QUOTES)
        return write_quotes(evidence, quotes, fmt, title=f"Theme {theme_id}: {theme.label}", kind="theme-quotes",
                            params={"theme": theme_id}, created_by=f"staff:{staff.pseudonym[:12]}")

    try:
        path, registered = await asyncio.to_thread(write)
    except NotFound:
        await reply(update, context, text(update, context, "theme_not_found", id=theme_id))
        return
    count = len(registered.testimony_ids)
    await audit(context, "export.theme", {"theme": theme_id, "format": fmt, "export": registered.id}, count)
    await _send_file(update, context, path, text(update, context, "export_done", count=count, format=fmt.upper()))


async def _export_search(update: Update, context: BotContext, parsed: ParsedSearch, fmt: str) -> None:
    evidence, staff = context.services.evidence, member(context)
    searcher = await staff_services(context).current_searcher()

    def write():
        results = find_quotes(searcher, evidence, parsed, k=SEARCH_EXPORT_RESULTS)
        return write_quotes(evidence, results, fmt, title=f"Search: {parsed.query}", kind="search",
                            params=parsed.params(), created_by=f"staff:{staff.pseudonym[:12]}")

    path, registered = await asyncio.to_thread(write)
    count = len(registered.testimony_ids)
    await audit(context, "export.search", {**parsed.params(), "format": fmt, "export": registered.id}, count)
    await _send_file(update, context, path, text(update, context, "export_done", count=count, format=fmt.upper()))


async def _send_file(update: Update, context: BotContext, path: Path, caption: str) -> None:
    with path.open("rb") as handle:
        await _send_document(update, context, path.name, handle, caption)


async def _send_document(update: Update, context: BotContext, filename: str, document, caption: str) -> None:
    await context.bot.send_document(update.effective_chat.id, document=document, filename=filename,
                                    caption=cut(caption, CAPTION_CHARS)[0])


# -- reports --------------------------------------------------------------------------------

async def report(update: Update, context: BotContext) -> None:
    """``/report COUNTRY|global [docx|md|html] [en|fr|es|sw]``: written in the background, then sent as a document.

    The format and the language come in either order after the scope; the report is in the staff member's chat
    language unless another is named. DOCX and HTML hold their charts; Markdown comes as a zip of the report and
    its chart images. A country without contributions is answered at once, with the countries that have data.
    """
    args = context.args or []
    scope = args[0] if args else ""
    options = [a.lower() for a in args[1:]]
    formats = [a for a in options if a in REPORT_FORMATS]
    languages = [a for a in options if a in REPORT_LANGUAGES]
    is_global = scope.lower() == "global"
    if (not scope or len(options) != len(formats) + len(languages) or len(formats) > 1 or len(languages) > 1
            or not (is_global or (len(scope) == 2 and scope.isalpha()))):
        await reply(update, context, text(update, context, "usage_report"))
        return
    fmt = formats[0] if formats else "docx"
    language = languages[0] if languages else _report_language(update, context)
    country = None if is_global else scope.upper()
    evidence = context.services.evidence
    if country is not None and not await asyncio.to_thread(has_data, evidence, country):
        with_data = await asyncio.to_thread(countries_with_data, evidence)
        await reply(update, context, text(update, context, "report_no_data", country=country,
                                          countries=", ".join(with_data) or "—"))
        return
    await reply(update, context, text(update, context, "report_started", scope=country or "global"))
    context.application.create_task(_write_report(update, context, country, fmt, language), update=update)


def _report_language(update: Update, context: BotContext) -> str:
    """The staff member's chat language when reports are written in it, else English."""
    language = language_of(update, context)
    return language if language in REPORT_LANGUAGES else "en"


async def _write_report(update: Update, context: BotContext, country: str | None, fmt: str, language: str) -> None:
    evidence, staff = context.services.evidence, member(context)
    try:
        result = await asyncio.to_thread(generate_report, evidence, country, fmt, language=language,
                                         created_by=f"staff:{staff.pseudonym[:12]}")
    except CorpusError as exc:
        await reply(update, context, text(update, context, "report_failed", reason=str(exc)))
        return
    caption = text(update, context, "report_done", scope=country or "global", quotes=result.quotes,
                   sections=", ".join(result.sections), seconds=result.seconds)
    await audit(context, "report", {"country": country, "format": fmt, "language": language,
                                    "export": result.export_id}, result.quotes)
    name, content = await asyncio.to_thread(report_package, result)
    await _send_document(update, context, name, io.BytesIO(content), caption)


# -- the theme explorer ---------------------------------------------------------------------

async def explore_file(update: Update, context: BotContext) -> None:
    """``/explore``: the offline theme explorer (one HTML file), made in the background and sent as a document."""
    await reply(update, context, text(update, context, "explore_started"))
    context.application.create_task(_write_explorer(update, context), update=update)


async def _write_explorer(update: Update, context: BotContext) -> None:
    evidence, staff = context.services.evidence, member(context)
    started = time.perf_counter()
    try:
        path, export = await asyncio.to_thread(write_explorer, evidence, created_by=f"staff:{staff.pseudonym[:12]}")
    except CorpusError as exc:
        await reply(update, context, text(update, context, "explore_failed", reason=str(exc)))
        return
    points = len(export.testimony_ids or [])
    await audit(context, "explore", {"export": export.id}, points)
    caption = text(update, context, "explore_done", points=points, seconds=round(time.perf_counter() - started, 1))
    content = await asyncio.to_thread(path.read_bytes)
    await _send_document(update, context, path.name, io.BytesIO(content), caption)

