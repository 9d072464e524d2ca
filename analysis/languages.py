"""The languages of a theme: its language mix, and whether it gathers a language rather than a subject.

The shortest working example::

    from analysis.explore import theme_languages
    from analysis.languages import LanguageMix, SingleLanguageRule

    mix = LanguageMix.of(records)             # contributions and contributors per language
    mix.shown(small_cell=5)                   # "en 12, fr <5, ht ≥5" (analysis.counting's rule)
    flag = SingleLanguageRule().check(mix, LanguageMix.of(corpus_records))
    flag.reason if flag else "mixed"          # "94% of its 52 texts are Swahili (sw), against 30% ..."

    languages = theme_languages(evidence)     # the corpus mix and every theme's mix and flag

Why: themes should gather what people said about the same thing whatever
language they said it in. A theme whose texts are nearly all in one language,
in a corpus that has several, may have been formed by the language of the
texts rather than by their subject (an embedding model that does not map
languages onto one space does that). Staff see such a theme flagged, with the
reason, before they quote it as a finding.

Small cells: a mix is a breakdown like any other (``analysis.counting``): a
cell resting on fewer than ``small_cell`` contributors is shown as "<5", and
one that would let it be worked out from the total as "≥5". Shares and the
flag's reason are only given for a language whose cell is shown.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from corpus.store import TestimonyRecord

from analysis.counting import OPEN, UNKNOWN, Breakdown, Count, count_by, protect

if TYPE_CHECKING:
    from corpus.settings import Settings

def language_label(code: str | None) -> str:
    """How a language is named for people: ``"Swahili (sw)"``, the bare code if unknown, or ``"language unknown"``."""
    if not code or code == UNKNOWN:
        return "language unknown"
    name = language_name(code)
    return f"{name} ({code})" if name else code


def language_name(code: str, display: str = "en") -> str | None:
    """The name of the language ``code`` in the language ``display`` (CLDR data through Babel), or None if unknown."""
    from babel import Locale, UnknownLocaleError

    try:
        names = Locale.parse(display).languages
    except (ValueError, UnknownLocaleError):
        names = Locale("en").languages
    return names.get(code.lower().replace("-", "_")) or names.get(code.lower().replace("_", "-").split("-")[0])


def percent(share: float) -> str:
    """A share as people read it: ``"94%"``; ``"<1%"`` and ``">99%"`` rather than a rounded 0% or 100%."""
    if 0 < share < 0.01:
        return "<1%"
    if 0.99 < share < 1:
        return ">99%"
    return f"{round(share * 100)}%"


@dataclass(frozen=True)
class LanguageMix:
    """Contributions and distinct contributors per language of a set of texts, largest first.

    Texts without a language are counted under ``"unknown"``, which is never
    counted as a language of its own.
    """

    counts: dict[str, Count] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[TestimonyRecord]) -> LanguageMix:
        """The mix of these records (``record.language``)."""
        return cls(count_by(records, lambda r: r.language))

    @classmethod
    def of_languages(cls, languages: Iterable[str | None]) -> LanguageMix:
        """The mix of bare language values, each text counting as its own contributor (a labelled file's rows)."""
        counts = Counter(language or UNKNOWN for language in languages)
        return cls({k: Count(n, n) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))})

    @property
    def total(self) -> int:
        """All texts, those of unknown language included."""
        return sum(c.contributions for c in self.counts.values())

    @property
    def languages(self) -> list[str]:
        """The known languages, largest first."""
        return [language for language in self.counts if language != UNKNOWN]

    @property
    def largest(self) -> str | None:
        """The known language with most texts (None: no text has a known language)."""
        return self.languages[0] if self.languages else None

    @property
    def largest_share(self) -> float:
        """Share of all texts in the largest known language (0.0 when there is none)."""
        return self.share(self.largest) if self.largest else 0.0

    def share(self, language: str) -> float:
        """Share of all texts in ``language``."""
        total = self.total
        return self.counts.get(language, Count()).contributions / total if total else 0.0

    def protected(self, small_cell: int = 5) -> Breakdown:
        """The mix as people see it (``analysis.counting.protect``)."""
        return protect(self.counts, small_cell)

    def shown(self, small_cell: int = 5, *, names: bool = False, limit: int | None = None) -> str:
        """``"en 12, fr <5, ht ≥5"`` (``names``: ``"English (en) 12, ..."``) under the small-cell rule; "-" if empty."""
        mix = self.protected(small_cell)
        return mix.text({k: language_label(k) for k in self.counts} if names else None, limit=limit)

    def to_dict(self, small_cell: int = 5, *, total_shown: bool = True) -> dict:
        """A JSON-ready dict; counts as people see them, the largest language's share only when its cell is
        shown (and the total is: ``total_shown``)."""
        largest = self.largest
        mix = self.protected(small_cell)
        open_share = total_shown and largest is not None and not mix.withheld and mix[largest].state == OPEN
        return {
            "languages": mix.labels(),
            "language_count": len(self.languages),
            "largest_language": largest,
            "largest_language_share": round(self.largest_share, 2) if open_share else None,
        }


