"""Who is a contributor: found by pseudonym in the corpus, created only when they consent.

The corpus database is the truth: every check asks it (through
``CorpusStore``), so a person erased by staff is treated as new at once.
The ``consented`` mark in ``user_data`` only tells the persistence that this
person's flow data may be kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from telegram import Update

from corpus.models import ConsentLevel, utcnow
from corpus.store import CorpusStore

from analysis.erasure import give_consent

from bot.context import BotContext
from bot.notice import notice_version
from bot.persistence import CONSENTED


@dataclass(frozen=True)
class Enrolment:
    """A contributor and the consent in force."""

    contributor_id: int
    level: str
    country: str | None
    region: str | None


async def find(update: Update, context: BotContext) -> Enrolment | None:
    """The enrolment of the person behind ``update``, or None when they have not consented."""
    enrolment = await asyncio.to_thread(_find, context.services.store, update.effective_user.id)
    _mark_consent(context, enrolment)
    return enrolment


async def find_contributing(update: Update, context: BotContext) -> tuple[Enrolment | None, bool]:
    """The person's enrolment (None: not consented) and whether they already stored the most contributions
    allowed in 24 hours (``LNOB_FLOOD_CONTRIBUTIONS_PER_DAY``), in one trip to the corpus."""
    svc = context.services

    def read() -> tuple[Enrolment | None, bool]:
        enrolment = _find(svc.store, update.effective_user.id)
        if enrolment is None:
            return None, False
        count = svc.store.contributions_since(enrolment.contributor_id, utcnow() - timedelta(days=1))
        return enrolment, count >= svc.bot_settings.flood_contributions_per_day

    enrolment, over_limit = await asyncio.to_thread(read)
    _mark_consent(context, enrolment)
    return enrolment, over_limit


def _find(store: CorpusStore, external_id: int) -> Enrolment | None:
    contributor = store.find_contributor(external_id)
    if contributor is None:
        return None
    consent = store.current_consent(contributor.id)
    if consent is None:
        return None
    return Enrolment(contributor.id, ConsentLevel(consent.level).value, contributor.country, contributor.region)


def _mark_consent(context: BotContext, enrolment: Enrolment | None) -> None:
    if enrolment is None:
        context.user_data.pop(CONSENTED, None)
    else:
        context.user_data[CONSENTED] = True


async def enrol(update: Update, context: BotContext, level: str, language: str, organisation_id: int | None) -> Enrolment:
    """Create the contributor (attributed to the deep link's organisation) and record their consent."""
    svc = context.services
    version = notice_version(svc, language)

    def work() -> Enrolment:
        contributor, _ = svc.store.enrol(
            update.effective_user.id, level, version, organisation_id=organisation_id, language=language
        )
        return Enrolment(contributor.id, level, contributor.country, contributor.region)

    enrolment = await svc.write(work)
    context.user_data[CONSENTED] = True
    return enrolment


async def change_consent(context: BotContext, enrolment: Enrolment, level: str, language: str) -> None:
    """Record a new consent level for an existing contributor (applies to what they shared too),
    to the notice as shown in ``language``.

    Through the evidence base, so the vector index metadata follows and any
    export that quoted them is rebuilt when they no longer allow quotes.
    """
    svc = context.services
    await svc.write(give_consent, svc.evidence, enrolment.contributor_id, level, notice_version(svc, language))
