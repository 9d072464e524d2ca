"""Exploring the evidence in chat: ``/themes`` (paged), ``/theme ID``, ``/quotes ID``, ``/drivers``, ``/stats``, ``/gaps``.

The numbers come from ``analysis.explore`` and ``analysis.gaps`` (the same as
the CLI's); every count is shown under the small-cell rule of
``analysis.counting`` (a cell resting on fewer than ``settings.small_cell``
contributors as "<5", one that would let it be worked out as "≥5"), and
quotes are consented, redacted and never hidden ones
(``analysis.explore.theme_quotes``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from analysis.evidence import EvidenceBase
from analysis.counting import Breakdown, Cell, cell_of, protect
from analysis.explore import (
    in_shown_order,
    list_themes,
    shown_row,
    shown_themes,
    theme_cells,
    theme_quotes,
    theme_row,
    unthemed_count,
)
from analysis.gaps import breakdowns, compute_gaps, count_by, count_of
from analysis.quotes import Quote
from analysis.reports import QUOTE_CANDIDATES
from analysis.search import TestimonyTable
from corpus.errors import NotFound
from corpus.redaction import ner_languages

from bot.context import BotContext
from bot.messages import language_of, reply
from bot.staff.base import audit, staff_services
from bot.staff.views import (
    buttons,
    cells,
    driver_keys,
    driver_name,
    people,
    quote_block,
    small_cell,
    text,
    theme_id_arg,
)
from bot.texts import Html, escape

THEMES_PER_PAGE = 8
MORE_QUOTES = 10
BREAKDOWN_FIELDS = ("country", "organisation", "gender", "age_band", "group")


@dataclass
class ThemeCard:
    """What ``/theme`` shows: the theme's row, its breakdowns and representative quotes."""

    row: dict  # as staff see it (``analysis.explore.shown_row``)
    total: Cell
    breakdowns: dict[str, Breakdown]
    quotes: list[Quote]


def theme_card(evidence: EvidenceBase, theme_id: int, n_quotes: int = 3, catalogue: TestimonyTable | None = None) -> ThemeCard:
    """The content of ``/theme ID``: one read of the members, shared by the breakdowns and the quotes.

    Membership is always read fresh from the theme store. With ``catalogue``
    (the search catalogue the bot keeps in memory) the members' records come
    from it and only those it lacks from the database; the quotes shown are
    re-read from the database either way, so consent and erasure are
    respected at once. Quotes are chosen among the ``QUOTE_CANDIDATES`` most
    central quotable members (and any pinned one), as reports do, so a large
    theme answers fast.
    """
    theme = evidence.themes.theme(theme_id)
    ids = [m.testimony_id for m in evidence.themes.members(theme_id)]  # most central first
    known = catalogue.records if catalogue is not None else {}
    missing = [i for i in ids if i not in known]
    fetched = {r.id: r for r in evidence.store.records(missing)} if missing else {}
    records = [known.get(i) or fetched.get(i) for i in ids]
    records = [r for r in records if r is not None]
    total = count_of(records)
    small = evidence.settings.small_cell
    cell = theme_cells(evidence).themes.get(theme_id) or cell_of(total, small)
    pinned = evidence.stores.curation.pinned(theme_id)
    quotable = [r for r in records if r.quotable]
    candidates = quotable[:QUOTE_CANDIDATES] + [r for r in quotable[QUOTE_CANDIDATES:] if r.id in pinned]
    quotes = theme_quotes(evidence, theme_id, n=n_quotes + 2, records=candidates, pinned=pinned)
    current = {r.id: r for r in evidence.store.records([q.id for q in quotes])} if quotes else {}
    quotes = [replace(q, text=current[q.id].text) for q in quotes if q.id in current and current[q.id].quotable][:n_quotes]
    return ThemeCard(
        row=shown_row(theme_row(theme, total.contributions, total.contributors), cell)
        | {"status": theme.status, "merged_into": theme.merged_into},
        total=cell,
        breakdowns={name: protect(counts, small) for name, counts in breakdowns(records, BREAKDOWN_FIELDS).items()},
        quotes=quotes,
    )


# -- /themes ------------------------------------------------------------------------------

