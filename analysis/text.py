"""Per-language tokens for theme keywords and lexical search.

A testimony becomes a list of lower-cased content words with stop words,
punctuation, numbers, redaction placeholders (``[PHONE]``, ``[NAME]``) and
one-letter tokens removed. Plural nouns become their singular, so that "the
roads" and "a road" share ``road``; every other word keeps its own form::

    >>> TextProcessor().tokens("The children walk on the roads [PHONE]", "en")
    ['child', 'walk', 'road']
    >>> TextProcessor().tokens("She was born disabled and cannot pay the rent", "en")
    ['born', 'disabled', 'pay', 'rent']

Adjacent content words, with nothing removed between them, make the bigrams
that theme labels are read from; they keep the words as written::

    >>> TextProcessor().bigrams("Clean water is far, and school fees are too high", "en")
    ['clean water', 'school fees']

Lemmas are used only where they are reliable. spaCy's lookup tables
(spacy-lookups-data) give one lemma per word form whatever the sentence, and
for many forms the wrong one: Spanish "casas" and "agua" become the verbs
"casar" and "aguar", English "born" becomes "bear", "rent" "rend",
"training" "train". So a table lemma is accepted only when the form is a
regular plural of it (``PLURAL_ENDINGS``: "roads"/"road", "families"/"family",
"eaux"/"eau", "canciones"/"canción", "eleições"/"eleição") or one of a few
irregular English plurals ("children"/"child"). When the table's lemma is
rejected, a form that looks like a regular plural of a word the table knows
becomes that word ("casas" -> "casa", "routes" -> "route"); any other form is
kept as written ("born", "disabled", "training", "inundadas"). Only en, fr,
es and pt have plural rules; other languages, with or without a lemma table,
keep their forms.

Each language gets a blank spaCy pipeline (no trained model is needed): its
tokenizer and its stop words, plus ours (``EXTRA_STOP_WORDS``): Swahili,
which spaCy lacks, Haitian Creole, and in every language the words that are
in almost every testimony whatever its theme ("people", "need", "please").
Languages spaCy lacks (Swahili) or cannot tokenise without extra packages
(Vietnamese without pyvi, Thai, Japanese, Korean) use the multi-language
``xx`` tokenizer, and an unknown code is treated like ``xx``; nothing raises.

Speed: a word form is classified once per language and remembered, so the
cost is spaCy's tokenizer plus a dictionary look-up per token. Measured on
one core (``tokens_many``, 20-word testimonies): about 40,000 texts/s in
English, and about the same for a mix of en/fr/es/sw.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NamedTuple

from corpus.light_spacy import import_spacy_lightly


import_spacy_lightly()

import spacy  # noqa: E402
from spacy.language import Language  # noqa: E402
from spacy.util import get_lang_class, load_language_data, registry  # noqa: E402

log = logging.getLogger(__name__)

MULTI_LANGUAGE = "xx"
MIN_TOKEN_CHARS = 2

# Redaction writes placeholders such as [PHONE], [EMAIL], [NAME_2]. They become a full stop, so
# that the words on either side of one never make a bigram.
PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*\]")
PLACEHOLDER_BREAK = " . "

# Stop words for Swahili, which spaCy has no module for: connectives, pronouns, possessives, the -a
# of association, demonstratives and relatives, copulas and "to be (at)/to have" in their common
# persons and tenses (hakuna "there is not", sina "I have not", tuko "we are"), numbers, and the
# verbs of needing, wanting and saying (see TESTIMONY_STOP_WORDS).
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
    huyu hawa hiki hili haya hizo hapo huku humo ndiye ndivyo ndipo
    ambao ambaye ambayo ambazo ambacho ambavyo ambalo ambako ambapo
    kuna hakuna kulikuwa hakukuwa kutakuwa
    nina una ana tuna mna wana ina zina kina lina
    sina huna hana hatuna hamna hawana haina hazina
    niko uko yuko tuko mko iko ziko kuko liko kiko
    siko hauko hayuko hatuko hamko hawako haiko haziko hakuko
    nilikuwa ulikuwa alikuwa tulikuwa mlikuwa walikuwa ilikuwa zilikuwa
    nitakuwa utakuwa atakuwa tutakuwa mtakuwa watakuwa itakuwa
    sababu mara karibu wote yote zote kote wengi mengi nyingi kidogo
    yoyote wowote zozote chochote lolote yeyote kokote popote
    pa mwenye wenye yenye zenye chenye lenye mwenyewe wenyewe
    juu chini ndani nje kati kuhusu tangu ila bali ingawa kisha halafu basi
    wala labda lazima eeh
    moja mbili tatu nne tano sita saba nane tisa kumi ishirini mia elfu
    kitu vitu watu siku wiki mwezi miezi mwaka miaka
    nataka unataka anataka tunataka mnataka wanataka
    nahitaji unahitaji anahitaji tunahitaji mnahitaji wanahitaji inahitajika
    tunaomba naomba tafadhali asante
    alisema walisema nilisema tulisema anasema wanasema nasema kusema
    kwenda kuja
    """.split()
)

