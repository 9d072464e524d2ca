"""The optional contributor profile: the answers offered and how typed answers are checked.

Every question can be skipped ("prefer not to say" stores nothing for it).
The codes are what the corpus stores; their labels are in ``analysis/texts.yaml``
(``age_<code>``, ``gender_<code>``, ``group_<code>``).
"""

from __future__ import annotations

from corpus.vocabulary import AGE_BANDS, GENDERS, GROUPS, ISO_COUNTRIES  # noqa: F401  (re-exported)

REGION_MAX_CHARS = 100  # the width of ``Contributor.region``


def parse_country_answer(text: str) -> str | None:
    """The ISO code a person typed (``ke``, `` KE ``, ``🇰🇪``), or None when it is not a country code."""
    value = "".join(_from_flag(ch) for ch in text.strip()).replace(" ", "").upper()
    return value if value in ISO_COUNTRIES else None


def flag(code: str) -> str:
    """The flag emoji of an ISO country code (regional indicator symbols)."""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in code.upper())


def _from_flag(ch: str) -> str:
    if 0x1F1E6 <= ord(ch) <= 0x1F1FF:
        return chr(ord("A") + ord(ch) - 0x1F1E6)
    return ch
