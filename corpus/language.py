"""The language of a text, detected offline, and whether its script can be read at all.

The shortest working example::

    >>> from corpus.language import LanguageDetector
    >>> detector = LanguageDetector()
    >>> detector.detect("Mwen bezwen dlo ak manje pou timoun yo, tanpri ede nou").code
    'ht'
    >>> detector.detect("Merci", hint="fr")  # too short to tell: the declared language stands
    Detection(code='fr', confidence=..., from_hint=True)

Why detect at all: the declared language (an import column, the language of
the bot's interface) is only a hint. A person may use the bot in French and
write in Haitian Creole; analysis, filters and redaction must see Creole.

The detector is py3langid (a maintained fork of langid.py, a naive Bayes
model over byte n-grams that ships inside the package, 140 languages). Its
model is loaded once per process and shared by every thread; it is never
changed after loading, so reading it needs no lock.

The rule, in order:

1. What would sway the model without saying anything about the language is
   removed first: redaction placeholders such as ``[PHONE]``, URLs, e-mail
   addresses, @handles and digits; a text mostly in capitals is lower-cased.
   The stored text is not changed.
2. The model scores only the candidate languages (``PARTNERSHIP_LANGUAGES``
   by default, plus the hint's language when the model knows it); the
   confidence is its probability for the chosen language, normalised over
   the candidates.
3. With a hint, the hint stands (``from_hint=True``) when the best language
   is less likely than ``min_confidence``, or when the text is short
   (fewer than ``min_words`` words or ``min_letters`` letters) and the best
   language is less likely than ``min_short_confidence``: a short text can
   still be unmistakable ("Mwen malad" is Creole whatever the interface),
   and on short phrases the model's wrong guesses stayed far below that
   bar. The confidence is then the model's probability *for the hint's
   language*, so a hint the text does not bear out shows as a low confidence.
4. When the detection agrees with the hint's primary subtag, the hint is
   kept as given (``pt-br`` stays ``pt-br``): it is the more precise tag.
5. Without a hint the best language is returned whatever its confidence;
   callers that need certainty compare ``confidence`` with a threshold.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import tempfile
import re
import threading
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import _to_array as stdlib_array

log = logging.getLogger(__name__)

PARTNERSHIP_LANGUAGES: tuple[str, ...] = (
    # the ten every deployment must cover
    "en", "fr", "es", "pt", "sw", "ht", "ar", "bn", "ne", "hi",
    # South and Central Asia, Middle East
    "ur", "ps", "fa", "pa", "gu", "mr", "ta", "te", "kn", "ml", "or", "as", "si", "dz",
    "ku", "tr", "az", "uz", "tg", "ky", "kk", "tk", "hy", "ka", "he", "ug",
    # Africa
    "so", "am", "om", "ha", "yo", "ig", "zu", "xh", "rw", "lg", "mg", "ln", "sn", "st", "nso", "af", "kik",
    # East and South-East Asia
    "zh", "ja", "ko", "vi", "th", "lo", "km", "my", "id", "ms", "tl", "mn",
    # Europe (staff, diaspora, refugees' host countries)
    "ru", "uk", "be", "pl", "ro", "bg", "sr", "bs", "hr", "mk", "sq", "el",
    "it", "de", "nl", "sv", "da", "no", "fi", "cs", "sk", "hu", "ca", "gl", "eu",
)
"""Where the partner organisations work, and the languages spoken there that
the model knows. Scoring only these keeps a Creole message from being called
Guadeloupean Creole (``gcf``) or a short English one Nigerian Pidgin
(``pcm``), while staying generous enough for refugees and staff."""

MIN_WORDS = 3
MIN_LETTERS = 15
MIN_SHORT_CONFIDENCE = 0.8
"""How sure the model must be of a short text to overrule a hint. On 34 everyday two- or three-word
phrases in six languages its ten wrong guesses all stayed under 0.15, its right ones reached 0.88."""
MIN_CONFIDENCE = 0.3
"""Below this probability the model's choice gives way to a hint. Measured on the disaster-response
validation messages (see BENCHMARKS.md): at 0.3 a wrong hint moves fewer texts than at 0.5, and a
right one still settles the doubtful ones."""

SUPPORTED_SCRIPTS: frozenset[str] = frozenset({
    "LATIN", "ARABIC", "DEVANAGARI", "BENGALI", "CYRILLIC", "GREEK", "ETHIOPIC", "HEBREW",
    "ARMENIAN", "GEORGIAN", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN", "SINHALA",
    "GURMUKHI", "GUJARATI", "ORIYA", "TAMIL", "TELUGU", "KANNADA", "MALAYALAM",
    "CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO",
})
"""Unicode scripts (as the first word of a character's name) in which the
model knows at least one language; a text in another script is refused."""

UNSPACED_SCRIPTS: frozenset[str] = frozenset({"CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR"})
"""Scripts written without spaces between words: each letter counts as a word
and as three letters in the too-short rule, about a syllable each."""

_NOISE = re.compile(
    r"\[[A-Z_]+\]"  # redaction placeholders: [PHONE], [NAME], ...
    r"|(?:https?://|www\.)\S+"  # URLs
    r"|\S+@\S+\.\S+"  # e-mail addresses
    r"|(?<!\w)[@#]\w+"  # handles and hashtags
    r"|\d+"  # digits of every script
)


@dataclass(frozen=True)
class Detection:
    """A text's language: an ISO 639 code (or the hint as given), the model's probability for it,
    and whether it came from the hint because the text alone could not tell."""

    code: str | None
    confidence: float
    from_hint: bool = False


@dataclass(frozen=True)
class ScriptReport:
    """How many letters a text has, how many are in a script the detector reads, and the scripts of the others."""

    letters: int
    supported: int
    unsupported_scripts: tuple[str, ...]

    @property
    def readable(self) -> bool:
        """Whether at least half of the letters are in a supported script (some letters needed)."""
        return self.letters > 0 and self.supported * 2 >= self.letters


# -- the model, once per process -------------------------------------------------------

_lock = threading.Lock()
_identifiers: dict[frozenset[str] | None, LanguageIdentifier] = {}


def _identifier(languages: frozenset[str] | None) -> LanguageIdentifier:
    """The shipped model restricted to ``languages`` (None: all 140), loaded once per process.

    Restricted copies share the full model's byte automaton and slice only its
    probability table, so a second candidate set costs a few megabytes, not a reload.
    """
    with _lock:
        found = _identifiers.get(languages)
        if found is not None:
            return found
        full = _identifiers.get(None)
        if full is None:
            full = _identifiers[None] = _full_model()
        if languages is None:
            return full
        restricted = copy.copy(full)
        restricted.set_languages(sorted(languages))
        _identifiers[languages] = restricted
        return restricted


UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)  # what a damaged copy raises


def _full_model() -> LanguageIdentifier:
    """The shipped model, read from its uncompressed copy in the user's cache when there is one.

    py3langid ships its model compressed with LZMA and decompresses it at
    every load: 0.6 s, the largest part of a one-shot ``lnob search`` on the
    demo corpus. The first load keeps the decompressed arrays (68 MB) in
    ``model_cache_dir()``, and later processes read them in about 0.2 s. The
    copy is named after py3langid's version and the model file's size, so an
    upgrade makes a new one; without a writable cache the model is
    decompressed every time, as before.
    """
    source = Path(MODEL_DIR) / MODEL_FILE
    cached = model_cache_dir() / f"py3langid-{version('py3langid')}-{source.stat().st_size}.npz"
    if cached.exists():
        try:
            return _model_from_npz(cached)
        except UNREADABLE as exc:  # a damaged copy: made again below
            log.warning("the cached language model %s could not be read (%s); reading the shipped one", cached, exc)
    _keep_uncompressed(source, cached)
    if cached.exists():
        try:
            return _model_from_npz(cached)
        except UNREADABLE:
            cached.unlink(missing_ok=True)
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def model_cache_dir() -> Path:
    """Where models unpacked for speed are kept: ``$LNOB_CACHE_DIR``, else ``$XDG_CACHE_HOME/lnob``, else
    ``~/.cache/lnob``. Nothing from the corpus is ever kept there."""
    if os.environ.get("LNOB_CACHE_DIR"):
        return Path(os.environ["LNOB_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lnob"


def _keep_uncompressed(source: Path, target: Path) -> None:
    """Decompress the shipped model to ``target``, whole or not at all (a temporary file renamed into place)."""
    import lzma
    import shutil

    partial: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".partial-", suffix=".npz", delete=False) as out:
            partial = Path(out.name)
            with lzma.open(source) as compressed:
                shutil.copyfileobj(compressed, out, length=1 << 20)
        os.replace(partial, target)
    except (OSError, lzma.LZMAError) as exc:  # no writable cache (read-only home, full disk): decompress each time
        log.info("the language model is not kept uncompressed in %s (%s)", target.parent, exc)
        if partial is not None:
            partial.unlink(missing_ok=True)


def _model_from_npz(path: Path) -> LanguageIdentifier:
    """The identifier built from the model's uncompressed arrays, as py3langid builds it from its file."""
    with np.load(path, allow_pickle=False) as arrays:
        return LanguageIdentifier(
            np.asarray(arrays["ptc"]), np.asarray(arrays["pc"]), arrays["classes"].tolist(),
            stdlib_array(arrays["nextmove"]), arrays["out_feat"].tolist(), norm_probs=True,
            tk_row=stdlib_array(arrays["nextmove_row"]),
        )


def model_languages() -> frozenset[str]:
    """Every language code the shipped model knows."""
    return frozenset(_identifier(None).labels)


# -- text preparation ------------------------------------------------------------------


def _script(char: str) -> str:
    """The script of a letter as the first word of its Unicode name ('LATIN', 'CJK', ...); '' when unnamed."""
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0].split("-", 1)[0]