async def show_themes(update: Update, context: BotContext) -> None:
    """``/themes``: the first page of themes, with buttons to page and to open one."""
    rows = await asyncio.to_thread(shown_themes, context.services.evidence)
    page_text, keyboard = _themes_page(update, context, rows, 0)
    await audit(context, "themes", {"page": 1}, len(rows))
    await reply(update, context, page_text, keyboard)


async def themes_page_pressed(update: Update, context: BotContext) -> None:
    """A page button under ``/themes`` (data ``s:tp:N``): the same message shows page N."""
    query = update.callback_query
    await query.answer()
    page = int(query.data.rsplit(":", 1)[1])
    rows = await asyncio.to_thread(shown_themes, context.services.evidence)
    page_text, keyboard = _themes_page(update, context, rows, page)
    try:
        await query.edit_message_text(page_text, reply_markup=keyboard)
    except BadRequest as exc:  # the same page pressed twice
        if "not modified" not in str(exc):
            raise
    await audit(context, "themes", {"page": page + 1}, len(rows))


def _themes_page(update: Update, context: BotContext, rows: list[dict], page: int) -> tuple[Html, InlineKeyboardMarkup | None]:
    lang = language_of(update, context)
    if not rows:
        return text(update, context, "themes_none"), None
    pages = (len(rows) + THEMES_PER_PAGE - 1) // THEMES_PER_PAGE
    page = max(0, min(page, pages - 1))
    shown = rows[page * THEMES_PER_PAGE : (page + 1) * THEMES_PER_PAGE]
    lines = [text(update, context, "themes_header", page=page + 1, pages=pages, count=len(rows))]
    for row in shown:  # sizes and contributors already under the small-cell rule (``shown_themes``)
        lines.append(
            text(update, context, "themes_line", id=row["id"], label=row["label"], size=row["size"],
                 people=row["contributors"], driver=driver_name(context, lang, row["primary_driver"]),
                 change=row["change"])
        )
    keyboard = buttons([(f"#{row['id']}", f"s:t:{row['id']}") for row in shown], per_row=4)
    nav = []
    if page > 0:
        nav.append((text(update, context, "btn_previous"), f"s:tp:{page - 1}"))
    if page < pages - 1:
        nav.append((text(update, context, "btn_next"), f"s:tp:{page + 1}"))
    keyboard += buttons(nav)
    return Html("\n".join(lines)), InlineKeyboardMarkup(keyboard)


# -- /theme ID ----------------------------------------------------------------------------

async def show_theme(update: Update, context: BotContext) -> None:
    """``/theme ID``: keywords, drivers, breakdowns with small cells, three quotes, and buttons."""
    theme_id = theme_id_arg(context.args[0] if context.args else None)
    if theme_id is None:
        await reply(update, context, text(update, context, "usage_theme"))
        return
    await _send_theme(update, context, theme_id)


async def theme_pressed(update: Update, context: BotContext) -> None:
    """A theme button under ``/themes`` (data ``s:t:ID``)."""
    await update.callback_query.answer()
    await _send_theme(update, context, int(update.callback_query.data.rsplit(":", 1)[1]))


async def _send_theme(update: Update, context: BotContext, theme_id: int) -> None:
    evidence, searcher = context.services.evidence, staff_services(context).searcher
    catalogue = searcher._catalogue if searcher is not None else None
    try:
        card = await asyncio.to_thread(theme_card, evidence, theme_id, catalogue=catalogue)
    except NotFound:
        await reply(update, context, text(update, context, "theme_not_found", id=theme_id))
        return
    await audit(context, "theme", {"theme": theme_id}, len(card.quotes))
    await reply(update, context, render_theme(update, context, card), _theme_buttons(update, context, theme_id))


def render_theme(update: Update, context: BotContext, card: ThemeCard) -> Html:
    lang, small, row = language_of(update, context), small_cell(context), card.row
    parts = [text(update, context, "theme_title", id=row["id"], label=row["label"])]
    if row["status"] != "active":
        parts.append(text(update, context, "theme_inactive", status=row["status"], into=row["merged_into"] or "—"))
    parts.append(text(update, context, "theme_size", size=card.total.label, people=people(card.total),
                      change=row["change"]))
    parts.append(text(update, context, "theme_keywords", keywords=", ".join(row["keywords"]) or "—"))
    also = ", ".join(driver_name(context, lang, d) for d in row["intersecting_drivers"]) or "—"
    parts.append(text(update, context, "theme_drivers", driver=driver_name(context, lang, row["primary_driver"]),
                      also=also, subdriver=row["subdriver"] or "—"))
    for field_name in BREAKDOWN_FIELDS:
        names = _value_names(update, context, field_name)
        parts.append(text(update, context, f"by_{field_name}", cells=cells(card.breakdowns[field_name], small, names)))
    if card.quotes:
        parts.append(text(update, context, "quotes_header"))
        parts += [quote_block(q, i) for i, q in enumerate(card.quotes, start=1)]
    else:
        parts.append(text(update, context, "quotes_none"))
    return Html("\n".join(parts[:1] + [""] + parts[1:]))


