"""The contributor conversation: consent, an optional profile, a testimony or a proposal, erasure.

One small async function per step; the states are the constants below; all
the wiring is in ``contributor_conversation()`` at the bottom, to be read top
to bottom. A person's flow data lives in ``user_data`` (kept in the database
by ``bot.persistence`` once they consent):

- ``lang``: the language they chose;
- ``draft``: the contribution being told (``kind``, ``story``, ``why``,
  ``drivers``, ``proposal`` and the message ids they came from);
- ``pending``: text sent outside a flow, waiting for "record it?";
- ``profile``: profile answers being collected;
- ``saved``: ids of recent messages already stored, to answer later edits;
- ``trail``, ``trail_aged``: ids of this chat's messages that ``/clear`` can
  still delete, kept 48 hours (``bot.trail``);
- ``org``: the organisation of the deep link, before consent (memory only).

A contribution is committed to the database before the thank-you is sent;
embedding and indexing run in the background (``BackgroundIndexer``).
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
import uuid
import warnings
from collections.abc import Awaitable
from dataclasses import replace
from typing import TypeVar

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from analysis.evidence import EvidenceBase
from corpus.chatstate import testimony_ids_by_source_ref
from corpus.errors import InvalidText
from corpus.language import script_report
from corpus.store import TestimonyDraft
from corpus.validation import clean_text

from bot import keyboards, trail
from bot.enrolment import Enrolment, change_consent, enrol, find, over_daily_limit
from bot.messages import LANGUAGE, language_of, reply, say
from bot.notice import notice
from bot.profile import REGION_MAX_CHARS, parse_country_answer
from bot.services import services
from bot.texts import Html, escape

# -- states ---------------------------------------------------------------------------

CONSENT = "CONSENT"
PROFILE_OFFER = "PROFILE_OFFER"
AGE = "AGE"
GENDER = "GENDER"
COUNTRY = "COUNTRY"
REGION = "REGION"
GROUPS = "GROUPS"
STORY = "STORY"
WHY = "WHY"
DRIVERS = "DRIVERS"
PROPOSAL = "PROPOSAL"
PROPOSAL_ONLY = "PROPOSAL_ONLY"
ASK_RECORD = "ASK_RECORD"
CONFIRM_DELETE = "CONFIRM_DELETE"
END = ConversationHandler.END

PRE_CONSENT_STATES = frozenset({CONSENT})  # never written to the database
CONVERSATION = "contributor"  # the name its states are kept under

# -- user_data keys -------------------------------------------------------------------

DRAFT = "draft"
PENDING = "pending"
PROFILE = "profile"
SAVED = "saved"
ORGANISATION = "org"
SAVED_KEPT = 20  # how many stored message ids are remembered to answer edits

SOURCE = "telegram"
TYPED = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & ~filters.FORWARDED
FORWARDED_TEXT = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & filters.FORWARDED
OWN_YES = r"^own:yes$"
TYPING_AFTER = 0.5  # seconds a save may take before the person sees "typing…"

log = logging.getLogger(__name__)
T = TypeVar("T")


# -- arriving and consenting ----------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """``/start [code]``: the notice for a newcomer (attributed to the link's organisation), else a welcome back."""
    if context.args:
        organisation = await asyncio.to_thread(services(context).store.organisation, context.args[0])
        if organisation is not None:
            context.user_data[ORGANISATION] = organisation.id
    if await find(update, context):
        await say(update, context, "welcome_back")
        return None
    return await _show_notice(update, context)


async def consent_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """A consent button: enrol and offer the profile, change the level, or decline and keep nothing."""
    query = update.callback_query
    level, lang, organisation_id = keyboards.parse_consent_data(query.data)
    texts = services(context).texts
    _, enrolment, _ = await asyncio.gather(query.answer(), find(update, context), query.edit_message_reply_markup(None))
    if level == keyboards.DECLINE:
        if enrolment:
            await say(update, context, "already_agreed")
            return None
        _clear_keeping_trail(context)
        await reply(update, context, texts(lang, "declined"))
        return END
    if enrolment:
        await change_consent(context, enrolment, level, lang)
        await say(update, context, f"consent_{level}_given")
        return None
    context.user_data[LANGUAGE] = lang
    await enrol(update, context, level, lang, organisation_id or context.user_data.get(ORGANISATION))
    context.user_data.pop(ORGANISATION, None)
    text = Html(texts(lang, f"consent_{level}_given") + "\n\n" + texts(lang, "profile_offer"))
    await reply(update, context, text, keyboards.profile_offer(texts, lang))
    return PROFILE_OFFER


async def hold_until_consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Text before consent: keep it in memory for after the choice, and ask for the choice first."""
    _hold(update, context)
    await say(update, context, "need_consent")
    return CONSENT


# -- the optional profile ---------------------------------------------------------------


async def profile_accepted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The newcomer agreed to the profile questions; the story comes after them."""
    await _chosen(update, context)
    context.user_data[PROFILE] = {"then": STORY}
    return await _ask_age(update, context)


async def profile_skipped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The newcomer skipped the profile: straight to the story."""
    await _chosen(update, context)
    return await _after_profile(update, context)


async def edit_profile(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """``/profile``: answer the profile questions again."""
    if not await find(update, context):
        return await _show_notice(update, context, "need_consent")
    context.user_data[PROFILE] = {"then": END}
    return await _ask_age(update, context)


async def age_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _profile(context)["age_band"] = await _chosen(update, context)
    await say(update, context, "ask_gender", keyboards.genders(services(context).texts, language_of(update, context)))
    return GENDER


async def gender_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _profile(context)["gender"] = await _chosen(update, context)
    return await _ask_country(update, context)


async def country_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _profile(context)["country"] = await _chosen(update, context)
    return await _ask_region(update, context)


async def country_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """A typed country: an ISO code (or flag), else a clear message and the question again."""
    code = parse_country_answer(update.message.text)
    if code is None:
        svc, lang = services(context), language_of(update, context)
        keyboard = keyboards.countries(svc.texts, lang, svc.bot_settings.country_choices)
        await say(update, context, "bad_country", keyboard, value=update.message.text.strip()[:40])
        return COUNTRY
    _profile(context)["country"] = code
    return await _ask_region(update, context)


async def region_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    region = update.message.text.strip()
    if len(region) > REGION_MAX_CHARS:
        await say(update, context, "bad_region", limit=REGION_MAX_CHARS)
        return REGION
    _profile(context)["region"] = region
    return await _ask_groups(update, context)


async def region_skipped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    _profile(context)["region"] = await _chosen(update, context)
    return await _ask_groups(update, context)


async def group_toggled(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tick or untick one self-identified group."""
    await _tick(update, context, _profile(context).setdefault("groups", []), keyboards.groups)


async def groups_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Done (or "prefer not to say"): save the whole profile, then go on to the story or end."""
    profile = _profile(context)
    texts, lang = services(context).texts, language_of(update, context)
    if update.callback_query.data == "groups:skip":
        profile["groups"] = []
    labels = [texts(lang, f"group_{code}") for code in profile.get("groups", [])]
    await _chosen(update, context, "; ".join(labels) or None)
    await _save_profile(update, context, profile)
    context.user_data.pop(PROFILE, None)
    if profile["then"] == STORY:
        return await _after_profile(update, context, prefix="profile_saved")
    await say(update, context, "profile_saved")
    return END


# -- telling a story ------------------------------------------------------------------


async def share(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """``/share``: ask for the story."""
    return await _begin(update, context, "testimony", "ask_story", STORY)


async def story_received(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    return await _ask_why(update, context) if await _take(update, context, "story") else STORY


async def why_received(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    return await _ask_drivers(update, context) if await _take(update, context, "why") else WHY


async def why_skipped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    await _chosen(update, context)
    return await _ask_drivers(update, context)


async def driver_toggled(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tick or untick one driver: the contributor's own signification of their story."""
    await _tick(update, context, _draft(context).setdefault("drivers", []), keyboards.drivers)


async def drivers_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Done, or "not sure" (which stores no driver); then ask what should be done."""
    draft = _draft(context)
    texts, lang = services(context).texts, language_of(update, context)
    if update.callback_query.data == "drivers:unsure":
        draft["drivers"] = []
    labels = [texts.driver(lang, code) for code in draft.get("drivers", [])]
    await _chosen(update, context, "; ".join(labels) or None)
    await say(update, context, "ask_proposal", keyboards.skip(texts, lang, "proposal"))
    return PROPOSAL


async def proposal_received(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    return await _save(update, context) if await _take(update, context, "proposal") else PROPOSAL


async def proposal_skipped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    await _chosen(update, context)
    return await _save(update, context)


# -- a proposal alone -----------------------------------------------------------------


async def propose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """``/propose``: ask for a proposal, stored on its own."""
    return await _begin(update, context, "proposal", "ask_proposal_only", PROPOSAL_ONLY)


async def proposal_only_received(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    return await _save(update, context) if await _take(update, context, "proposal") else PROPOSAL_ONLY


async def _begin(update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str, question: str, state: str) -> str:
    """Start a draft of ``kind`` and ask ``question`` (unless the person may not contribute now)."""
    refused = await _refusal(update, context)
    if refused is not None:
        return refused
    _start_draft(context, kind)
    await say(update, context, question)
    return state


async def _take(update: Update, context: ContextTypes.DEFAULT_TYPE, part: str) -> bool:
    """Put the text just received into the draft as ``part`` (with its message id); False when
    it was not acceptable (the person was told why and is asked again)."""
    text, message_id = await _incoming(update, context)
    if not await text_acceptable(update, context, text):
        return False
    _draft(context).update({part: text, f"{part}_msg": message_id})
    return True


# -- text sent outside a flow, and forwarded text ---------------------------------------


async def offer_to_record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Text outside a flow is not lost: keep it and ask whether to record it (a forwarded one: is it theirs?)."""
    _hold(update, context)
    if not await find(update, context):
        return await _show_notice(update, context, "need_consent")
    return await _ask_record(update, context)


async def more_text_while_asking(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """More text while "record it?" is open: it joins the waiting text."""
    _hold(update, context)
    return await _ask_record(update, context)


async def record_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Yes, record it: the waiting text becomes the story; the flow goes on with "why?"."""
    text, message_id = await _incoming(update, context)
    if not await text_acceptable(update, context, text):
        return END
    refused = await _refusal(update, context)
    if refused is not None:
        return refused
    _start_draft(context, "testimony")
    _draft(context).update(story=text, story_msg=message_id)
    return await _ask_why(update, context)


async def record_declined(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """No: the waiting text is dropped; nothing was stored."""
    await _chosen(update, context)
    pending = context.user_data.pop(PENDING, None) or {}
    await say(update, context, "not_own" if pending.get("forwarded") else "record_discarded")
    return END


async def ask_if_own(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A forwarded message during a flow: ask whether it is the person's own experience before using it."""
    message = update.message
    context.user_data[PENDING] = {"text": message.text, "msg": message.message_id, "forwarded": True}
    await _ask_record(update, context)
    return None


async def not_own(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Not their own experience: drop the forwarded text and stay where the flow was."""
    await _chosen(update, context)
    context.user_data.pop(PENDING, None)
    await say(update, context, "not_own")
    return None


# -- erasure --------------------------------------------------------------------------


async def delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """``/delete``: erase everything, after confirmation; ``/delete ID``: erase one contribution."""
    enrolment = await find(update, context)
    if enrolment is None:
        await say(update, context, "delete_nothing")
        return END
    texts, lang = services(context).texts, language_of(update, context)
    if context.args:
        short_id = context.args[0].strip().lower()
        testimony_id = await _own_testimony(context, enrolment, short_id)
        if testimony_id is None:
            await say(update, context, "delete_not_found", short_id=short_id[:40])
            return END
        keyboard = keyboards.confirm_delete(texts, lang, f"one:{testimony_id}")
        await say(update, context, "delete_confirm_one", keyboard, short_id=testimony_id[:8])
        return CONFIRM_DELETE
    await say(update, context, "delete_confirm_all", keyboards.confirm_delete(texts, lang, "all"))
    return CONFIRM_DELETE


async def delete_confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Erase, from the vector index and the database: everything of the person, or one contribution."""
    await _chosen(update, context)
    svc, lang = services(context), language_of(update, context)
    enrolment = await find(update, context)
    if enrolment is None:
        await say(update, context, "delete_nothing")
        return END
    what = update.callback_query.data.split(":", 1)[1]
    if what == "all":
        async with svc.indexer.paused():
            removed = await svc.write(svc.evidence.erase_contributor, enrolment.contributor_id)
        _clear_keeping_trail(context)
        person, chat = update.effective_user.id, update.effective_chat.id
        await context.application.persistence.forget(person, {CONVERSATION: (chat, person)})
        text = Html(svc.texts(lang, "delete_done_all", count=len(removed)) + "\n\n" + svc.texts(lang, "clear_hint"))
        await reply(update, context, text, keyboards.offer_clear(svc.texts, lang))
        return END
    testimony_id = what.split(":", 1)[1]
    if await _own_testimony(context, enrolment, testimony_id) != testimony_id:
        await say(update, context, "delete_not_found", short_id=testimony_id[:8])
        return END
    async with svc.indexer.paused():
        await svc.write(svc.evidence.erase_testimonies, [testimony_id])
    await say(update, context, "delete_done_one", short_id=testimony_id[:8])
    return END


async def delete_kept(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    await _chosen(update, context)
    await say(update, context, "delete_kept")
    return END


# -- leaving a flow -------------------------------------------------------------------


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """``/cancel``: leave the flow; nothing of it is stored."""
    dropped = [context.user_data.pop(key, None) for key in (DRAFT, PENDING, PROFILE)]
    await say(update, context, "cancelled" if any(dropped) else "nothing_to_cancel")
    return END


async def use_buttons(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text where a button is expected: say so, and stay."""
    await say(update, context, "use_buttons")
    return None


# -- helpers of the steps ---------------------------------------------------------------


async def _show_notice(update: Update, context: ContextTypes.DEFAULT_TYPE, intro: str | None = None) -> str:
    svc, lang = services(context), language_of(update, context)
    texts, text = svc.texts, notice(svc, lang)
    if intro:
        text = Html(texts(lang, intro) + "\n\n" + text)
    await reply(update, context, text, keyboards.consent(texts, lang, context.user_data.get(ORGANISATION)))
    return CONSENT


async def _after_profile(update: Update, context: ContextTypes.DEFAULT_TYPE, prefix: str | None = None) -> str:
    """After the profile: the text that was waiting for consent, else the story question."""
    texts, lang = services(context).texts, language_of(update, context)
    pending = context.user_data.get(PENDING)
    if pending:
        key, state = ("ask_own" if pending["forwarded"] else "ask_record"), ASK_RECORD
        keyboard = _record_keyboard(texts, lang, pending["forwarded"])
    else:
        _start_draft(context, "testimony")
        key, state, keyboard = "ask_story", STORY, None
    text = texts(lang, key)
    if prefix:
        text = Html(texts(lang, prefix) + "\n\n" + text)
    await reply(update, context, text, keyboard)
    return state


async def _ask_age(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    await say(update, context, "ask_age", keyboards.ages(services(context).texts, language_of(update, context)))
    return AGE


async def _ask_country(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    svc = services(context)
    keyboard = keyboards.countries(svc.texts, language_of(update, context), svc.bot_settings.country_choices)
    await say(update, context, "ask_country", keyboard)
    return COUNTRY


async def _ask_region(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    keyboard = keyboards.skip(services(context).texts, language_of(update, context), "region", "btn_prefer_not")
    await say(update, context, "ask_region", keyboard)
    return REGION


async def _ask_groups(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    chosen = _profile(context).setdefault("groups", [])
    keyboard = keyboards.groups(services(context).texts, language_of(update, context), chosen)
    await say(update, context, "ask_groups", keyboard)
    return GROUPS


async def _ask_why(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    await say(update, context, "ask_why", keyboards.skip(services(context).texts, language_of(update, context), "why"))
    return WHY


async def _ask_drivers(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    chosen = _draft(context).setdefault("drivers", [])
    keyboard = keyboards.drivers(services(context).texts, language_of(update, context), chosen)
    await say(update, context, "ask_drivers", keyboard)
    return DRIVERS


async def _ask_record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    forwarded = context.user_data[PENDING]["forwarded"]
    keyboard = _record_keyboard(services(context).texts, language_of(update, context), forwarded)
    await say(update, context, "ask_own" if forwarded else "ask_record", keyboard)
    return ASK_RECORD


def _record_keyboard(texts, lang: str, forwarded: bool):
    if forwarded:
        return keyboards.yes_no(texts, lang, "own", "btn_own_yes", "btn_own_no")
    return keyboards.yes_no(texts, lang, "record")


async def _chosen(update: Update, context: ContextTypes.DEFAULT_TYPE, label: str | None = None) -> str | None:
    """Answer a button press and show the answer under the question (its buttons gone).

    Returns the answer's code, or None for "skip", "prefer not to say" and "not sure".
    """
    query = update.callback_query
    label = label or _pressed_label(query)
    answered = Html(query.message.text_html + "\n\n" + keyboards.CHECK + escape(label))
    await asyncio.gather(query.answer(), query.edit_message_text(answered))  # independent calls
    code = query.data.split(":", 1)[1]
    return None if code in ("skip", "unsure") else code


def _pressed_label(query) -> str:
    markup = query.message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return ""


async def _incoming(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[str, int]:
    """The text of this step: the message just typed, or the waiting one just confirmed as the person's own."""
    if update.callback_query:
        await _chosen(update, context)
        pending = context.user_data.pop(PENDING, None) or {}
        return pending.get("text", ""), pending.get("msg", 0)
    return update.message.text, update.message.message_id


async def text_acceptable(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> bool:
    """Whether ``text`` can be stored; if not, say why in the person's language."""
    limit = services(context).settings.max_text_chars
    try:
        clean_text(text, limit)
        return True
    except InvalidText:
        pass
    length = len(unicodedata.normalize("NFC", text or "").strip())
    if not length:
        await say(update, context, "bad_text_empty")
    elif length > limit:
        await say(update, context, "bad_text_long", length=length, limit=limit)
    elif not (script := script_report(text)).letters:
        await say(update, context, "bad_text_no_letters")
    elif not script.readable:
        await say(update, context, "bad_text_script")
    else:
        await say(update, context, "bad_text_chars")
    return False


async def _refusal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """None when the person may contribute now; else the notice (not consented) or the daily limit is sent.

    Returns the state to go to when refused.
    """
    enrolment = await find(update, context)
    if enrolment is None:
        return await _show_notice(update, context, "need_consent")
    if await over_daily_limit(context, enrolment):
        limit = services(context).bot_settings.flood_contributions_per_day
        await say(update, context, "flood_contributions", limit=limit)
        context.user_data.pop(DRAFT, None)
        return END
    return None


async def _save(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Commit the draft, then thank; embedding and indexing follow in the background."""
    svc = services(context)
    enrolment = await find(update, context)
    if enrolment is None:
        return await _show_notice(update, context, "need_consent")
    if await over_daily_limit(context, enrolment):
        await say(update, context, "flood_contributions", limit=svc.bot_settings.flood_contributions_per_day)
        context.user_data.pop(DRAFT, None)
        return END
    draft = _draft(context)
    ref_prefix = svc.store.pseudonym_for(update.effective_user.id)[:16]
    ids = await _typing_if_slow(
        update,
        context,
        svc.write(_store_draft, svc.evidence, draft, enrolment, language_of(update, context), ref_prefix),
    )
    svc.indexer.submit(ids)
    short_id = ids[0][:8]
    _remember_saved(context, draft, short_id)
    context.user_data.pop(DRAFT, None)
    texts, lang = svc.texts, language_of(update, context)
    if draft["kind"] == "proposal":
        text = texts(lang, "thanks_proposal", short_id=short_id)
    else:
        text = texts(lang, "thanks_testimony", short_id=short_id)
        if draft.get("proposal"):
            text = Html(text + "\n\n" + texts(lang, "thanks_with_proposal"))
    await reply(update, context, Html(text + "\n\n" + texts(lang, "clear_hint")), keyboards.offer_clear(texts, lang))
    return END


async def _typing_if_slow(update: Update, context: ContextTypes.DEFAULT_TYPE, work: Awaitable[T]) -> T:
    """Await ``work``; when it takes more than ``TYPING_AFTER`` seconds, show "typing…" meanwhile.

    A save usually takes milliseconds and the thank-you follows at once, so
    the indicator (one Bot API call) is sent only when there is a wait to show.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=TYPING_AFTER)
    if not done:
        try:
            await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
        except TelegramError as exc:  # only a hint: the save goes on
            log.info("could not show typing (%s)", type(exc).__name__)
    return await task


def _store_draft(evidence: EvidenceBase, draft: dict, enrolment: Enrolment, language: str, ref_prefix: str) -> list[str]:
    """Commit the draft's testimony and linked proposal (or the proposal alone) in one transaction;
    returns their ids.

    Each piece carries a source reference made of the pseudonym's prefix and
    the message id, so a step retried after a crash is not stored twice.
    """
    common = {
        "language": language,
        "country": enrolment.country,
        "region": enrolment.region,
        "contributor_id": enrolment.contributor_id,
        "consent_level": enrolment.level,
        "source": SOURCE,
    }
    pieces: list[TestimonyDraft] = []
    parent_id = None
    if draft["kind"] == "testimony":
        parent_id = str(uuid.uuid4())
        pieces.append(TestimonyDraft(
            id=parent_id,
            text=draft["story"],
            kind="testimony",
            self_drivers=list(draft.get("drivers", [])),
            why_text=draft.get("why"),
            source_ref=f"{ref_prefix}:{draft['story_msg']}",
            **common,
        ))
    if draft.get("proposal"):
        pieces.append(TestimonyDraft(
            text=draft["proposal"],
            kind="proposal",
            parent_id=parent_id,
            source_ref=f"{ref_prefix}:{draft['proposal_msg']}",
            **common,
        ))
    stored = testimony_ids_by_source_ref(evidence.store.engine, SOURCE, [p.source_ref for p in pieces])
    if parent_id is not None and pieces[0].source_ref in stored:  # a retry: link to what is there
        parent_id = stored[pieces[0].source_ref]
        pieces = [replace(p, parent_id=parent_id) if p.kind == "proposal" else p for p in pieces]
    new = [p for p in pieces if p.source_ref not in stored]
    added = {t.source_ref: t.id for t in evidence.store.add_testimonies(new)} if new else {}
    return [stored.get(p.source_ref) or added[p.source_ref] for p in pieces]


async def _own_testimony(context: ContextTypes.DEFAULT_TYPE, enrolment: Enrolment, prefix: str) -> str | None:
    """The full id of the contributor's one contribution whose id starts with ``prefix`` (4+ characters)."""
    if len(prefix) < 4:
        return None
    records = await asyncio.to_thread(services(context).store.contributor_records, enrolment.contributor_id)
    matches = [record.id for record in records if record.id.lower().startswith(prefix.lower())]
    return matches[0] if len(matches) == 1 else None


async def _save_profile(update: Update, context: ContextTypes.DEFAULT_TYPE, profile: dict) -> None:
    enrolment = await find(update, context)
    if enrolment is None:
        return
    answers = {key: profile.get(key) for key in ("age_band", "gender", "country", "region")}
    answers["groups"] = list(profile.get("groups", []))
    await services(context).write(services(context).store.update_profile, enrolment.contributor_id, **answers)


def _hold(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Keep a message's text as waiting text; several in a row are joined into one."""
    message = update.message
    forwarded = message.forward_origin is not None
    pending = context.user_data.get(PENDING)
    if pending:
        pending["text"] = f"{pending['text']}\n\n{message.text}"
        pending["forwarded"] = pending["forwarded"] or forwarded
    else:
        context.user_data[PENDING] = {"text": message.text, "msg": message.message_id, "forwarded": forwarded}


def _clear_keeping_trail(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forget everything about the person but the chat's trail, so that /clear can still delete the chat.

    Without consent the trail stays in memory only (``bot.persistence`` writes no ``user_data`` then).
    """
    kept = trail.carried_over(context.user_data)
    context.user_data.clear()
    context.user_data.update(kept)


def _start_draft(context: ContextTypes.DEFAULT_TYPE, kind: str) -> dict:
    context.user_data[DRAFT] = {"kind": kind}
    return context.user_data[DRAFT]


def _draft(context: ContextTypes.DEFAULT_TYPE) -> dict:
    return context.user_data.setdefault(DRAFT, {"kind": "testimony"})


def _profile(context: ContextTypes.DEFAULT_TYPE) -> dict:
    return context.user_data.setdefault(PROFILE, {"then": END})


async def _tick(update: Update, context: ContextTypes.DEFAULT_TYPE, chosen: list[str], keyboard) -> None:
    """A multi-select button (data ``name:CODE``): tick or untick CODE in ``chosen``, redraw the buttons."""
    query = update.callback_query
    code = query.data.split(":", 1)[1]
    if code in chosen:
        chosen.remove(code)
    else:
        chosen.append(code)
    markup = keyboard(services(context).texts, language_of(update, context), chosen)
    await asyncio.gather(query.answer(), query.edit_message_reply_markup(markup))  # independent calls


def _remember_saved(context: ContextTypes.DEFAULT_TYPE, draft: dict, short_id: str) -> None:
    saved = context.user_data.setdefault(SAVED, {})
    for key in ("story_msg", "why_msg", "proposal_msg"):
        if draft.get(key):
            saved[str(draft[key])] = short_id
    for old in list(saved)[:-SAVED_KEPT]:
        del saved[old]


# -- the wiring -----------------------------------------------------------------------


def contributor_conversation() -> ConversationHandler:
    """The whole contributor conversation, persistent under the name ``contributor``."""
    commands = [
        CommandHandler("start", start),
        CommandHandler("share", share),
        CommandHandler("propose", propose),
        CommandHandler("profile", edit_profile),
        CommandHandler("delete", delete),
        CommandHandler("cancel", cancel),
    ]
    consent_buttons = CallbackQueryHandler(consent_chosen, pattern=rf"^{keyboards.CONSENT}:")
    with warnings.catch_warnings():
        # Buttons are tracked per chat, not per message, on purpose: a person has one flow at a time.
        warnings.filterwarnings("ignore", message=r"If 'per_message=False'", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[
                *commands,
                consent_buttons,
                MessageHandler(TYPED | FORWARDED_TEXT, offer_to_record),
            ],
            states={
                CONSENT: [
                    consent_buttons,
                    MessageHandler(TYPED | FORWARDED_TEXT, hold_until_consent),
                ],
                PROFILE_OFFER: [
                    CallbackQueryHandler(profile_accepted, pattern=r"^profile:yes$"),
                    CallbackQueryHandler(profile_skipped, pattern=r"^profile:skip$"),
                ],
                AGE: [CallbackQueryHandler(age_chosen, pattern=r"^age:")],
                GENDER: [CallbackQueryHandler(gender_chosen, pattern=r"^gender:")],
                COUNTRY: [
                    CallbackQueryHandler(country_chosen, pattern=r"^country:"),
                    MessageHandler(TYPED, country_typed),
                ],
                REGION: [
                    MessageHandler(TYPED, region_typed),
                    CallbackQueryHandler(region_skipped, pattern=r"^region:skip$"),
                ],
                GROUPS: [
                    CallbackQueryHandler(group_toggled, pattern=r"^group:"),
                    CallbackQueryHandler(groups_done, pattern=r"^groups:(done|skip)$"),
                ],
                STORY: [
                    MessageHandler(TYPED, story_received),
                    MessageHandler(FORWARDED_TEXT, ask_if_own),
                    CallbackQueryHandler(story_received, pattern=OWN_YES),
                ],
                WHY: [
                    MessageHandler(TYPED, why_received),
                    CallbackQueryHandler(why_skipped, pattern=r"^why:skip$"),
                    MessageHandler(FORWARDED_TEXT, ask_if_own),
                    CallbackQueryHandler(why_received, pattern=OWN_YES),
                ],
                DRIVERS: [
                    CallbackQueryHandler(driver_toggled, pattern=r"^driver:"),
                    CallbackQueryHandler(drivers_done, pattern=r"^drivers:(done|unsure)$"),
                ],
                PROPOSAL: [
                    MessageHandler(TYPED, proposal_received),
                    CallbackQueryHandler(proposal_skipped, pattern=r"^proposal:skip$"),
                    MessageHandler(FORWARDED_TEXT, ask_if_own),
                    CallbackQueryHandler(proposal_received, pattern=OWN_YES),
                ],
                PROPOSAL_ONLY: [
                    MessageHandler(TYPED, proposal_only_received),
                    MessageHandler(FORWARDED_TEXT, ask_if_own),
                    CallbackQueryHandler(proposal_only_received, pattern=OWN_YES),
                ],
                ASK_RECORD: [
                    CallbackQueryHandler(record_confirmed, pattern=r"^(record|own):yes$"),
                    CallbackQueryHandler(record_declined, pattern=r"^(record|own):no$"),
                    MessageHandler(TYPED, more_text_while_asking),
                ],
                CONFIRM_DELETE: [
                    CallbackQueryHandler(delete_confirmed, pattern=r"^delete:(all|one:[0-9a-f-]{36})$"),
                    CallbackQueryHandler(delete_kept, pattern=r"^delete:no$"),
                ],
            },
            fallbacks=[
                *commands,
                consent_buttons,
                CallbackQueryHandler(not_own, pattern=r"^own:no$"),
                MessageHandler(TYPED | FORWARDED_TEXT, use_buttons),
            ],
            name=CONVERSATION,
            persistent=True,
        )