def _letters(text: str) -> Iterable[str]:
    """The letters of ``text`` after compatibility folding (fullwidth and 'mathematical' letters become plain),
    modifier letters (apostrophe-like marks) left out since they belong to no script."""
    for char in unicodedata.normalize("NFKC", text):
        if unicodedata.category(char).startswith("L") and not unicodedata.name(char, "").startswith("MODIFIER"):
            yield char


def script_report(text: str) -> ScriptReport:
    """Counts the letters of ``text`` and which of them are in a script the detector reads."""
    letters = supported = 0
    others: set[str] = set()
    for char in _letters(text):
        letters += 1
        script = _script(char)
        if script in SUPPORTED_SCRIPTS:
            supported += 1
        else:
            others.add(script.title() if script else f"U+{ord(char):04X}")
    return ScriptReport(letters=letters, supported=supported, unsupported_scripts=tuple(sorted(others)))


def detectable_text(text: str) -> str:
    """``text`` as the detector should read it: compatibility-folded, with placeholders, URLs, e-mail
    addresses, handles and digits removed, spaces collapsed, and lower-cased when mostly in capitals
    (text messages often are; the model learnt its n-grams from ordinary case)."""
    folded = unicodedata.normalize("NFKC", text)
    readable = " ".join(_NOISE.sub(" ", folded).split())
    return readable.lower() if _mostly_capitals(readable) else readable


