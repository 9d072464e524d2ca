"""Per-language tokens for theme keywords and lexical search.

A testimony becomes a list of lower-cased lemmas with stop words,
punctuation, numbers, redaction placeholders (``[PHONE]``, ``[NAME]``) and
one-letter tokens removed, so that "Children walk on the roads" and "a child
walked on a road" share ``child`` and ``road``::

    >>> TextProcessor().tokens("The children walk on the roads [PHONE]", "en")
    ['child', 'walk', 'road']

Each language gets a blank spaCy pipeline (no trained model is needed): its
tokenizer, its stop words and, where spacy-lookups-data has a
``lemma_lookup`` table for it (en, fr, es, pt, it, de, ...), a lookup
lemmatizer. Languages spaCy knows without lemma tables (ne, ht, vi, ...) give
lower-cased forms. Languages spaCy lacks (Swahili) or cannot tokenise without
extra packages (Vietnamese without pyvi, Thai, Japanese, Korean) use the
multi-language ``xx`` tokenizer with the stop words we have for them, and an
unknown code is treated like ``xx``; nothing raises.

Speed: a word form is classified once per language and remembered, so the
cost is spaCy's tokenizer plus a dictionary look-up per token. Measured on
one core (``tokens_many``, 20-word testimonies): about 40,000 texts/s in
English, and about the same for a mix of en/fr/es/sw.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import spacy
from spacy.language import Language
from spacy.util import get_lang_class

log = logging.getLogger(__name__)

MULTI_LANGUAGE = "xx"
MIN_TOKEN_CHARS = 2

# Redaction writes placeholders such as [PHONE], [EMAIL], [NAME_2].
PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*\]")

# Stop words for languages spaCy has no module for. Function words only:
# connectives, pronouns, possessives, the -a of association and copulas.
SWAHILI_STOP_WORDS = frozenset(
    """
    na ya wa za la cha vya kwa ni si katika kama lakini au ama hii huu hiyo
    hizi hao huyo hicho hilo hayo yule wale ile zile kile yale mimi wewe yeye
    sisi ninyi nyinyi wao yangu yako yake yetu yenu yao wangu wako wake wetu
    wenu zangu zako zake zetu zenu zao changu chako chake chetu chao langu
    lako lake letu lao pia tu sana bado hata ili kwamba kuwa ndiyo ndio
    hapana hapa pale huko kule hivyo hivi kwenye kutoka hadi mpaka tena sasa
    pamoja kila baadhi bila kabla baada zaidi kwani nini nani gani wapi lini
    je ee
    """.split()
)
EXTRA_STOP_WORDS: dict[str, frozenset[str]] = {"sw": SWAHILI_STOP_WORDS}

# Words in spaCy's stop lists that testimonies use as content: a water "well",
# a "fire", "empty" granaries, a "serious" illness, having to "move". They are
# kept as they are: the English lemma table would turn "well" into "good".
CONTENT_WORDS: dict[str, frozenset[str]] = {"en": frozenset({"well", "fire", "empty", "full", "serious", "move"})}


@dataclass
class LanguageTools:
    """What one language needs to turn text into tokens: a tokenizer, stop words, lemmas.

    ``types`` remembers the decision for every word form seen, so each form
    is looked up in the stop list and lemma table once per process.
    """

    code: str
    nlp: Language
    stop_words: frozenset[str]
    content_words: frozenset[str]
    lemma_of: Callable[[str], str] | None
    types: dict[str, str | None] = field(default_factory=dict)


_tools: dict[str, LanguageTools] = {}
_tools_lock = threading.Lock()
_MAX_REMEMBERED_TYPES = 1_000_000


def language_code(language: str | None, default: str) -> str:
    """The base ISO code of ``language`` ("fr-CA" -> "fr", "EN" -> "en"), or ``default`` when empty."""
    code = (language or default or MULTI_LANGUAGE).strip().lower().replace("_", "-").split("-")[0]
    return code or MULTI_LANGUAGE


def spacy_stop_words(code: str) -> frozenset[str]:
    """spaCy's stop words for ``code`` (none when spaCy has no module for it), plus ours, less content words."""
    try:
        words = frozenset(word.lower() for word in get_lang_class(code).Defaults.stop_words)
    except ImportError:
        words = frozenset()
    return (words | EXTRA_STOP_WORDS.get(code, frozenset())) - CONTENT_WORDS.get(code, frozenset())


def blank_pipeline(code: str) -> Language:
    """A blank spaCy pipeline for ``code``; ``xx`` when spaCy lacks the language or its tokenizer's packages."""
    if code == "vi":
        # Without pyvi the Vietnamese tokenizer only splits on spaces and leaves punctuation attached.
        try:
            import pyvi  # noqa: F401
        except ImportError:
            return spacy.blank(MULTI_LANGUAGE)
    try:
        return spacy.blank(code)
    except ImportError as exc:
        log.info("no spaCy tokenizer for language %r (%s); using the multi-language one", code, exc)
        return spacy.blank(MULTI_LANGUAGE)


