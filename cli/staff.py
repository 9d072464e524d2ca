"""``lnob staff`` and ``lnob audit``: staff roles, invites and the audit log from the command line."""

from __future__ import annotations

import click

from corpus.vocabulary import STAFF_ROLES

from cli.context import open_evidence, settings_of, staff_store
from cli.output import check_format, emit_csv, emit_json, table

AUDIT_COLUMNS = ("id", "at", "staff", "action", "params", "result_size")


@click.group()
def staff():
    """Staff of the partner organisations (admin, analyst, writer)."""


@staff.command("add")
@click.option("--telegram-id", required=True, type=int, help="The person's numeric Telegram user id.")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--org", "organisation", required=True, help="Organisation code.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def staff_add(ctx, telegram_id: int, role: str, organisation: str, as_json: bool):
    """Make a Telegram user staff (how the first admin is bootstrapped)."""
    store = staff_store(open_evidence(settings_of(ctx)))
    member = store.add(telegram_id, role, organisation, added_by="cli")
    store.audit("cli", "staff.add", {"staff": member.id, "role": role, "org": organisation}, 1)
    if as_json:
        emit_json({"id": member.id, "role": member.role, "organisation": organisation})
    else:
        click.echo(f"staff {member.id}: {member.role} of {organisation}")


@staff.command("invite")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--org", "organisation", required=True)
@click.option("--hours", default=72, show_default=True, type=click.IntRange(1, 24 * 30))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def staff_invite(ctx, role: str, organisation: str, hours: int, as_json: bool):
    """Create a one-time invite code; the person sends `/join CODE` to the bot."""
    store = staff_store(open_evidence(settings_of(ctx)))
    code = store.invite(role, organisation, created_by="cli", hours=hours)
    store.audit("cli", "staff.invite", {"role": role, "org": organisation, "hours": hours}, 1)
    if as_json:
        emit_json({"code": code, "role": role, "organisation": organisation, "hours": hours})
    else:
        click.echo(f"invite code {code} ({role} of {organisation}, valid {hours} h): send /join {code} to the bot")


@staff.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked staff.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def staff_list(ctx, include_revoked: bool, as_json: bool):
    """List staff (by pseudonym: no Telegram ids are stored)."""
    store = staff_store(open_evidence(settings_of(ctx)))
    rows = [
        {
            "id": m.id,
            "pseudonym": m.pseudonym[:12],
            "role": m.role,
            "organisation": code,
            "added_at": m.added_at,
            "revoked_at": m.revoked_at,
        }
        for m, code in store.members(include_revoked)
    ]
    if as_json:
        emit_json({"staff": rows})
    else:
        click.echo(table([(r["id"], r["pseudonym"], r["role"], r["organisation"], r["revoked_at"] or "") for r in rows],
                         ["id", "pseudonym", "role", "org", "revoked"]))


@staff.command("revoke")
@click.argument("staff_id", type=int)
@click.pass_context
def staff_revoke(ctx, staff_id: int):
    """Remove a member of staff."""
    store = staff_store(open_evidence(settings_of(ctx)))
    store.revoke(staff_id)
    store.audit("cli", "staff.revoke", {"staff": staff_id}, 1)
    click.echo(f"staff {staff_id} revoked")


@click.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--action")
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True,
              help=f"A CSV table, one row per entry: {', '.join(AUDIT_COLUMNS)} (params as 'key: value; ...').")
@click.pass_context
def audit(ctx, limit: int, action: str | None, as_json: bool, as_csv: bool):
    """The audit log of staff actions, newest first."""
    check_format(as_json, as_csv)
    store = staff_store(open_evidence(settings_of(ctx)))
    entries = store.audit_entries(limit=limit, action=action)
    rows = [
        {"id": e.id, "at": e.at, "staff": e.staff[:12], "action": e.action, "params": e.params, "result_size": e.result_size}
        for e in entries
    ]
    if as_json:
        emit_json({"entries": rows})
    elif as_csv:
        emit_csv(rows, AUDIT_COLUMNS)
    else:
        click.echo(table([(r["id"], r["at"], r["staff"], r["action"], r["params"], r["result_size"]) for r in rows],
                         ["id", "at", "staff", "action", "params", "results"]))