def _value_names(update: Update, context: BotContext, field_name: str) -> dict[str, str]:
    """Labels of profile answers (groups, genders, age bands) in the staff member's language."""
    prefix = {"gender": "gender_", "age_band": "age_", "group": "group_"}.get(field_name)
    if prefix is None:
        return {}
    table = context.services.texts.texts.get(language_of(update, context), {})
    return {key[len(prefix):]: value for key, value in table.items() if key.startswith(prefix)}


def _theme_buttons(update: Update, context: BotContext, theme_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        buttons(
            [
                (text(update, context, "btn_more_quotes"), f"s:q:{theme_id}"),
                (text(update, context, "btn_export"), f"s:x:{theme_id}"),
                (text(update, context, "btn_chart"), f"s:c:{theme_id}"),
            ]
        )
    )


# -- /quotes ID ---------------------------------------------------------------------------

async def show_quotes(update: Update, context: BotContext) -> None:
    """``/quotes ID``: up to ten representative quotes of a theme (pinned first)."""
    theme_id = theme_id_arg(context.args[0] if context.args else None)
    if theme_id is None:
        await reply(update, context, text(update, context, "usage_quotes"))
        return
    await _send_quotes(update, context, theme_id)


async def more_quotes_pressed(update: Update, context: BotContext) -> None:
    """The "more quotes" button of ``/theme`` (data ``s:q:ID``)."""
    await update.callback_query.answer()
    await _send_quotes(update, context, int(update.callback_query.data.rsplit(":", 1)[1]))


async def _send_quotes(update: Update, context: BotContext, theme_id: int) -> None:
    evidence = context.services.evidence
    try:
        quotes = await asyncio.to_thread(theme_quotes, evidence, theme_id, n=MORE_QUOTES)
    except NotFound:
        await reply(update, context, text(update, context, "theme_not_found", id=theme_id))
        return
    header = text(update, context, "quotes_of_theme", id=theme_id, count=len(quotes))
    body = [quote_block(q, i) for i, q in enumerate(quotes, start=1)] or [text(update, context, "quotes_none")]
    await audit(context, "quotes", {"theme": theme_id}, len(quotes))
    await reply(update, context, Html("\n\n".join([header, *body])))


# -- /drivers -----------------------------------------------------------------------------

async def show_drivers(update: Update, context: BotContext) -> None:
    """``/drivers``: the five drivers, each with its themes, their sizes, and one quote."""
    evidence, lang = context.services.evidence, language_of(update, context)

    def gather():
        rows = list_themes(evidence)
        cells = theme_cells(evidence, rows)  # theme sizes and drivers' totals, as every view shows them
        found = {}
        for key in driver_keys(context):
            mine = in_shown_order([r for r in rows if r["primary_driver"] == key], cells.themes)
            quote = theme_quotes(evidence, mine[0]["id"], n=1) if mine else []
            found[key] = (mine, quote)
        return found, cells

    found, cells_of = await asyncio.to_thread(gather)
    parts = [text(update, context, "drivers_header")]
    for key, (mine, quote) in found.items():
        total = cells_of.drivers.get(key)
        listing = "; ".join(f"#{r['id']} {escape(r['label'])} ({escape(cells_of.themes[r['id']].label)})" for r in mine)
        parts.append(text(update, context, "drivers_line", driver=driver_name(context, lang, key), count=len(mine),
                          size=total.label if total is not None else "0", themes=Html(listing or "—")))
        if quote:
            parts.append(quote_block(quote[0]))
    await audit(context, "drivers", {}, sum(len(m) for m, _ in found.values()))
    await reply(update, context, Html("\n\n".join(parts)))


# -- /stats -------------------------------------------------------------------------------

