"""The languages of a theme: its language mix, and whether it gathers a language rather than a subject.

The shortest working example::

    from analysis.languages import LanguageMix, SingleLanguageRule, theme_languages

    mix = LanguageMix.of(records)             # contributions and contributors per language
    mix.shown(small_cell=5)                   # "en 12, ht 9, fr <5"
    flag = SingleLanguageRule().check(mix, LanguageMix.of(corpus_records))
    flag.reason if flag else "mixed"          # "94% of its 52 texts are Swahili (sw), against 30% ..."

    languages = theme_languages(evidence)     # the corpus mix and every theme's mix and flag

Why: themes should gather what people said about the same thing whatever
language they said it in. A theme whose texts are nearly all in one language,
in a corpus that has several, may have been formed by the language of the
texts rather than by their subject (an embedding model that does not map
languages onto one space does that). Staff see such a theme flagged, with the
reason, before they quote it as a finding.

Small cells: each language's count follows the project's rule
(:class:`analysis.gaps.Count`): a cell resting on fewer than ``small_cell``
contributors is shown as "<5", never as its number.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from corpus.store import TestimonyRecord

from analysis.gaps import UNKNOWN, Count, count_by

if TYPE_CHECKING:
    from corpus.settings import Settings

    from analysis.evidence import EvidenceBase

# English names of the language codes the partners' evidence is likely to hold (ISO 639), for staff and
# report readers; a code missing here is shown as it is.
LANGUAGE_NAMES: dict[str, str] = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "as": "Assamese", "ay": "Aymara", "az": "Azerbaijani",
    "be": "Belarusian", "bg": "Bulgarian", "bn": "Bengali", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech",
    "da": "Danish", "de": "German", "dz": "Dzongkha", "el": "Greek", "en": "English", "es": "Spanish",
    "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "gl": "Galician", "gn": "Guarani",
    "gu": "Gujarati", "ha": "Hausa", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "ht": "Haitian Creole",
    "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian", "ig": "Igbo", "it": "Italian", "ja": "Japanese",
    "ka": "Georgian", "kik": "Kikuyu", "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean",
    "ku": "Kurdish", "ky": "Kyrgyz", "lg": "Ganda", "ln": "Lingala", "lo": "Lao", "mg": "Malagasy",
    "mk": "Macedonian", "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi", "ms": "Malay", "my": "Burmese",
    "ne": "Nepali", "nl": "Dutch", "no": "Norwegian", "nso": "Northern Sotho", "om": "Oromo", "or": "Odia",
    "pa": "Punjabi", "pl": "Polish", "ps": "Pashto", "pt": "Portuguese", "qu": "Quechua", "ro": "Romanian",
    "ru": "Russian", "rw": "Kinyarwanda", "si": "Sinhala", "sk": "Slovak", "sn": "Shona", "so": "Somali",
    "sq": "Albanian", "sr": "Serbian", "st": "Sotho", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil",
    "te": "Telugu", "tg": "Tajik", "th": "Thai", "ti": "Tigrinya", "tk": "Turkmen", "tl": "Tagalog",
    "tr": "Turkish", "ug": "Uyghur", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese",
    "wo": "Wolof", "xh": "Xhosa", "yo": "Yoruba", "zh": "Chinese", "zu": "Zulu",
}


def language_label(code: str | None) -> str:
    """How a language is named for people: ``"Swahili (sw)"``, the bare code if unknown, or ``"language unknown"``."""
    if not code or code == UNKNOWN:
        return "language unknown"
    name = LANGUAGE_NAMES.get(code.lower().replace("_", "-").split("-")[0])
    return f"{name} ({code})" if name else code


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

    def shown(self, small_cell: int = 5, *, names: bool = False, limit: int | None = None) -> str:
        """``"en 12, ht 9, fr <5"`` (``names``: ``"English (en) 12, ..."``), small cells as "<5"; "-" if empty."""
        items = list(self.counts.items())
        shown = [f"{language_label(k) if names else k} {c.shown(small_cell)}" for k, c in items[:limit]]
        if limit is not None and len(items) > limit:
            shown.append(f"and {len(items) - limit} more")
        return ", ".join(shown) or "-"

    def to_dict(self, small_cell: int = 5) -> dict:
        """A JSON-ready dict; counts as people see them (small cells as "<5"), the share only when its cell is not small."""
        largest = self.largest
        open_share = largest is not None and not self.counts[largest].is_small(small_cell)
        return {
            "languages": {k: c.shown(small_cell) for k, c in self.counts.items()},
            "language_count": len(self.languages),
            "largest_language": largest,
            "largest_language_share": round(self.largest_share, 2) if open_share else None,
        }


@dataclass(frozen=True)
class SingleLanguageFlag:
    """Why a theme is flagged as essentially one language."""

    language: str
    theme_share: float
    corpus_share: float
    theme_texts: int
    reason: str

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "language": self.language,
            "theme_share": round(self.theme_share, 2),
            "corpus_share": round(self.corpus_share, 2),
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
        if theme.counts[language].is_small(self.small_cell):
            return None
        reason = (f"{percent(theme_share)} of its {theme.total} texts are {language_label(language)}, against "
                  f"{percent(corpus_share)} of the corpus: it may gather a language rather than a subject")
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

    def to_dict(self, small_cell: int = 5) -> dict:
        """The mix's dict (``languages``: counts as shown, ...) and ``single_language`` (the flag or None)."""
        return {**self.mix.to_dict(small_cell), "single_language": self.flag.to_dict() if self.flag else None}


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
    records: Sequence[TestimonyRecord], theme_of: Mapping[str, int | None], rule: SingleLanguageRule
) -> CorpusLanguages:
    """The languages of ``records`` (the analysed corpus) and of each theme (``theme_of``: testimony id -> theme id).

    Records with no entry in ``theme_of`` were not analysed and are left out;
    unthemed ones (theme None) count in the corpus only.
    """
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
        themes[theme_id] = ThemeLanguages(theme_id, mix, rule.check(mix, corpus))
    return CorpusLanguages(corpus, themes, rule)


def theme_languages(evidence: EvidenceBase, rule: SingleLanguageRule | None = None) -> CorpusLanguages:
    """The languages of the evidence base's analysed corpus and of each theme of the last analysis."""
    assignments = evidence.themes.assignments()
    theme_of = {tid: a.theme_id for tid, a in assignments.items()}
    records = [r for r in evidence.store.iter_records() if r.id in theme_of] if theme_of else []
    return languages_of(records, theme_of, rule or SingleLanguageRule.for_settings(evidence.settings))
