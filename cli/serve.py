"""``lnob bot``: the Telegram bot, served with long polling on the evidence base of this call's settings."""

from __future__ import annotations

import click

from cli.context import open_evidence, settings_of


@click.command()
@click.pass_context
def bot(ctx):
    """Run the Telegram bot with long polling (needs TELEGRAM_BOT_TOKEN)."""
    from bot.app import run_bot  # the whole bot: python-telegram-bot and the language tools

    settings = settings_of(ctx)
    open_evidence(settings)
    run_bot(settings)
