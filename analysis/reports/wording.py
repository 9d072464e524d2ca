"""A report's words in its language: the catalogue's fixed texts, and names for what the corpus stores as codes.

The shortest working example::

    from analysis.reports.wording import Wording

    words = Wording("fr", organisations={"plan": "Plan International"})
    words("h_findings")               # 'Principales conclusions' (the catalogue's ``report_h_findings``)
    words.country("KE")               # 'Kenya'
    words.value("group", "migrant")   # the bot's button label for the group, in French

Texts come from the one catalogue (``analysis/texts.yaml``, keys
``report_*``); countries and languages are named from the Unicode CLDR
through Babel; groups, age bands and genders with the labels the bot offers
contributors (``group_*``, ``age_*``, ``gender_*``); organisations by the
names partners registered; drivers from the codebook.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from babel import Locale
from babel.dates import format_date

from analysis.drivers import NO_DRIVER, Codebook, driver_name
from analysis.texts import DEFAULT_LANGUAGE, LANGUAGES, TextCatalogue

LOCALES = {"en": "en_GB"}  # the CLDR locale of a report language when it is not the language itself (UN usage)
NOT_GIVEN = "not given"  # the value of a profile answer nobody gave (``analysis.reports.scope``)
NO_GROUP = "none given"  # the group of those who gave none (``analysis.reports.scope.NO_GROUP``)
UNKNOWN = "unknown"


class Wording:
    """The words of one report: ``words(key, **values)`` for the catalogue's ``report_<key>``, and names."""

    def __init__(
        self,
        language: str = DEFAULT_LANGUAGE,
        *,
        catalogue: TextCatalogue | None = None,
        organisations: Mapping[str, str] | None = None,
        codebook: Codebook | None = None,
        small_cell: int = 5,
    ) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"report language {language!r} is not one of {', '.join(LANGUAGES)}")
        self.language = language
        self.catalogue = catalogue or TextCatalogue.load()
        self.organisations = dict(organisations or {})
        self.codebook = codebook
        self.small_cell = small_cell
        self.locale = Locale.parse(LOCALES.get(language, language))

    def __call__(self, key: str, /, **values: object) -> str:
        """The report text ``report_<key>`` in this language, ``values`` filled in."""
        return self.catalogue.plain(self.language, f"report_{key}", **values)

    def label(self, key: str) -> str | None:
        """A label of the catalogue shared with the bot (``group_migrant``), or None when there is none."""
        if key not in self.catalogue.texts.get(DEFAULT_LANGUAGE, {}):
            return None
        return self.catalogue.plain(self.language, key)

    # -- marks of the small-cell rule -----------------------------------------------------

    @property
    def small_mark(self) -> str:
        return f"<{self.small_cell}"

    @property
    def hidden_mark(self) -> str:
        return f"≥{self.small_cell}"

    # -- names ---------------------------------------------------------------------------

    def country(self, code: str | None) -> str:
        """A country's name in the report's language (``KE`` -> ``Kenya``, ``Kenia``)."""
        if not code or code == UNKNOWN:
            return self("country_unknown")
        return self.locale.territories.get(code.upper(), code)

    def language_name(self, code: str | None) -> str:
        """A language's name in the report's language (``sw`` -> ``Swahili``, ``Kiswahili``)."""
        if not code or code == UNKNOWN:
            return self("language_unknown")
        names = self.locale.languages
        return names.get(code) or names.get(code.split("-")[0]) or code

    def organisation(self, code: str | None) -> str:
        if not code or code == UNKNOWN:
            return self("organisation_unknown")
        return self.organisations.get(code, code)

    def driver(self, key: str | None) -> str:
        """A driver's name from the codebook, in the report's language; "No driver" for none."""
        if not key or key == NO_DRIVER:
            return self("no_driver")
        return driver_name(key, self.language, codebook=self.codebook)

    def kind(self, kind: str) -> str:
        """``testimony`` or ``proposal``, as a noun that can start a line."""
        return self(f"kind_{kind}") if kind in ("testimony", "proposal") else kind

    def value(self, breakdown: str, value: str) -> str:
        """A value of a breakdown as people read it: ``("age band", "25_39")`` -> ``"25 to 39"``."""
        if value == NOT_GIVEN:
            return self("not_given")
        if value == NO_GROUP and breakdown == "group":
            return self("no_group")
        if value == UNKNOWN:
            return self("unknown")
        if breakdown == "country":
            return self.country(value)
        if breakdown == "organisation":
            return self.organisation(value)
        if breakdown == "language":
            return self.language_name(value)
        if breakdown == "kind":
            return self(f"kinds_{value}") if value in ("testimony", "proposal") else value
        prefix = {"group": "group_", "age band": "age_", "age_band": "age_", "gender": "gender_"}.get(breakdown)
        if prefix is not None:
            return self.label(prefix + value) or value.replace("_", " ")
        return value

    def names(self, breakdown: str, values) -> dict[str, str]:
        """``value -> name`` for the values of a breakdown (for ``Breakdown.text(names=...)``)."""
        return {v: self.value(breakdown, v) for v in values}

    # -- dates and lists ----------------------------------------------------------------

    def date(self, when: date | datetime) -> str:
        """A date as the report's language writes it (``6 April 2026``, ``6 avril 2026``)."""
        return format_date(when.date() if isinstance(when, datetime) else when, format="long", locale=self.locale)

    def listing(self, items, limit: int = 8) -> str:
        """``"a, b, c"``: at most ``limit`` items then "and N more", or "none"."""
        items = list(items)
        if not items:
            return self("none")
        text = ", ".join(items[:limit])
        return text + (" " + self("and_more", n=len(items) - limit) if len(items) > limit else "")
