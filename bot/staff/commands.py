"""The staff commands and buttons in one table: name, handler, the least role, whether it is in the menu.

``bot.app`` hands ``TABLE`` to ``bot.staff.wiring.add_staff_handlers``; the
staff menu and the staff ``/help`` are built from the same table, so they
never disagree.
"""

from __future__ import annotations

from telegram.ext import CommandHandler, filters

from corpus.vocabulary import StaffRole

from bot.staff import admin, curate, explore, files, search
from bot.staff.base import CommandTable

WRITER, ANALYST, ADMIN = StaffRole.writer, StaffRole.analyst, StaffRole.admin

# name: (handler, least role, shown in the menu)
COMMANDS = {
    "themes": (explore.show_themes, WRITER, True),
    "theme": (explore.show_theme, WRITER, True),
    "search": (search.search, WRITER, True),
    "quotes": (explore.show_quotes, WRITER, True),
    "drivers": (explore.show_drivers, WRITER, True),
    "stats": (explore.show_stats, WRITER, True),
    "gaps": (explore.show_gaps, WRITER, True),
    "chart": (files.chart, WRITER, True),
    "export": (files.export, WRITER, True),
    "report": (files.report, WRITER, True),
    "explore": (files.explore_file, WRITER, True),
    "rename": (curate.rename, ANALYST, True),
    "merge": (curate.merge, ANALYST, True),
    "split": (curate.split, ANALYST, True),
    "pin": (curate.pin, ANALYST, True),
    "hide": (curate.hide, ANALYST, True),
    "recluster": (curate.recluster, ANALYST, True),
    "invite": (admin.invite, ADMIN, True),
    "staff": (admin.list_staff, ADMIN, True),
    "revoke": (admin.revoke, ADMIN, True),
    "audit": (admin.show_audit, ADMIN, True),
    "help": (admin.staff_help, WRITER, False),
}

# callback data pattern after "s:": (handler, least role)
BUTTONS = {
    r"tp:\d+$": (explore.themes_page_pressed, WRITER),
    r"t:\d+$": (explore.theme_pressed, WRITER),
    r"q:\d+$": (explore.more_quotes_pressed, WRITER),
    r"c:\d+$": (files.chart_pressed, WRITER),
    r"x:\d+$": (files.export_pressed, WRITER),
    r"xf:\d+:(csv|md|docx)$": (files.export_format_pressed, WRITER),
    r"xs:(csv|md|docx)$": (files.export_search_pressed, WRITER),
}

TABLE = CommandTable(COMMANDS, BUTTONS)


def join_handler() -> CommandHandler:
    """``/join CODE`` is for anyone holding a code; without a code it is an unknown command like any other."""
    return CommandHandler("join", admin.join, filters=filters.UpdateType.MESSAGE, has_args=1)
