"""The staff commands and buttons in one table: name, handler, the least role, whether it is in the menu.

``bot.staff.add_staff_handlers`` registers them; the staff menu and the
staff ``/help`` are built from the same table, so they never disagree.
"""

from __future__ import annotations

from telegram.ext import CommandHandler, filters

from bot import staff_admin, staff_curate, staff_explore, staff_files, staff_search

WRITER, ANALYST, ADMIN = "writer", "analyst", "admin"

# name: (handler, least role, shown in the menu)
COMMANDS = {
    "themes": (staff_explore.show_themes, WRITER, True),
    "theme": (staff_explore.show_theme, WRITER, True),
    "search": (staff_search.search, WRITER, True),
    "quotes": (staff_explore.show_quotes, WRITER, True),
    "drivers": (staff_explore.show_drivers, WRITER, True),
    "stats": (staff_explore.show_stats, WRITER, True),
    "gaps": (staff_explore.show_gaps, WRITER, True),
    "chart": (staff_files.chart, WRITER, True),
    "export": (staff_files.export, WRITER, True),
    "report": (staff_files.report, WRITER, True),
    "rename": (staff_curate.rename, ANALYST, True),
    "merge": (staff_curate.merge, ANALYST, True),
    "split": (staff_curate.split, ANALYST, True),
    "pin": (staff_curate.pin, ANALYST, True),
    "hide": (staff_curate.hide, ANALYST, True),
    "recluster": (staff_curate.recluster, ANALYST, True),
    "invite": (staff_admin.invite, ADMIN, True),
    "staff": (staff_admin.list_staff, ADMIN, True),
    "revoke": (staff_admin.revoke, ADMIN, True),
    "audit": (staff_admin.show_audit, ADMIN, True),
    "help": (staff_admin.staff_help, WRITER, False),
}

# callback data pattern after "s:": (handler, least role)
BUTTONS = {
    r"tp:\d+$": (staff_explore.themes_page_pressed, WRITER),
    r"t:\d+$": (staff_explore.theme_pressed, WRITER),
    r"q:\d+$": (staff_explore.more_quotes_pressed, WRITER),
    r"c:\d+$": (staff_files.chart_pressed, WRITER),
    r"x:\d+$": (staff_files.export_pressed, WRITER),
    r"xf:\d+:(csv|md|docx)$": (staff_files.export_format_pressed, WRITER),
    r"xs:(csv|md|docx)$": (staff_files.export_search_pressed, WRITER),
}


def join_handler() -> CommandHandler:
    """``/join CODE`` is for anyone holding a code; without a code it is an unknown command like any other."""
    return CommandHandler("join", staff_admin.join, filters=filters.UpdateType.MESSAGE, has_args=1)