# Haitian Creole function words: pronouns (mwen, m, nou, n, ou, w, li, l, yo, y), determiners and
# demonstratives (la, lan, a, an, yon, sa, sila), tense and aspect markers (te, t, ap, pe, pral, va,
# ta) and their contractions in SMS (map, pap, mta, poum), connectives and prepositions (ak, avèk,
# nan, pou, sou, paske, konsa, tankou, kote), question words, the copulas (se, ye), modal and light
# verbs (ka, kapab, vle, dwe, fè, di, bay, ale, vin, jwenn "get", pran "take", mande "ask",
# renmen in "m ta renmen" "I would like"), bezwen "need", greetings and thanks, and units of time.
# SMS often drop the accents, so both spellings are listed (avèk/avek, kèk/kek, lòt/lot). spaCy
# 3.8 has an ``ht`` module with some of these; the list makes them hold on any spaCy. Checked on
# the Haitian Creole originals of the disaster-response messages: the content words dlo, manje,
# kay, lajan, tant, grangou, lekòl and travay are not here.
HAITIAN_CREOLE_STOP_WORDS = frozenset(
    """
    mwen m nou n ou w li l yo y moun
    la lan a an yon youn sa sila
    te t ap pe pral prale va ava ta tap map nap yap lap pap mta poum poun pouw pam dim fem kil ya ma fin
    ak avèk avek nan pou sou anba sot depi jis pase ke ki kisa kilès kiyès kòman koman kouman kom kòm
    poukisa kilè kile kibò kibo èske eske paske konsa tankou kote si lè le men epi e oswa oubyen osinon
    se ye gen genyen
    ka kab kap kapab paka vle dwe fè fe di bay ba ban banm ale al vin vini konn jwenn jwen pran mande
    renmen panse mete wè we
    bezwen tout anpil kèk kek lòt lot menm sèlman selman tou deja toujou ankò anko poko janm anyen
    bagay jan ti pi pli plis mwens twòp twop chak isit
    wi non mèsi mesi merci souple silvouplè sil vou plè ple svp tanpri bonjou bonswa bonjour
    ni jou jodi semèn mwa ane
    """.split()
)

# Words in almost every testimony, whatever its theme: asking and needing ("please", "need",
# "want"), saying and telling, coming and going, "people" (the groups meant come through their own
# words: disabled, displaced, young), and units of time ("three years ago", "200 a day": what
# happened, and what it cost, come through their own words). They are kept out of keywords and
# labels in every language; spaCy's lists have some of them already (fr "gens", en "please", "go").
TESTIMONY_STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """
        people need needs needed needing want wants wanted please thank thanks
        said says saying tell tells told telling ask asks asked asking
        come comes came coming went goes going gone got gets getting
        gave gives giving given took takes taking taken makes making
        know knows knew think thought like lot lots thing things okay ok yes
        day days week weeks month months year years hour hours ago
        """.split()
    ),
    "fr": frozenset(
        """
        besoin veux voulons voulez veulent voulait voudrais vouloir
        dit dire disent disait faire chose choses jamais rien sommes êtes été avez qu
        oui non aller vient venir viennent donne donner pouvons merci
        jour jours semaine semaines mois an ans année années heure heures
        """.split()
    ),
    "es": frozenset(
        """
        necesitamos necesitan necesita necesito necesitar quiero quieren queremos querer
        favor gracias cosa cosas gente
        día días semana semanas mes meses año años hora horas
        """.split()
    ),
    "pt": frozenset(
        """
        precisamos precisa precisam preciso precisar queremos quero querem
        disse dizem estamos estavam eram tinha tinham há coisa coisas gente pessoas obrigado obrigada
        dia dias semana semanas mês meses ano anos hora horas
        """.split()
    ),
}

