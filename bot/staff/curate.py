"""Curation in chat (analysts and admins): ``/rename``, ``/merge``, ``/split``, ``/pin``, ``/hide``, ``/recluster``.

Curation goes through ``analysis.curation.Curator``, which stores it as rules
the analysis re-applies, so it survives ``/recluster``. ``/recluster`` runs
``analysis.analyse.Analysis`` on a thread of its own: the bot keeps
answering everyone, a progress message is edited at every stage, and the
change report comes at the end. Curation waits while an analysis runs.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.error import TelegramError

from analysis.analyse import STAGES, Analysis, AnalysisReport
from corpus.errors import CorpusError

from bot.context import BotContext
from bot.messages import reply
from bot.staff.base import audit, member, staff_services
from bot.staff.views import rest_of_message, short, text, theme_id_arg

log = logging.getLogger(__name__)


async def _refuse_while_reclustering(update: Update, context: BotContext) -> bool:
    if staff_services(context).reclustering:
        await reply(update, context, text(update, context, "recluster_running"))
        return True
    return False


async def _curate(update: Update, context: BotContext, action: str, params: dict, work, done_key: str, done) -> None:
    """Run one curation on a thread, tell the outcome, audit it and refresh search."""
    if await _refuse_while_reclustering(update, context):
        return
    try:
        result = await asyncio.to_thread(work)
    except (CorpusError, ValueError) as exc:
        await reply(update, context, text(update, context, "curation_failed", reason=str(exc)))
        return
    values = done(result)  # the placeholders of ``done_key`` from the curation's result
    await audit(context, action, params, 1)
    await reply(update, context, text(update, context, done_key, **values))
    staff_services(context).refresh_searcher()


async def rename(update: Update, context: BotContext) -> None:
    """``/rename ID new label``: a staff label that re-analysis keeps."""
    parts = rest_of_message(update).split(maxsplit=1)
    theme_id = theme_id_arg(parts[0]) if parts else None
    if theme_id is None or len(parts) < 2:
        await reply(update, context, text(update, context, "usage_rename"))
        return
    label = parts[1]
    curator = staff_services(context).curator
    await _curate(update, context, "curate.rename", {"theme": theme_id, "label": label},
                  lambda: curator.rename(theme_id, label), "rename_done",
                  lambda _: {"id": theme_id, "label": label})


async def merge(update: Update, context: BotContext) -> None:
    """``/merge A B``: theme B is folded into theme A, now and after every re-analysis."""
    ids = [theme_id_arg(a) for a in (context.args or [])]
    if len(ids) != 2 or None in ids:
        await reply(update, context, text(update, context, "usage_merge"))
        return
    target, other = ids
    curator = staff_services(context).curator
    await _curate(update, context, "curate.merge", {"theme": target, "merged": other},
                  lambda: curator.merge(target, other, member(context).pseudonym), "merge_done",
                  lambda r: {"target": target, "other": other, "moved": r["moved"]})


async def split(update: Update, context: BotContext) -> None:
    """``/split ID``: the theme in two; the larger part keeps the id."""
    theme_id = theme_id_arg(context.args[0]) if context.args else None
    if theme_id is None:
        await reply(update, context, text(update, context, "usage_split"))
        return
    curator = staff_services(context).curator
    await _curate(update, context, "curate.split", {"theme": theme_id},
                  lambda: curator.split(theme_id, member(context).pseudonym), "split_done",
                  lambda r: {"id": theme_id, "new": r["new_theme"], "kept": r["kept"], "moved": r["moved"]})


async def pin(update: Update, context: BotContext) -> None:
    """``/pin ID QUOTE``: the quote (its short id) is always shown first for the theme."""
    args = context.args or []
    theme_id = theme_id_arg(args[0]) if args else None
    if theme_id is None or len(args) != 2:
        await reply(update, context, text(update, context, "usage_pin"))
        return
    curator = staff_services(context).curator
    await _curate(update, context, "curate.pin", {"theme": theme_id, "quote": args[1]},
                  lambda: curator.pin(theme_id, args[1], member(context).pseudonym), "pin_done",
                  lambda testimony_id: {"quote": short(testimony_id), "id": theme_id})


async def hide(update: Update, context: BotContext) -> None:
    """``/hide QUOTE reason``: never quoted again (it still counts)."""
    parts = rest_of_message(update).split(maxsplit=1)
    if len(parts) < 2:
        await reply(update, context, text(update, context, "usage_hide"))
        return
    ref, reason = parts
    staff = staff_services(context)

    if await _refuse_while_reclustering(update, context):
        return
    try:
        testimony_id = await asyncio.to_thread(staff.curator.hide, ref, reason, member(context).pseudonym)
    except (CorpusError, ValueError) as exc:
        await reply(update, context, text(update, context, "curation_failed", reason=str(exc)))
        return
    staff.forget_quote(testimony_id)
    await audit(context, "curate.hide", {"quote": testimony_id, "reason": reason}, 1)
    await reply(update, context, text(update, context, "hide_done", quote=short(testimony_id)))


# -- /recluster -----------------------------------------------------------------------------

async def recluster(update: Update, context: BotContext) -> None:
    """``/recluster``: re-analyse in the background; a progress message follows it; the changes at the end."""
    staff = staff_services(context)
    if staff.reclustering:
        await reply(update, context, text(update, context, "recluster_running"))
        return
    progress = await reply(update, context, text(update, context, "recluster_started"))
    await audit(context, "recluster.start", {}, None)
    staff.analysis = context.application.create_task(_run_analysis(update, context, progress), update=update)


async def _run_analysis(update: Update, context: BotContext, progress: Message) -> None:
    loop = asyncio.get_running_loop()
    evidence, staff = context.services.evidence, staff_services(context)
    shown = {"text": None}
    in_order = asyncio.Lock()
    pending = []

    async def edit(new_text: str) -> None:
        async with in_order:
            if new_text == shown["text"]:
                return
            shown["text"] = new_text
            try:
                await progress.edit_text(new_text)
            except TelegramError as exc:  # progress is a courtesy; the analysis goes on
                log.info("progress message not edited (%s)", type(exc).__name__)

    def step(name: str) -> None:  # called on the analysis thread
        # the stage as "3/9": language-neutral, where the stage names themselves are English
        position = f"{STAGES.index(name) + 1}/{len(STAGES)}" if name in STAGES else "…"
        message = text(update, context, "recluster_step", step=position)
        pending.append(asyncio.run_coroutine_threadsafe(edit(message), loop))

    try:
        report = await loop.run_in_executor(None, lambda: Analysis(evidence, random_state=0).run(step=step))
    except Exception as exc:
        log.error("re-analysis failed (%s)", type(exc).__name__)
        await edit(text(update, context, "recluster_failed"))
        raise
    finally:
        await asyncio.gather(*(asyncio.wrap_future(f) for f in pending), return_exceptions=True)
    await audit(context, "recluster", {"run": report.run_id}, report.themes)
    await edit(_change_report(update, context, report))
    staff.refresh_searcher()


def _change_report(update: Update, context: BotContext, report: AnalysisReport) -> str:
    changes = report.changes or {}
    ids = lambda items: ", ".join(f"#{i}" for i in items) or "—"  # noqa: E731
    merged = "; ".join(f"{ids(m['from'])} → #{m['into']}" for m in changes.get("merged", [])) or "—"
    split_into = "; ".join(f"#{s['from']} → {ids(s['into'])}" for s in changes.get("split", [])) or "—"
    return text(update, context, "recluster_done", run=report.run_id, themes=report.themes,
                testimonies=report.testimonies, coverage=f"{report.coverage:.0%}", seconds=report.seconds,
                kept=len(changes.get("persisted", [])), new=ids(changes.get("new", [])), merged=merged,
                split=split_into, gone=ids(changes.get("gone", [])))
