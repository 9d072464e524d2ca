"""Settings of the Telegram bot alone: one class, read from the environment like ``corpus.settings``.

The token is the only setting without the ``LNOB_`` prefix: ``TELEGRAM_BOT_TOKEN``
is the name every Telegram tool and tutorial uses.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LANGUAGES = ("en", "fr", "es", "sw")


class BotConfigError(RuntimeError):
    """The bot cannot start with these settings; the message says which one to set."""


class BotSettings(BaseSettings):
    """Every bot-only setting, each documented in the README (section "The contributor bot")."""

    model_config = SettingsConfigDict(env_prefix="LNOB_", env_file=".env", extra="ignore", populate_by_name=True)

    telegram_bot_token: str | None = Field(
        None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "telegram_bot_token"),
        description="The bot's token from @BotFather (environment variable TELEGRAM_BOT_TOKEN).",
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org/bot",
        description="Bot API base URL; the token is appended (or replaces '{token}'). "
        "Set it for a self-hosted Bot API server or a test server.",
    )
    telegram_file_url: str | None = Field(
        None, description="Bot API file URL; default: the API URL with '/bot' replaced by '/file/bot'."
    )
    bot_username: str | None = Field(
        None, description="The bot's @username without '@', for deep links printed by `lnob org add`."
    )
    notice_version: str = Field(
        "2026.2",
        max_length=23,
        description="Version of the consent notice in analysis/texts.yaml, recorded with every consent followed by "
        "a fingerprint of the exact text shown (e.g. 2026.2+1f0c9a3e). Raise it when the notice's meaning changes.",
    )
    flood_messages_per_minute: int = Field(
        30, ge=1, description="Messages and button presses one person may send in any 60 seconds."
    )
    flood_contributions_per_day: int = Field(
        50, ge=1, description="Testimonies and proposals one person may store in any 24 hours."
    )
    rate_limit_per_second: float = Field(
        30, ge=0, description="Outbound Bot API calls per second for the whole bot (0: no limit)."
    )
    rate_limit_group_per_minute: float = Field(
        20, ge=0, description="Outbound calls per minute into one group chat (0: no limit)."
    )
    max_concurrent_updates: int = Field(
        64, ge=1, description="Updates processed at once (each person's updates stay in order)."
    )
    poll_timeout: int = Field(10, ge=0, description="Long-polling timeout of getUpdates, in seconds.")
    poll_interval: float = Field(0.0, ge=0, description="Pause between two getUpdates calls, in seconds.")
    country_choices: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["KE", "UG", "NP", "BD", "GT"],
        description="Countries offered as buttons in the profile (comma-separated ISO codes); any can be typed.",
    )

    @field_validator("country_choices", mode="before")
    @classmethod
    def _split_countries(cls, value):
        if isinstance(value, str):
            value = [part for part in value.replace(";", ",").split(",")]
        return [str(code).strip().upper() for code in value if str(code).strip()]

    @property
    def resolved_file_url(self) -> str:
        """The Bot API file URL: the setting, else derived from the API URL."""
        if self.telegram_file_url:
            return self.telegram_file_url
        base = self.telegram_api_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"

    def require_token(self) -> str:
        """The token, or ``BotConfigError`` explaining how to set it."""
        token = (self.telegram_bot_token or "").strip()
        if not token:
            raise BotConfigError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather on Telegram, then "
                "`export TELEGRAM_BOT_TOKEN=123456:ABC...` and run `lnob bot` again"
            )
        return token
