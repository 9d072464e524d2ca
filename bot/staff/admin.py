"""Staff management in chat: ``/join CODE`` (anyone with a code), ``/invite``, ``/staff``, ``/revoke``,
``/audit`` (admins), and the staff part of ``/help``.

Invite codes are one-time and expire (``corpus.staff``); only their hash is
stored, and the code itself is never written to the audit log.
"""

from __future__ import annotations

import asyncio

from telegram import Update

from corpus.errors import NotFound
from corpus.staff import ROLES, StaffError

from bot.commands import show_help
from bot.context import BotContext
from bot.messages import reply
from bot.staff.base import audit, member, staff_services
from bot.staff.menu import drop_menu, ensure_menu
from bot.staff.views import text
from bot.texts import Html, escape

INVITE_HOURS = 72
AUDIT_SHOWN = 20


async def join(update: Update, context: BotContext) -> None:
    """``/join CODE``: redeem a one-time invite; the person becomes staff with the invite's role."""
    staff, svc = staff_services(context), context.services
    code = context.args[0]
    try:
        found = await svc.write(staff.store.redeem, code, update.effective_user.id)
    except StaffError:
        await reply(update, context, text(update, context, "join_invalid"))
        return
    organisation = await asyncio.to_thread(_organisation_code, staff, found.organisation_id)
    context.staff = found
    await ensure_menu(update, context, found)
    await audit(context, "staff.join", {"staff": found.id, "role": found.role, "org": organisation}, 1)
    await reply(update, context, text(update, context, "join_done", role=found.role, org=organisation))


def _organisation_code(staff, organisation_id: int) -> str:
    return next((o.code for o in staff.services.store.organisations() if o.id == organisation_id), "?")


async def invite(update: Update, context: BotContext) -> None:
    """``/invite ROLE [ORG]``: a one-time code valid for three days (the admin's organisation by default)."""
    args = context.args or []
    role = args[0].lower() if args else ""
    if role not in ROLES:
        await reply(update, context, text(update, context, "usage_invite", roles=", ".join(ROLES)))
        return
    staff, admin = staff_services(context), member(context)
    organisation = args[1].lower() if len(args) > 1 else await asyncio.to_thread(_organisation_code, staff, admin.organisation_id)
    try:
        code = await context.services.write(staff.store.invite, role, organisation, admin.pseudonym, INVITE_HOURS)
    except NotFound:
        await reply(update, context, text(update, context, "org_not_found", org=organisation))
        return
    await audit(context, "staff.invite", {"role": role, "org": organisation, "hours": INVITE_HOURS}, 1)
    await reply(update, context, text(update, context, "invite_done", code=code, role=role, org=organisation,
                                      hours=INVITE_HOURS))


async def list_staff(update: Update, context: BotContext) -> None:
    """``/staff``: active staff by id, pseudonym (never a Telegram id), role and organisation."""
    staff = staff_services(context)
    rows = await asyncio.to_thread(staff.store.members)
    lines = [text(update, context, "staff_header", count=len(rows))]
    for m, code in rows:
        you = " ←" if m.pseudonym == member(context).pseudonym else ""
        lines.append(text(update, context, "staff_line", id=m.id, pseudonym=m.pseudonym[:8], role=m.role, org=code,
                          date=f"{m.added_at:%Y-%m-%d}") + you)
    await audit(context, "staff.list", {}, len(rows))
    await reply(update, context, Html("\n".join(lines)))


async def revoke(update: Update, context: BotContext) -> None:
    """``/revoke ID``: the member of staff loses access at once (their row stays for the audit)."""
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await reply(update, context, text(update, context, "usage_revoke"))
        return
    staff_id = int(args[0])
    if staff_id == member(context).id:
        await reply(update, context, text(update, context, "revoke_self"))
        return
    staff = staff_services(context)
    try:
        revoked = await context.services.write(staff.store.revoke, staff_id)
    except NotFound:
        await reply(update, context, text(update, context, "staff_not_found", id=staff_id))
        return
    await drop_menu(context, revoked.pseudonym)
    await audit(context, "staff.revoke", {"staff": staff_id}, 1)
    await reply(update, context, text(update, context, "revoke_done", id=staff_id))


async def show_audit(update: Update, context: BotContext) -> None:
    """``/audit [N]``: the newest audit entries (20 by default, at most 100)."""
    args = context.args or []
    limit = min(int(args[0]), 100) if args and args[0].isdigit() else AUDIT_SHOWN
    entries = await asyncio.to_thread(staff_services(context).store.audit_entries, limit)
    lines = [text(update, context, "audit_header", count=len(entries))]
    for e in entries:
        params = ", ".join(f"{k}={v}" for k, v in (e.params or {}).items())
        lines.append(f"#{e.id} {e.at:%Y-%m-%d %H:%M} <code>{escape(e.staff[:8])}</code> <b>{escape(e.action)}</b> "
                     f"{escape(params)} → {escape(e.result_size if e.result_size is not None else '—')}")
    await audit(context, "audit.read", {"limit": limit}, len(entries))
    await reply(update, context, Html("\n".join(lines)))


async def staff_help(update: Update, context: BotContext) -> None:
    """``/help`` for staff: the contributor help, then the staff commands of their role."""
    found = member(context)
    names = staff_services(context).table.menu(found.role)
    listing = "\n".join(f"/{name}: {text(update, context, f'cmd_{name}')}" for name in names)
    header = text(update, context, "staff_help", role=found.role)
    await show_help(update, context)
    await reply(update, context, Html(f"{header}\n{listing}\n\n{text(update, context, 'staff_help_filters')}"))
