"""The Telegram conversation for contributors and staff (python-telegram-bot v22)."""

from bot.app import build_application, run_bot, serving
from bot.config import BotConfigError, BotSettings
from bot.links import deep_link

__all__ = ["BotConfigError", "BotSettings", "build_application", "deep_link", "run_bot", "serving"]
