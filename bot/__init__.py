"""The Telegram conversation for contributors and staff (python-telegram-bot v22).

The names below are imported on first use (PEP 562), so that a command that
needs only ``bot.config`` or ``bot.links`` (``lnob doctor``, ``lnob invite``)
does not load the whole bot: python-telegram-bot, spaCy and the analysis
took about 6.6 s of imports for ``lnob doctor``.
"""

from importlib import import_module

_WHERE = {
    "BotConfigError": "bot.config",
    "BotSettings": "bot.config",
    "build_application": "bot.app",
    "deep_link": "bot.links",
    "run_bot": "bot.app",
    "serving": "bot.app",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'bot' has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)
