"""The consent notice as one person reads it: it promises only what this deployment does for their language.

The notice says that names and places are hidden only in a language for
which a named-entity pipeline is installed (``corpus.redaction.ner_languages``,
asked once at start); in any other language it says they are not, and asks
people to leave them out. Everything else in it is the catalogue's text.

Every consent records the version of the exact words shown: the operator's
``LNOB_NOTICE_VERSION`` and a fingerprint of the text, such as
``2026.2+1f0c9a3e``. So a consent can be traced to its words, and the
version changes whenever they do: when the catalogue is edited, when the
person's language differs, when a pipeline is installed or removed.

    >>> notice(svc, "sw")                # doctest: +SKIP
    '<b>Tusimwache Mtu Nyuma</b> ... <b>hayafichwi</b> kwa lugha hii ...'
    >>> notice_version(svc, "sw")        # doctest: +SKIP
    '2026.2+5d41402a'
"""

from __future__ import annotations

import hashlib

from corpus.redaction import ner_languages

from bot.services import Services
from bot.texts import Html

FINGERPRINT_CHARS = 8


def names_hidden(svc: Services, language: str) -> bool:
    """Whether names and places are redacted in texts in ``language`` before staff read them."""
    if svc.ner is None or language not in svc.ner:  # before start (tests, tools): ask now
        svc.ner = {**(svc.ner or {}), **ner_languages([language], svc.store.redactor)}
    return svc.ner[language] is not None


def notice(svc: Services, language: str) -> Html:
    """The consent notice in ``language``, saying what is hidden in that language."""
    hidden = "notice_hidden_names" if names_hidden(svc, language) else "notice_hidden_patterns"
    return svc.texts(language, "notice", hidden=svc.texts(language, hidden))


def notice_version(svc: Services, language: str) -> str:
    """The version recorded with a consent given to the notice in ``language``: setting + fingerprint."""
    text = notice(svc, language)
    fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()[:FINGERPRINT_CHARS]
    return f"{svc.bot_settings.notice_version}+{fingerprint}"
