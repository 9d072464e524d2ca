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
from telegram.ext import ContextTypes

from corpus.chatstate import contributions_since
from corpus.models import ConsentLevel, utcnow
from corpus.store import CorpusStore

from bot.notice import notice_version
from bot.persistence import CONSENTED
from bot.services import services


@dataclass(frozen=True)
class Enrolment:
    """A contributor and the consent in force."""

    contributor_id: int
    level: str
    country: str | None
    region: str | None


async def find(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Enrolment | None:
    """The enrolment of the person behind ``update``, or None when they have not consented."""
    enrolment = await asyncio.to_thread(_find, services(context).store, update.effective_user.id)
    if enrolment is None:
        context.user_data.pop(CONSENTED, None)
    else:
        context.user_data[CONSENTED] = True
    return enrolment


def _find(store: CorpusStore, external_id: int) -> Enrolment | None:
    contributor = store.find_contributor(external_id)
    if contributor is None:
        return None
    consent = store.current_consent(contributor.id)
    if consent is None:
        return None
    return Enrolment(contributor.id, ConsentLevel(consent.level).value, contributor.country, contributor.region)


async def enrol(
    update: Update, context: ContextTypes.DEFAULT_TYPE, level: str, language: str, organisation_id: int | None
) -> Enrolment:
    """Create the contributor (attributed to the deep link's organisation) and record their consent."""
    svc = services(context)
    version = notice_version(svc, language)

    def work() -> Enrolment:
        contributor, _ = svc.store.enrol(
            update.effective_user.id, level, version, organisation_id=organisation_id, language=language
        )
        return Enrolment(contributor.id, level, contributor.country, contributor.region)

    enrolment = await svc.write(work)
    context.user_data[CONSENTED] = True
    return enrolment


async def change_consent(context: ContextTypes.DEFAULT_TYPE, enrolment: Enrolment, level: str, language: str) -> None:
    """Record a new consent level for an existing contributor (applies to what they shared too),
    to the notice as shown in ``language``.

    Through the evidence base, so the vector index metadata follows and any
    export that quoted them is rebuilt when they no longer allow quotes.
    """
    svc = services(context)
    await svc.write(svc.evidence.give_consent, enrolment.contributor_id, level, notice_version(svc, language))


async def over_daily_limit(context: ContextTypes.DEFAULT_TYPE, enrolment: Enrolment) -> bool:
    """Whether this contributor already stored the most contributions allowed in 24 hours."""
    svc = services(context)
    since = utcnow() - timedelta(days=1)
    count = await asyncio.to_thread(contributions_since, svc.store.engine, enrolment.contributor_id, since)
    return count >= svc.bot_settings.flood_contributions_per_day
