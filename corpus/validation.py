"""Checks on contribution texts before anything is stored."""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import datetime, timezone

from corpus.errors import InvalidText
from corpus.language import script_report
from corpus.models import Kind
from corpus.vocabulary import ISO_COUNTRIES

ALLOWED_CONTROL = {"\n", "\t", "\r"}


def clean_text(text: str | None, max_chars: int) -> str:
    """The text to store: NFC-normalised and stripped, or ``InvalidText`` saying why not.

    Rejects empty or whitespace-only text, text longer than ``max_chars``,
    control characters other than newline and tab (they garble exports and
    are a sign of binary input), text without a single letter (only digits,
    symbols or emoji: nothing to analyse), and text whose letters are mostly
    in a script the language detector cannot read (see ``corpus.language``).
    The error's ``reason`` is the code of the first of these that applies
    (``empty``, ``too_long``, ``control_characters``, ``not_utf8``,
    ``no_letters``, ``unreadable_script``).
    """
    if text is None or not text.strip():
        raise InvalidText("the text is empty: write at least a few words", "empty")
    text = unicodedata.normalize("NFC", text).strip()
    if len(text) > max_chars:
        raise InvalidText(
            f"the text is {len(text)} characters long; the limit is {max_chars}: shorten it or split it",
            "too_long",
            length=len(text),
            limit=max_chars,
        )
    bad = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cc" and c not in ALLOWED_CONTROL})
    if bad:
        raise InvalidText(f"the text contains control characters ({', '.join(bad[:5])}): remove them", "control_characters")
    if "\ufffd" in text:
        raise InvalidText(
            "the text contains U+FFFD replacement characters (it was not valid UTF-8): re-save it as UTF-8", "not_utf8"
        )
    check_script(text)
    return text


def check_script(text: str) -> None:
    """``InvalidText`` unless ``text`` has letters, mostly in a script the language detector reads."""
    report = script_report(text)
    if report.letters == 0:
        raise InvalidText("the text has no letters, only digits, symbols or emoji: write at least a few words", "no_letters")
    if not report.readable:
        scripts = ", ".join(report.unsupported_scripts[:3])
        raise InvalidText(
            f"the text is written in a script that cannot be processed yet ({scripts}): "
            "write it in another script, such as Latin, Arabic or Devanagari",
            "unreadable_script",
        )


def parse_kind(value: str | None) -> Kind:
    """``testimony`` or ``proposal`` (empty means testimony), or ``InvalidText``."""
    if value is None or not str(value).strip():
        return Kind.testimony
    value = str(value).strip().lower()
    try:
        return Kind(value)
    except ValueError:
        raise InvalidText(f"kind {value!r} is not one of: testimony, proposal") from None


def parse_country(value: str | None) -> str | None:
    """An ISO 3166 alpha-2 country code in upper case, or ``InvalidText``."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip().upper()
    if value not in ISO_COUNTRIES:
        raise InvalidText(f"country {value!r} is not a two-letter ISO 3166 code such as NP or KE")
    return value


def parse_language(value: str | None) -> str | None:
    """A lower-case language code such as ``en`` or ``pt-br``, or ``InvalidText``."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip().lower().replace("_", "-")
    head = value.split("-")[0]
    if not (2 <= len(head) <= 3 and head.isalpha() and head.isascii()) or len(value) > 16:
        raise InvalidText(f"language {value!r} is not a language code such as en, fr or sw")
    return value


_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def parse_date_bound(value: str | None, *, end: bool = False) -> datetime | None:
    """The day a ``since`` (``end=False``) or ``until`` (``end=True``) value names, midnight UTC, or ``InvalidText``.

    A day (``2026-03-15``) is itself; a month (``2026-03``) or a year (``2026``) is a period, so as a start
    it means its first day and as an end its last day: ``until 2026-03`` takes in all of March. The
    CLI's ``--since``/``--until`` and the bot's ``since:``/``until:`` filters both read dates here.
    """
    if value is None or not str(value).strip():
        return None
    match = _DATE.fullmatch(str(value).strip())
    try:
        if not match:
            raise ValueError(value)
        year, month, day = int(match[1]), match[2], match[3]
        if month is None:
            return datetime(year, 12 if end else 1, 31 if end else 1, tzinfo=timezone.utc)
        if day is None:
            day = calendar.monthrange(year, int(month))[1] if end else 1
        return datetime(year, int(month), int(day), tzinfo=timezone.utc)
    except ValueError:
        raise InvalidText(
            f"date {str(value).strip()!r} is not a day, month or year such as 2026-03-15, 2026-03 or 2026"
        ) from None