EXTRA_STOP_WORDS: dict[str, frozenset[str]] = {
    "sw": SWAHILI_STOP_WORDS,
    "ht": HAITIAN_CREOLE_STOP_WORDS,
    **TESTIMONY_STOP_WORDS,
}

# Words in spaCy's stop lists that testimonies use as content: a water "well",
# a "fire", "empty" granaries, a "serious" illness, having to "move". They are
# kept as written (the English lemma table would turn "well" into "good").
CONTENT_WORDS: dict[str, frozenset[str]] = {"en": frozenset({"well", "fire", "empty", "full", "serious", "move"})}

# Regular plural endings, (plural ending, singular ending), longest first. A lemma from the lookup
# table is accepted only when the word form is the lemma with its singular ending replaced by the
# plural one, accents aside ("canciones"/"canción", "países"/"país").
PLURAL_ENDINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (("ies", "y"), ("ves", "fe"), ("ves", "f"), ("es", ""), ("s", "")),
    "fr": (("aux", "al"), ("aux", "ail"), ("x", ""), ("s", "")),
    "es": (("ces", "z"), ("es", ""), ("s", "")),
    "pt": (
        ("ões", "ão"), ("ães", "ão"), ("ais", "al"), ("éis", "el"), ("eis", "el"), ("óis", "ol"),
        ("uis", "ul"), ("is", "il"), ("ns", "m"), ("es", ""), ("s", ""),
    ),
}  # fmt: skip

IRREGULAR_PLURALS: dict[str, dict[str, str]] = {
    "en": {
        "children": "child", "women": "woman", "men": "man", "feet": "foot",
        "teeth": "tooth", "mice": "mouse", "geese": "goose",
    },
}  # fmt: skip


class Term(NamedTuple):
    """One content word: the token it counts as, and the lower-cased form it was written in."""

    token: str
    surface: str


@dataclass
class LanguageTools:
    """What one language needs to turn text into tokens: a tokenizer, stop words, plural lemmas.

    ``types`` remembers the decision for every word form seen, so each form
    is looked up in the stop list and lemma table once per process.
    """

    code: str
    nlp: Language
    stop_words: frozenset[str]
    content_words: frozenset[str]
    lemma_table: dict[str, str | list[str]] | None  # form -> lemma (spacy-lookups-data's ``lemma_lookup``)
    plural_endings: tuple[tuple[str, str], ...] = ()
    headwords: frozenset[str] = frozenset()
    irregular_plurals: dict[str, str] = field(default_factory=dict)
    types: dict[str, Term | None] = field(default_factory=dict)

    def table_lemma(self, word: str) -> str:
        """The lookup table's lemma for a lower-cased word, lower-cased; the word itself when it has none."""
        if self.lemma_table is None:
            return word
        lemma = self.lemma_table.get(word, word)
        return (lemma if isinstance(lemma, str) else lemma[0]).lower()

    def knows(self, word: str) -> bool:
        """Whether the lookup table lists ``word``, as a form or as a lemma."""
        return word in self.headwords or (self.lemma_table is not None and word in self.lemma_table)


_tools: dict[str, LanguageTools] = {}
_tools_lock = threading.Lock()
_MAX_REMEMBERED_TYPES = 1_000_000


@functools.cache
def tokenizer_version() -> str:
    """A short fingerprint of everything tokens depend on besides a text and its language.

    That is this module (its stop lists, plural rules and code), spaCy (its
    tokenizers and stop lists), spacy-lookups-data (the lemma tables) and
    whether pyvi (the Vietnamese tokenizer) is installed. Saved tokens
    (``corpus.lexicon``) made under another fingerprint are made again, so a
    change to any of these can never leave search with stale tokens.
    """
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for package in ("spacy", "spacy-lookups-data"):
        try:
            digest.update(f"|{package} {version(package)}".encode())
        except PackageNotFoundError:
            digest.update(f"|{package} none".encode())
    digest.update(f"|pyvi {importlib.util.find_spec('pyvi') is not None}".encode())
    return digest.hexdigest()[:16]


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


