"""The catalogue of UI texts in chat: every language complete, HTML-safe by construction.

    >>> texts = Catalogue.load()
    >>> texts("en", "delete_done_one", short_id="<b>")
    'Contribution &lt;b&gt; is erased.'

The texts themselves are the project's one catalogue, ``analysis/texts.yaml``
(``analysis.texts``), which reports read too. In chat they are Telegram HTML:
every value put into a ``{placeholder}`` is escaped with ``html.escape``
unless it is already :class:`Html` (a text of the catalogue, or one built
from escaped parts), so nothing a person typed can break the parse mode or
inject markup when it is echoed back.

The labels of the five drivers come from the driver codebook (field
``plain``), the one place they are written: the bot passes the evidence
base's codebook (``LNOB_CODEBOOK_PATH``, else the bundled
``analysis/drivers.yaml``), so contributors tick the drivers the analysis uses.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

from analysis.drivers import Codebook
from analysis.texts import DEFAULT_LANGUAGE, TextCatalogue, placeholders, shipped_texts

from bot.config import SUPPORTED_LANGUAGES

__all__ = ["DEFAULT_LANGUAGE", "Catalogue", "Html", "escape", "placeholders"]


class Html(str):
    """A string that is already Telegram HTML: it is not escaped again when put into a placeholder."""


def escape(value: Any) -> Html:
    """``value`` as text that shows literally in HTML parse mode."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=False))


class Catalogue(TextCatalogue):
    """UI texts per language and the driver labels, looked up as ``texts(lang, key, **values)``."""

    def __init__(self, texts: dict[str, dict[str, str]], drivers: dict[str, dict[str, str]]) -> None:
        super().__init__(texts)
        self.drivers = drivers

    @classmethod
    def load(cls, codebook: Codebook | None = None) -> "Catalogue":
        """The project's catalogue (``analysis/texts.yaml``) with the driver labels of ``codebook``
        (default: the bundled one)."""
        codebook = codebook or _bundled_codebook()
        return cls(shipped_texts(), {key: dict(codebook.get(key).plain) for key in codebook.keys})

    @property
    def languages(self) -> tuple[str, ...]:
        """Language codes the bot speaks, in catalogue order."""
        return tuple(code for code in self.texts if code in SUPPORTED_LANGUAGES)

    def pick(self, language_code: str | None) -> str:
        """The supported language for a Telegram ``language_code`` such as ``fr-FR``, else English."""
        if language_code:
            head = language_code.strip().lower().replace("_", "-").split("-")[0]
            if head in self.languages:
                return head
        return DEFAULT_LANGUAGE

    def __call__(self, language: str, key: str, /, **values: Any) -> Html:
        """The text ``key`` in ``language`` (English when missing) with escaped ``values`` filled in."""
        template = self.template(language, key)
        return Html(template.format_map({name: escape(value) for name, value in values.items()}))

    @property
    def driver_codes(self) -> tuple[str, ...]:
        """The five drivers of marginalisation, in codebook order."""
        return tuple(self.drivers)

    def driver(self, language: str, code: str) -> str:
        """The plain-words label of driver ``code`` (plain text, not yet escaped)."""
        labels = self.drivers[code]
        return labels.get(language) or labels[DEFAULT_LANGUAGE]


@lru_cache(maxsize=1)
def _bundled_codebook() -> Codebook:
    return Codebook.load()