async def show_stats(update: Update, context: BotContext) -> None:
    """``/stats``: contributions, contributors, kinds, consent, countries, languages, partners, the last analysis."""
    evidence, small = context.services.evidence, small_cell(context)

    def gather():
        gaps = compute_gaps(evidence)
        records = evidence.store.records()
        languages = count_by(records, lambda r: r.language)
        stored = sorted({r.language for r in records if r.language})
        unredacted = [lang for lang, pipeline in ner_languages(stored, evidence.store.redactor).items() if pipeline is None]
        return (gaps, count_by(records, lambda r: r.kind), count_by(records, lambda r: r.consent_level),
                languages, unredacted, count_by(records, lambda r: r.organisation),
                evidence.themes.last_run(), len(evidence.themes.themes()), unthemed_count(evidence))

    gaps, kinds, consent, languages, unredacted, organisations, run, themes, unthemed = await asyncio.to_thread(gather)
    parts = [
        text(update, context, "stats_total", count=gaps.total.contributions, people=gaps.total.contributors),
        text(update, context, "stats_kinds", cells=cells(kinds, small)),
        text(update, context, "stats_consent", cells=cells(consent, small)),
        text(update, context, "by_country", cells=cells(gaps.by_country, small)),
        text(update, context, "by_organisation", cells=cells(organisations, small)),
        text(update, context, "stats_languages", cells=cells(languages, small)),
    ]
    if unredacted:
        parts.append(text(update, context, "stats_ner_off", languages=", ".join(unredacted)))
    if run is not None:
        parts.append(text(update, context, "stats_run", run=run.id, date=f"{run.finished_at:%Y-%m-%d %H:%M}",
                          themes=themes, unthemed=unthemed))
    else:
        parts.append(text(update, context, "stats_no_run"))
    await audit(context, "stats", {}, gaps.total.contributions)
    await reply(update, context, Html("\n".join(parts)))


# -- /gaps --------------------------------------------------------------------------------

async def show_gaps(update: Update, context: BotContext) -> None:
    """``/gaps [COUNTRY]``: counts by country (or region), driver and group; thin and empty cells; partners."""
    country = context.args[0].upper() if context.args else None
    if country and (len(country) != 2 or not country.isalpha()):
        await reply(update, context, text(update, context, "usage_gaps"))
        return
    evidence, lang, small = context.services.evidence, language_of(update, context), small_cell(context)
    gaps = await asyncio.to_thread(compute_gaps, evidence, country)
    drivers = {k: driver_name(context, lang, k) for k in gaps.by_driver}
    groups = _value_names(update, context, "group")
    listing = lambda items: ", ".join(escape(i) for i in items) or "—"  # noqa: E731
    parts = [
        text(update, context, "gaps_header", scope=country or text(update, context, "scope_global"), small=small,
             count=gaps.total_cell.label, people=people(gaps.total_cell)),
        text(update, context, "by_region" if country else "by_country",
             cells=cells(gaps.breakdown("region" if country else "country"), small)),
        text(update, context, "by_driver", cells=cells(gaps.breakdown("driver"), small, drivers)),
        text(update, context, "by_group", cells=cells(gaps.breakdown("group"), small, groups, limit=len(gaps.by_group))),
        text(update, context, "gaps_thin_groups", small=small, groups=listing(groups.get(g, g) for g in gaps.thin_groups)),
        text(update, context, "gaps_absent_groups", groups=listing(groups.get(g, g) for g in gaps.absent_groups)),
        text(update, context, "gaps_thin_places", small=small,
             places=listing(gaps.thin_regions if country else gaps.thin_countries)),
        text(update, context, "gaps_absent_drivers", drivers=listing(drivers[d] for d in gaps.absent_drivers)),
        text(update, context, "gaps_empty_cells",
             cells=listing(f"{p} · {drivers.get(d, d)}" for p, d in gaps.empty_place_drivers[:30])),
        text(update, context, "gaps_overlaps"),
    ]
    parts += [f"#{o.theme_id} {escape(o.label)}: {cells(o.shown, small)}" for o in gaps.overlaps[:20]] or ["—"]
    parts.append(text(update, context, "gaps_single"))
    parts += [f"#{o.theme_id} {escape(o.label)}: {cells(o.shown, small)}" for o in gaps.single_partner[:20]] or ["—"]
    await audit(context, "gaps", {"country": country}, gaps.total.contributions)
    await reply(update, context, Html("\n".join(parts)))
