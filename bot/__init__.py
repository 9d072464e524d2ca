"""The Telegram conversation for contributors and staff (python-telegram-bot v22)."""
