"""Errors the corpus raises for bad input; each message says what is wrong and what to do."""


class CorpusError(Exception):
    """Base class: a one-line, user-facing message."""


class InvalidText(CorpusError):
    """A contribution text that cannot be accepted (empty, too long, control characters)."""


class DatabaseUnavailable(CorpusError):
    """The configured database cannot be reached."""


class ImportFileError(CorpusError):
    """An import file that cannot be read at all (missing, bad encoding, unknown column)."""


class NotFound(CorpusError):
    """A testimony, contributor or organisation that does not exist."""
