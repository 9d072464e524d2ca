"""Errors the corpus raises for bad input; each message says what is wrong and what to do."""


class CorpusError(Exception):
    """Base class: a one-line, user-facing message."""


class InvalidText(CorpusError):
    """A contribution text (or a field such as a country or a date) that cannot be accepted.

    ``reason`` names why as a code, for callers that explain it in their own
    words (the bot, in the person's language): ``empty``, ``too_long``,
    ``control_characters``, ``not_utf8``, ``no_letters``, ``unreadable_script``
    for a text (see ``corpus.validation.clean_text``), ``invalid`` otherwise.
    ``details`` holds the numbers the message gives (``length`` and ``limit``
    for ``too_long``).
    """

    def __init__(self, message: str, reason: str = "invalid", **details: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.details = details


class DatabaseUnavailable(CorpusError):
    """The configured database cannot be reached."""


class ImportFileError(CorpusError):
    """An import file that cannot be read at all (missing, bad encoding, unknown column)."""


class NotFound(CorpusError):
    """A testimony, contributor or organisation that does not exist."""