def lookup_table(nlp: Language) -> dict[str, str | list[str]] | None:
    """spacy-lookups-data's ``lemma_lookup`` table for the pipeline's language (the one spaCy's lemmatizer
    reads in lookup mode), or None when it has none.

    Read as a plain dict from the package's file, as spaCy locates it: spaCy's
    own ``Table`` hashes every key into a Bloom filter as it loads, which took
    1.4 s for Spanish (0.16 s for English) in every process that reads a
    query in that language; the lookups are the same. The table is consulted
    with the lower-cased form, because its keys are case-sensitive and a
    capitalised first word ("Children") would be missed.
    """
    if nlp.lang == MULTI_LANGUAGE or nlp.lang not in registry.lookups:
        return None
    path = registry.lookups.get(nlp.lang).get("lemma_lookup")
    if path is None:
        log.info("no lemma table for language %r", nlp.lang)
        return None
    return load_language_data(path)


def headwords(table: dict[str, str | list[str]] | None) -> frozenset[str]:
    """The lemmas a lookup table leads to, lower-cased: the dictionary words of its language."""
    if table is None:
        return frozenset()
    return frozenset((lemma if isinstance(lemma, str) else lemma[0]).lower() for lemma in table.values())


def without_accents(word: str) -> str:
    """``word`` with its combining accents removed ("canción" -> "cancion"), to compare plural endings."""
    return "".join(ch for ch in unicodedata.normalize("NFD", word) if not unicodedata.combining(ch))


def is_regular_plural(form: str, singular: str, endings: Sequence[tuple[str, str]]) -> bool:
    """Whether ``form`` is ``singular`` with one of the regular plural ``endings``, accents aside."""
    form, singular = without_accents(form), without_accents(singular)
    for plural_ending, singular_ending in endings:
        plural_ending, singular_ending = without_accents(plural_ending), without_accents(singular_ending)
        stem = singular[: len(singular) - len(singular_ending)]
        if singular.endswith(singular_ending) and stem and form == stem + plural_ending:
            return True
    return False


def known_singular(form: str, tools: LanguageTools) -> str | None:
    """The singular of ``form`` by its longest plural ending, when the lemma table knows it ("casas" -> "casa").

    Only the longest ending that fits is tried: "professores" is "professor"
    + "es" or kept, never the verb form "professore"; "trabajamos" is kept,
    as the table knows no "trabajamo".
    """
    fitting = [
        (plural, singular)
        for plural, singular in tools.plural_endings
        if form.endswith(plural) and len(form) - len(plural) >= MIN_TOKEN_CHARS
    ]
    longest = max((len(plural) for plural, _ in fitting), default=0)
    for plural, singular in fitting:
        candidate = form[: len(form) - len(plural)] + singular
        if len(plural) == longest and tools.knows(candidate):
            return candidate
    return None


def reliable_lemma(form: str, tools: LanguageTools) -> str:
    """The token for a lower-cased word form: its singular when it is a plural noun, else the form itself.

    The lookup table's lemma is trusted only when the form is a regular (or
    listed irregular) plural of it; see the module docstring for why.
    """
    irregular = tools.irregular_plurals.get(form)
    if irregular is not None:
        return irregular
    if not tools.plural_endings:
        return form
    lemma = tools.table_lemma(form)
    if lemma == form or is_regular_plural(form, lemma, tools.plural_endings):
        return lemma
    return known_singular(form, tools) or form


def language_tools(code: str) -> LanguageTools:
    """The cached tokenizer, stop words and plural lemmas for a base language code."""
    with _tools_lock:
        tools = _tools.get(code)
        if tools is None:
            nlp = blank_pipeline(code)
            endings = PLURAL_ENDINGS.get(nlp.lang, ())
            table = lookup_table(nlp) if endings else None
            tools = LanguageTools(
                code=code,
                nlp=nlp,
                stop_words=spacy_stop_words(code),
                content_words=CONTENT_WORDS.get(code, frozenset()),
                lemma_table=table,
                plural_endings=endings,
                headwords=headwords(table),
                irregular_plurals=IRREGULAR_PLURALS.get(nlp.lang, {}),
            )
            _tools[code] = tools
        return tools


