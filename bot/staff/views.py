"""How staff replies are written: texts in the staff member's language, counts under the small-cell rule,
quotes with their provenance, driver names from the evidence base's codebook. Everything from the corpus
is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from telegram import InlineKeyboardButton, Update

from analysis.counting import WITHHELD_TEXT, Breakdown, Cell, Count, protect

from bot.context import BotContext
from bot.messages import language_of
from bot.texts import Html, escape

QUOTE_CHARS = 700  # a quote longer than this is cut in chat (exports carry the whole text)
CELLS_SHOWN = 12


def text(update: Update, context: BotContext, key: str, **values) -> Html:
    """The catalogue text ``key`` in the staff member's language."""
    return context.services.texts(language_of(update, context), key, **values)


def driver_name(context: BotContext, lang: str, key: str | None) -> str:
    """A driver's name in ``lang`` (plain text): the codebook's, else the key itself."""
    if not key:
        return "—"
    try:
        return context.services.evidence.codebook.get(key).name(lang)
    except KeyError:
        return key


def driver_keys(context: BotContext) -> tuple[str, ...]:
    """The codebook's driver keys, in codebook order."""
    return context.services.evidence.codebook.keys


def small_cell(context: BotContext) -> int:
    return context.services.evidence.settings.small_cell


def cells(counts: Breakdown | Mapping[str, Count], small: int, names: Mapping[str, str] | None = None,
          limit: int = CELLS_SHOWN) -> Html:
    """``KE 12 · BD ≥5 · NP <5 · ...``: the first ``limit`` cells of a breakdown under the small-cell rule
    (raw counts are protected here: ``analysis.counting.protect``)."""
    shown = counts if isinstance(counts, Breakdown) else protect(counts, small)
    if shown.withheld:
        return Html(escape(WITHHELD_TEXT))
    names = names or {}
    items = list(shown.items())
    parts = [f"{escape(names.get(value, value))} {escape(cell.label)}" for value, cell in items[:limit]]
    if len(items) > limit:
        parts.append("…")
    return Html(" · ".join(parts) or "—")


def people(cell: Cell) -> str:
    """A cell's contributors as shown: the number, "<5" or "≥5"."""
    return cell.people


def short(testimony_id: str) -> str:
    """The short id staff type back (``/pin``, ``/hide``): the first 8 characters."""
    return testimony_id[:8]


def quote_block(quote, number: int | None = None, relevance: str | None = None) -> Html:
    """A quote (``Quote`` or ``SearchResult``) with its provenance: short id, country, organisation, date, kind,
    language, and (a search's) ``relevance`` as worded for the reader."""
    body = quote.text if len(quote.text) <= QUOTE_CHARS else quote.text[: QUOTE_CHARS - 1].rstrip() + "…"
    facts = (quote.country, quote.organisation, quote.date, quote.kind, quote.language, relevance)
    where = " · ".join(escape(v) for v in facts if v)
    pin = " 📌" if getattr(quote, "pinned", False) else ""
    lead = f"{number}. " if number is not None else ""
    return Html(f"{lead}<b>{escape(short(quote.id))}</b> · {where}{pin}\n<i>{escape(body)}</i>")


def buttons(pairs: Iterable[tuple[str, str]], per_row: int = 3) -> list[list[InlineKeyboardButton]]:
    """Rows of inline buttons from ``(label, data)`` pairs."""
    row_buttons = [InlineKeyboardButton(str(label), callback_data=data) for label, data in pairs]
    return [row_buttons[i : i + per_row] for i in range(0, len(row_buttons), per_row)]


def rest_of_message(update: Update) -> str:
    """What follows the command in the message, spacing kept (``/search clinic  far`` -> ``clinic  far``)."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def theme_id_arg(value: str | None) -> int | None:
    """A theme id typed as ``12`` or ``#12``, or None."""
    if value is None:
        return None
    value = value.strip().lstrip("#")
    return int(value) if value.isdigit() else None