@dataclass(frozen=True)
class SingleLanguageFlag:
    """Why a theme is flagged as essentially one language."""

    language: str
    theme_share: float
    corpus_share: float | None  # None: the corpus's count of the language is hidden
    theme_texts: int
    reason: str

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "language": self.language,
            "theme_share": round(self.theme_share, 2),
            "corpus_share": round(self.corpus_share, 2) if self.corpus_share is not None else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SingleLanguageRule:
    """When a theme counts as essentially one language; every threshold is a parameter.

    A theme is flagged when all of these hold:

    - the corpus has at least two languages with a real share: each holds at
      least ``min_corpus_share`` of the corpus's texts, or is not a small cell
      (it rests on at least ``small_cell`` contributors);
    - at least ``dominance`` of the theme's texts are in one language;
    - that language is over-represented: its share in the theme exceeds its
      share of the corpus by at least ``margin`` (a theme of an English-only
      corpus, or a 95%-English theme of a 90%-English corpus, is not flagged);
    - the theme's texts in that language are not a small cell, so the numbers
      in the reason may be shown.
    """

    dominance: float = 0.9
    min_corpus_share: float = 0.10
    margin: float = 0.2
    small_cell: int = 5

    @classmethod
    def for_settings(cls, settings: Settings) -> SingleLanguageRule:
        """The rule with the project's small-cell threshold (``settings.small_cell``)."""
        return cls(small_cell=settings.small_cell)

    def corpus_languages(self, corpus: LanguageMix) -> list[str]:
        """The corpus's languages with a real share, largest first."""
        return [
            language
            for language in corpus.languages
            if corpus.share(language) >= self.min_corpus_share or not corpus.counts[language].is_small(self.small_cell)
        ]

    def check(self, theme: LanguageMix, corpus: LanguageMix) -> SingleLanguageFlag | None:
        """The flag of a theme (``theme``: its mix, ``corpus``: the analysed corpus's), or None."""
        language = theme.largest
        if language is None or len(self.corpus_languages(corpus)) < 2:
            return None
        theme_share, corpus_share = theme.share(language), corpus.share(language)
        if theme_share < self.dominance or theme_share - corpus_share < self.margin:
            return None
        shown = theme.protected(self.small_cell)
        if shown.withheld or shown[language].state != OPEN:  # its numbers are not shown: neither is the flag
            return None
        in_corpus = corpus.protected(self.small_cell)
        if not in_corpus.withheld and in_corpus[language].state == OPEN:
            against = f"against {percent(corpus_share)} of the corpus"
        else:  # the corpus's count of that language is hidden: so is its share
            against, corpus_share = "against a smaller share of the corpus", None
        reason = (f"{percent(theme_share)} of its {theme.total} texts are {language_label(language)}, {against}: "
                  "it may gather a language rather than a subject")
        return SingleLanguageFlag(language, theme_share, corpus_share, theme.total, reason)

    def describe(self) -> str:
        """When a theme is flagged, in words, for method notes: "at least 90% of its texts are in one language, ..."."""
        return (f"at least {percent(self.dominance)} of its texts are in one language, that language's share of "
                f"the theme exceeds its share of the corpus by at least {round(self.margin * 100)} points, and the "
                f"corpus has at least two languages that each hold {percent(self.min_corpus_share)} of it or rest "
                f"on {self.small_cell} or more contributors")


@dataclass
class ThemeLanguages:
    """A theme's language mix and, if it is essentially one language, its flag."""

    theme_id: int
    mix: LanguageMix
    flag: SingleLanguageFlag | None

    total_shown: bool = True  # False: the theme's size is hidden ("<5", "≥5"), so no share of it is given

    def to_dict(self, small_cell: int = 5) -> dict:
        """The mix's dict (``languages``: counts as shown, ...) and ``single_language`` (the flag or None)."""
        return {**self.mix.to_dict(small_cell, total_shown=self.total_shown),
                "single_language": self.flag.to_dict() if self.flag else None}


@dataclass
class CorpusLanguages:
    """The languages of the analysed corpus and of each of its themes."""

    corpus: LanguageMix
    themes: dict[int, ThemeLanguages]
    rule: SingleLanguageRule

    def of(self, theme_id: int) -> ThemeLanguages:
        """A theme's languages (an empty mix for a theme with no members)."""
        return self.themes.get(theme_id) or ThemeLanguages(theme_id, LanguageMix(), None)

    @property
    def flagged(self) -> list[ThemeLanguages]:
        """The themes flagged as essentially one language, by id."""
        return [t for _, t in sorted(self.themes.items()) if t.flag is not None]

    def to_dict(self) -> dict:
        """A JSON-ready dict: the corpus mix and, per theme id, its mix and flag."""
        small = self.rule.small_cell
        return {"corpus": self.corpus.to_dict(small),
                "themes": {str(k): t.to_dict(small) for k, t in sorted(self.themes.items())}}


def languages_of(
    records: Sequence[TestimonyRecord], theme_of: Mapping[str, int | None], rule: SingleLanguageRule,
    hidden_sizes: Iterable[int] = (),
) -> CorpusLanguages:
    """The languages of ``records`` (the analysed corpus) and of each theme (``theme_of``: testimony id -> theme id).

    Records with no entry in ``theme_of`` were not analysed and are left out;
    unthemed ones (theme None) count in the corpus only. A theme whose size is
    not shown (``hidden_sizes``) gets no flag and no share: both would give
    its size away.
    """
    hidden_sizes = set(hidden_sizes)
    analysed = [r for r in records if r.id in theme_of]
    members: dict[int, list[TestimonyRecord]] = defaultdict(list)
    for record in analysed:
        theme_id = theme_of[record.id]
        if theme_id is not None:
            members[theme_id].append(record)
    corpus = LanguageMix.of(analysed)
    themes = {}
    for theme_id, records_of_theme in members.items():
        mix = LanguageMix.of(records_of_theme)
        hidden = theme_id in hidden_sizes
        themes[theme_id] = ThemeLanguages(theme_id, mix, None if hidden else rule.check(mix, corpus), not hidden)
    return CorpusLanguages(corpus, themes, rule)
