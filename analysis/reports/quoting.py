"""The quotes of a report: chosen per theme and kind, written with a provenance that reads as a sentence,
and every quoted testimony noted (the file is registered with them, so that an erasure finds it).

Quotes are chosen as everywhere else (``analysis.explore.theme_quotes``: staff
pins first, hidden quotes never, maximal marginal relevance around the
theme's centre, taken in turn from each country or partner), among a theme's
most central quotable members in scope of the kind asked for: testimonies
under the drivers, proposals in "What communities propose". Only ``quote``
consent is ever quoted, and only the redacted text.
"""

from __future__ import annotations

from datetime import date

from analysis.explore import theme_quotes
from analysis.quotes import Quote
from analysis.reports.documents import QuoteBlock
from analysis.reports.quotefiles import pinned_quotes
from analysis.reports.scope import ReportScope, ThemeInScope
from analysis.reports.wording import Wording

QUOTE_CANDIDATES = 200  # most central quotable members per theme considered for quotes (keeps reports fast)
SHORT_ID = 8  # the characters of a testimony id a quote shows, as the bot shows them (/hide, /pin)


class Quoter:
    """Chooses a report's quotes and remembers each testimony quoted."""

    def __init__(self, scope: ReportScope, words: Wording, n_quotes: int) -> None:
        self.scope = scope
        self.words = words
        self.n_quotes = n_quotes
        self.quoted: list[str] = []

    def quotes(self, theme: ThemeInScope, kind: str) -> list[Quote]:
        """Up to ``n_quotes`` representative quotes of ``kind`` (testimony, proposal) in a theme, within scope."""
        if not self.n_quotes:
            return []
        scope = self.scope
        pinned = pinned_quotes(scope.evidence, theme.id)
        eligible = [r for r in theme.members if r.kind == kind and r.quotable and r.id not in scope.hidden]
        candidates = eligible[:QUOTE_CANDIDATES]
        chosen = {r.id for r in candidates}
        candidates += [r for r in eligible[QUOTE_CANDIDATES:] if r.id in pinned and r.id not in chosen]
        if not candidates:
            return []
        return theme_quotes(scope.evidence, theme.id, n=self.n_quotes,
                            balance_by="country" if scope.country is None else "organisation",
                            records=candidates, hidden=scope.hidden, pinned=pinned)

    def block(self, quote: Quote) -> QuoteBlock:
        """The quote with its provenance, noted as quoted."""
        self.quoted.append(quote.id)
        return QuoteBlock(quote.text, self.provenance(quote))

    def provenance(self, quote: Quote) -> str:
        """``Testimony in Swahili · Kenya · through ActionAid · 6 April 2026 · ref. 57b6fb2e``."""
        words = self.words
        line = words("provenance", kind=words.kind(quote.kind), language=words.language_name(quote.language),
                     country=words.country(quote.country), organisation=words.organisation(quote.organisation),
                     date=words.date(_day(quote.date)), ref=short_ref(quote.id))
        return line + (" · " + words("pinned") if quote.pinned else "")


def short_ref(testimony_id: str) -> str:
    """The short id a report shows for a quote (the full id is in the export registry)."""
    return testimony_id[:SHORT_ID]


def _day(iso: str) -> date:
    return date.fromisoformat(iso)