def classify_word(text: str, tools: LanguageTools) -> Term | None:
    """The term a word form becomes, or None when it carries no content (stop word, number, punctuation)."""
    lexeme = tools.nlp.vocab[text]
    if lexeme.is_punct or lexeme.is_space or lexeme.like_num or lexeme.like_url or lexeme.like_email:
        return None
    lower = text.lower().strip("'’-_.")
    if len(lower) < MIN_TOKEN_CHARS or not any(ch.isalpha() for ch in lower):
        return None
    if any(ch.isdigit() for ch in lower) or lower in tools.stop_words:
        return None
    if lower in tools.content_words:
        return Term(lower, lower)
    # A plural goes with its singular when that is a stop word ("others", "ones").
    token = reliable_lemma(lower, tools)
    if len(token) < MIN_TOKEN_CHARS or token in tools.stop_words:
        return None
    return Term(token, lower)


def content_terms(words: Iterable[str], tools: LanguageTools) -> list[Term | None]:
    """Each word of a tokenised text as a term, or None where a word carrying no content stood.

    Each new word form is classified once. The Nones are kept so that bigrams
    are only made of words that were next to each other.
    """
    types = tools.types
    out: list[Term | None] = []
    for word in words:
        try:
            term = types[word]
        except KeyError:
            if len(types) >= _MAX_REMEMBERED_TYPES:
                types.clear()
            term = types[word] = classify_word(word, tools)
        out.append(term)
    return out


def tokens_of(terms: Sequence[Term | None]) -> list[str]:
    """The tokens of a text's terms, in order."""
    return [term.token for term in terms if term is not None]


def bigrams_of(terms: Sequence[Term | None]) -> list[str]:
    """Pairs of adjacent content words as written, lower-cased ("school fees"); not a word with its own form."""
    return [
        f"{first.surface} {second.surface}"
        for first, second in zip(terms, terms[1:])
        if first is not None and second is not None and first.token != second.token
    ]


def without_placeholders(text: str) -> str:
    """``text`` with redaction placeholders such as ``[PHONE]`` replaced by a full stop."""
    return PLACEHOLDER.sub(PLACEHOLDER_BREAK, text or "")


class TextProcessor:
    """Turns testimonies in many languages into content tokens (words, plurals as singulars) and bigrams.

    ``default_language`` is used when a text has no language; pipelines are
    shared by all processors in the process.
    """

    def __init__(self, default_language: str = "en"):
        self.default_language = default_language

    def terms(self, text: str, language: str | None) -> list[Term | None]:
        """The terms of ``text`` in order, None where a stop word, punctuation, number or placeholder stood."""
        tools = language_tools(language_code(language, self.default_language))
        doc = tools.nlp.make_doc(without_placeholders(text))
        return content_terms((token.text for token in doc), tools)

    def tokens(self, text: str, language: str | None) -> list[str]:
        """Lower-cased content words of ``text`` in order, plural nouns as their singular."""
        return tokens_of(self.terms(text, language))

    def bigrams(self, text: str, language: str | None) -> list[str]:
        """Adjacent content words of ``text`` as written, lower-cased, in order ("clean water")."""
        return bigrams_of(self.terms(text, language))

    def terms_many(self, texts: Sequence[str], languages: Sequence[str | None]) -> list[list[Term | None]]:
        """``terms`` for many texts, batched through each language's tokenizer; same order as ``texts``."""
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        by_language: dict[str, list[int]] = {}
        for position, language in enumerate(languages):
            by_language.setdefault(language_code(language, self.default_language), []).append(position)
        result: list[list[Term | None]] = [[] for _ in texts]
        for code, positions in by_language.items():
            tools = language_tools(code)
            cleaned = (without_placeholders(texts[p]) for p in positions)
            for position, doc in zip(positions, tools.nlp.tokenizer.pipe(cleaned, batch_size=1000)):
                result[position] = content_terms((token.text for token in doc), tools)
        return result

    def tokens_many(self, texts: Sequence[str], languages: Sequence[str | None]) -> list[list[str]]:
        """``tokens`` for many texts, batched through each language's tokenizer; same order as ``texts``."""
        return [tokens_of(terms) for terms in self.terms_many(texts, languages)]

    def tokens_and_bigrams_many(
        self, texts: Sequence[str], languages: Sequence[str | None]
    ) -> tuple[list[list[str]], list[list[str]]]:
        """``tokens`` and ``bigrams`` of many texts from one pass of the tokenizers, for ``KeywordExtractor.fit``."""
        terms = self.terms_many(texts, languages)
        return [tokens_of(t) for t in terms], [bigrams_of(t) for t in terms]
