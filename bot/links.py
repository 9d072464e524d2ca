"""Deep links: ``https://t.me/<bot>?start=<code>`` attributes a contributor to a partner organisation."""

from __future__ import annotations

from telegram.helpers import create_deep_linked_url


def deep_link(bot_username: str, code: str | None = None) -> str:
    """The t.me link that opens a private chat with the bot, starting it with ``code`` when given.

    ``bot_username`` is the bot's @username (with or without the ``@``; the
    ``LNOB_BOT_USERNAME`` setting for the CLI). ``code`` may hold letters,
    digits, ``_`` and ``-`` (at most 64), as organisation codes do; anything
    else raises ``ValueError``.
    """
    return create_deep_linked_url(bot_username.strip().lstrip("@"), code or None)