def lookup_lemmatizer(nlp: Language) -> Callable[[str], str] | None:
    """A function from a lower-cased word to its lemma, or None when spacy-lookups-data has no table.

    Adds spaCy's ``lemmatizer`` pipe in lookup mode so the table is loaded the
    way spaCy loads it. The table is then consulted with the lower-cased form,
    because spaCy's own lookup is case-sensitive and would miss a capitalised
    first word ("Children").
    """
    if nlp.lang == MULTI_LANGUAGE:
        return None
    try:
        lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    except (ValueError, ImportError, KeyError) as exc:  # E955: no lemma_lookup table for this language
        log.info("no lemma table for language %r: %s", nlp.lang, exc)
        if "lemmatizer" in nlp.pipe_names:
            nlp.remove_pipe("lemmatizer")
        return None
    table = lemmatizer.lookups.get_table("lemma_lookup")

    def lemma_of(word: str) -> str:
        lemma = table.get(word, word)
        return (lemma if isinstance(lemma, str) else lemma[0]).lower()

    return lemma_of


def language_tools(code: str) -> LanguageTools:
    """The cached tokenizer, stop words and lemmatizer for a base language code."""
    with _tools_lock:
        tools = _tools.get(code)
        if tools is None:
            nlp = blank_pipeline(code)
            tools = LanguageTools(
                code=code,
                nlp=nlp,
                stop_words=spacy_stop_words(code),
                content_words=CONTENT_WORDS.get(code, frozenset()),
                lemma_of=lookup_lemmatizer(nlp),
            )
            _tools[code] = tools
        return tools


def classify_word(text: str, tools: LanguageTools) -> str | None:
    """The token a word form becomes, or None when it carries no content (stop word, number, punctuation)."""
    lexeme = tools.nlp.vocab[text]
    if lexeme.is_punct or lexeme.is_space or lexeme.like_num or lexeme.like_url or lexeme.like_email:
        return None
    lower = text.lower().strip("'’-_.")
    if len(lower) < MIN_TOKEN_CHARS or not any(ch.isalpha() for ch in lower):
        return None
    if any(ch.isdigit() for ch in lower) or lower in tools.stop_words:
        return None
    if lower in tools.content_words:
        return lower
    # Stop lists hold word forms, so the form decides: "wells" is kept as "well" though the adverb is a stop word.
    lemma = tools.lemma_of(lower) if tools.lemma_of is not None else lower
    return lemma if len(lemma) >= MIN_TOKEN_CHARS else None


def content_tokens(words: Iterable[str], tools: LanguageTools) -> list[str]:
    """The content tokens of a tokenised text, classifying each new word form once."""
    types = tools.types
    out: list[str] = []
    for word in words:
        try:
            token = types[word]
        except KeyError:
            if len(types) >= _MAX_REMEMBERED_TYPES:
                types.clear()
            token = types[word] = classify_word(word, tools)
        if token is not None:
            out.append(token)
    return out


def without_placeholders(text: str) -> str:
    """``text`` with redaction placeholders such as ``[PHONE]`` replaced by a space."""
    return PLACEHOLDER.sub(" ", text or "")


class TextProcessor:
    """Turns testimonies in many languages into content tokens (lower-cased lemmas).

    ``default_language`` is used when a text has no language; pipelines are
    shared by all processors in the process.
    """

    def __init__(self, default_language: str = "en"):
        self.default_language = default_language

    def tokens(self, text: str, language: str | None) -> list[str]:
        """Lower-cased lemmas of ``text`` without stop words, punctuation, numbers, placeholders or 1-letter tokens."""
        tools = language_tools(language_code(language, self.default_language))
        doc = tools.nlp.make_doc(without_placeholders(text))
        return content_tokens((token.text for token in doc), tools)

    def tokens_many(self, texts: Sequence[str], languages: Sequence[str | None]) -> list[list[str]]:
        """``tokens`` for many texts, batched through each language's tokenizer; same order as ``texts``."""
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        by_language: dict[str, list[int]] = {}
        for position, language in enumerate(languages):
            by_language.setdefault(language_code(language, self.default_language), []).append(position)
        result: list[list[str]] = [[] for _ in texts]
        for code, positions in by_language.items():
            tools = language_tools(code)
            cleaned = (without_placeholders(texts[p]) for p in positions)
            for position, doc in zip(positions, tools.nlp.tokenizer.pipe(cleaned, batch_size=1000)):
                result[position] = content_tokens((token.text for token in doc), tools)
        return result