def _mostly_capitals(text: str) -> bool:
    """Whether more than half of the cased letters of ``text`` are capitals."""
    upper = cased = 0
    for char in text:
        if char.isupper():
            upper += 1
            cased += 1
        elif char.islower():
            cased += 1
    return upper * 2 > cased


def _too_short(text: str, min_words: int, min_letters: int) -> bool:
    """Whether ``text`` (already made detectable) has too few words or letters to tell its language."""
    words = letters = 0
    for token in text.split():
        spaced = False
        for char in _letters(token):
            if _script(char) in UNSPACED_SCRIPTS:
                words += 1
                letters += 3
            else:
                spaced = True
                letters += 1
        words += spaced
    return words < min_words or letters < min_letters


def primary_subtag(code: str | None) -> str | None:
    """The language of a tag without its region or script: 'pt-BR' and 'pt_br' give 'pt'."""
    if not code or not code.strip():
        return None
    return re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0] or None


# -- the detector ----------------------------------------------------------------------


class LanguageDetector:
    """Detects the language of a text among ``languages`` (None: every language the model knows).

    Parameters follow the rule in this module's docstring: below
    ``min_confidence``, or below ``min_short_confidence`` for a text of
    fewer than ``min_words`` words or ``min_letters`` letters, a hint wins
    over the model.
    """

    def __init__(
        self,
        languages: Sequence[str] | None = PARTNERSHIP_LANGUAGES,
        *,
        min_confidence: float = MIN_CONFIDENCE,
        min_short_confidence: float = MIN_SHORT_CONFIDENCE,
        min_words: int = MIN_WORDS,
        min_letters: int = MIN_LETTERS,
    ) -> None:
        known = model_languages()
        if languages is not None:
            unknown = sorted(set(languages) - known)
            if unknown:
                raise ValueError(f"the language model does not know: {', '.join(unknown)}")
        self.languages = frozenset(languages) if languages is not None else None
        self.min_confidence = min_confidence
        self.min_short_confidence = min_short_confidence
        self.min_words = min_words
        self.min_letters = min_letters

    def rank(self, text: str, hint: str | None = None) -> list[tuple[str, float]]:
        """Every candidate language (the hint's included) with its probability, most likely first."""
        return self._identifier_for(primary_subtag(hint)).rank(detectable_text(text))

    def detect(self, text: str, hint: str | None = None) -> Detection:
        """The language of ``text``; ``hint`` (a declared language) stands when the text cannot tell."""
        hint = hint.strip().lower().replace("_", "-") if hint and hint.strip() else None
        hint_code = primary_subtag(hint)
        readable = detectable_text(text)
        if next(_letters(readable), None) is None:  # nothing left to read but symbols
            return Detection(code=hint, confidence=0.0, from_hint=hint is not None)
        ranking = self._identifier_for(hint_code).rank(readable)
        best, confidence = ranking[0]
        if best == hint_code:
            return Detection(code=hint, confidence=confidence)
        if hint is not None and confidence < self._needed_confidence(readable):
            return Detection(code=hint, confidence=dict(ranking).get(hint_code, 0.0), from_hint=True)
        return Detection(code=best, confidence=confidence)

    def _needed_confidence(self, readable: str) -> float:
        """How sure the model must be of ``readable`` to overrule a hint: more when the text is short."""
        if _too_short(readable, self.min_words, self.min_letters):
            return max(self.min_confidence, self.min_short_confidence)
        return self.min_confidence

    def _identifier_for(self, hint_code: str | None) -> LanguageIdentifier:
        """The model over the candidates, plus the hint's language when the model knows it."""
        if self.languages is None:
            return _identifier(None)
        if hint_code and hint_code not in self.languages and hint_code in model_languages():
            return _identifier(self.languages | {hint_code})
        return _identifier(self.languages)


@functools.cache
def default_detector() -> LanguageDetector:
    """The process-wide detector over ``PARTNERSHIP_LANGUAGES`` (created on first use; a race creates a
    spare one, harmless since the model itself loads under the lock)."""
    return LanguageDetector()


def detect(text: str, hint: str | None = None) -> Detection:
    """``default_detector().detect(text, hint)``."""
    return default_detector().detect(text, hint)
