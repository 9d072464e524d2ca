"""The one catalogue of texts per language: the bot's UI texts and a report's headings and fixed texts.

The shortest working example::

    from analysis.texts import TextCatalogue

    texts = TextCatalogue.load()
    texts.plain("fr", "report_h_findings")           # 'Principales conclusions'
    texts.template("sw", "group_disability")         # a button label of the bot, reused by reports

Every text lives in ``analysis/texts.yaml``, one mapping per language, each
language with the same keys (``tests/test_bot_texts.py`` checks it). It lives
here, below the bot, so that both the bot (``bot.texts.Catalogue``, which
fills the texts in as Telegram HTML) and the reports (``analysis.reports``,
which fill them in as plain text) read the same file: a label written once
reads the same in a chat button and in a report.
"""

from __future__ import annotations

import html
import string
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "fr", "es", "sw")  # every language the catalogue is complete in (reports can be written in each)


def placeholders(text: str) -> set[str]:
    """The ``{names}`` used in a catalogue text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class TextCatalogue:
    """Texts per language, looked up by key, English when a language lacks one."""

    def __init__(self, texts: dict[str, dict[str, str]]) -> None:
        self.texts = texts

    @classmethod
    def load(cls) -> TextCatalogue:
        """The catalogue shipped with the project (``analysis/texts.yaml``)."""
        return cls(shipped_texts())

    @property
    def languages(self) -> tuple[str, ...]:
        """The catalogue's language codes, in file order."""
        return tuple(self.texts)

    def template(self, language: str, key: str) -> str:
        """The text ``key`` in ``language`` as written in the catalogue (English when missing there)."""
        table = self.texts.get(language) or self.texts[DEFAULT_LANGUAGE]
        template = table.get(key)
        return template if template is not None else self.texts[DEFAULT_LANGUAGE][key]

    def plain(self, language: str, key: str, /, **values: Any) -> str:
        """The text ``key`` in ``language`` as plain text, ``values`` filled in as they are.

        For documents (reports), not for chat: nothing is escaped, and the
        catalogue's character references (``&lt;``) are read back as characters.
        """
        text = html.unescape(self.template(language, key))
        return text.format_map({name: str(value) for name, value in values.items()}) if values else text


@lru_cache(maxsize=1)
def shipped_texts() -> dict[str, dict[str, str]]:
    """The catalogue file, read once per process."""
    return yaml.safe_load(resources.files("analysis").joinpath("texts.yaml").read_text(encoding="utf-8"))
