"""``/search TEXT`` with filters written inline: ``country:NP kind:proposal driver:geography org:plan
since:2026-01 until:2026-06 theme:3 group:disability lang:fr``.

:func:`parse_search` turns the message into the query and an
``analysis.search.SearchFilter`` (or a :class:`FilterError` naming the bad
filter); :func:`find_quotes` runs the application's one ``Searcher`` and
re-reads the hits from the database, so a quote whose contributor has since
withdrawn quote consent or erased it never shows, even before the search
index is rebuilt.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import datetime

from telegram import InlineKeyboardMarkup, Update

from corpus.errors import InvalidText
from corpus.validation import parse_country, parse_date_bound

from analysis.evidence import EvidenceBase
from analysis.gaps import GROUPS
from analysis.search import SearchFilter, Searcher, SearchResult, aggregate_only, relevance

from bot.context import BotContext
from bot.messages import reply
from bot.staff.base import audit, member, staff_services
from bot.staff.views import buttons, driver_keys, quote_block, rest_of_message, text
from bot.texts import Html

RESULTS = 8
FILTERS = ("country", "kind", "driver", "org", "since", "until", "theme", "group", "lang")
KINDS = ("testimony", "proposal")
_TOKEN = re.compile(r"^([A-Za-z_]+):(.*)$")


class FilterError(ValueError):
    """A filter staff wrote that cannot be used: ``key``, ``value`` and the catalogue key of the reason."""

    def __init__(self, key: str, value: str, reason: str) -> None:
        super().__init__(f"{key}:{value} ({reason})")
        self.key, self.value, self.reason = key, value, reason


@dataclass
class ParsedSearch:
    query: str
    where: SearchFilter
    format: str | None = None

    def params(self) -> dict:
        """The search as audit parameters (dates as text)."""
        where = {k: (v.date().isoformat() if isinstance(v, datetime) else v) for k, v in vars(self.where).items() if v is not None}
        return {"query": self.query, **where}


def parse_search(text: str, drivers: tuple[str, ...], organisations: set[str] | None = None,
                 allow_format: bool = False) -> ParsedSearch:
    """The query words and the filters of ``text``; ``FilterError`` for an unknown key or a bad value."""
    words, where, fmt = [], SearchFilter(), None
    for token in text.split():
        match = _TOKEN.match(token)
        if not match or match.group(1).lower() in ("http", "https"):
            words.append(token)
            continue
        key, value = match.group(1).lower(), match.group(2).strip()
        if key not in FILTERS and key != "format" and not value:  # "Notes:" is a word, not a filter
            words.append(token)
            continue
        if allow_format and key == "format":
            if value.lower() not in ("csv", "md", "docx"):
                raise FilterError(key, value, "filter_bad_format")
            fmt = value.lower()
            continue
        if key not in FILTERS:
            raise FilterError(key, value, "filter_unknown")
        if not value:
            raise FilterError(key, value, "filter_empty")
        where = _apply(where, key, value, drivers, organisations)
    return ParsedSearch(" ".join(words), where, fmt)


def _apply(where: SearchFilter, key: str, value: str, drivers, organisations) -> SearchFilter:
    if key == "country":
        try:
            return replace(where, country=parse_country(value))
        except InvalidText:
            raise FilterError(key, value, "filter_bad_country") from None
    if key == "lang":
        if not re.fullmatch(r"[A-Za-z]{2,3}", value):
            raise FilterError(key, value, "filter_bad_language")
        return replace(where, language=value.lower())
    if key == "kind":
        if value.lower() not in KINDS:
            raise FilterError(key, value, "filter_bad_kind")
        return replace(where, kind=value.lower())
    if key == "driver":
        code = value.lower().replace("-", "_")
        code = "socio_economic" if code in ("socioeconomic", "socio") else code
        if code not in drivers:
            raise FilterError(key, value, "filter_bad_driver")
        return replace(where, driver=code)
    if key == "org":
        if organisations is not None and value.lower() not in organisations:
            raise FilterError(key, value, "filter_bad_org")
        return replace(where, organisation=value.lower())
    if key == "group":
        if value.lower() not in GROUPS:
            raise FilterError(key, value, "filter_bad_group")
        return replace(where, group=value.lower())
    if key == "theme":
        if not value.lstrip("#").isdigit():
            raise FilterError(key, value, "filter_bad_theme")
        return replace(where, theme=int(value.lstrip("#")))
    return replace(where, **{key: _date(key, value)})


def _date(key: str, value: str) -> datetime:
    """A day, month or year (``corpus.validation.parse_date_bound``): ``since`` its first day, ``until`` its last."""
    try:
        return parse_date_bound(value, end=key == "until")
    except InvalidText:
        raise FilterError(key, value, "filter_bad_date") from None


def find_quotes(searcher: Searcher, evidence: EvidenceBase, parsed: ParsedSearch, k: int = RESULTS) -> list[SearchResult]:
    """The best ``k`` quotes for a parsed search, each re-read from the database (consent and erasure re-checked)."""
    results = searcher.search(parsed.query, k=k, where=parsed.where)
    current = {r.id: r for r in evidence.store.records([r.id for r in results])}
    kept = []
    for result in results:
        record = current.get(result.id)
        if record is not None and record.quotable:
            kept.append(replace(result, text=record.text))
    return kept


def organisation_codes(evidence: EvidenceBase) -> set[str]:
    return {o.code for o in evidence.store.organisations()}


async def parse_or_explain(update: Update, context: BotContext, source: str,
                           allow_format: bool = False) -> ParsedSearch | None:
    """The parsed search, or None after telling the staff member what is wrong with it."""
    evidence = context.services.evidence
    organisations = await asyncio.to_thread(organisation_codes, evidence)
    try:
        parsed = parse_search(source, driver_keys(context), organisations, allow_format=allow_format)
    except FilterError as error:
        reason = text(update, context, error.reason, value=error.value)
        await reply(update, context, text(update, context, "search_bad_filter", filter=f"{error.key}:{error.value}",
                                          reason=reason, known=", ".join(f"{k}:" for k in FILTERS)))
        return None
    if not parsed.query:
        await reply(update, context, text(update, context, "usage_search"))
        return None
    return parsed


async def search(update: Update, context: BotContext) -> None:
    """``/search TEXT [filters]``: the best consented, redacted quotes, with an export button."""
    parsed = await parse_or_explain(update, context, rest_of_message(update))
    if parsed is None:
        return
    staff = staff_services(context)
    searcher = await staff.current_searcher()
    results = await asyncio.to_thread(find_quotes, searcher, context.services.evidence, parsed)
    staff.last_search[member(context).pseudonym] = (parsed.query, parsed.where)
    await audit(context, "search", parsed.params(), len(results))
    if not results:
        small_cell = context.services.evidence.settings.small_cell
        withheld = await asyncio.to_thread(aggregate_only, searcher, parsed.where, small_cell)
        none = text(update, context, "search_aggregate_only", count=withheld) if withheld else None
        await reply(update, context, none or text(update, context, "search_none"))
        return
    header = text(update, context, "search_header", count=len(results), query=parsed.query)
    blocks = [header] + [
        quote_block(r, i, text(update, context, "search_relevance", value=relevance(r.score, "hybrid", searcher.lexical_weight)))
        for i, r in enumerate(results, start=1)
    ]
    keyboard = InlineKeyboardMarkup(buttons([(f"⬇ {fmt.upper()}", f"s:xs:{fmt}") for fmt in ("csv", "md", "docx")]))
    await reply(update, context, Html("\n\n".join(blocks)), keyboard)
