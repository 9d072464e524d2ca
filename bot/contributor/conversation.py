"""The wiring of the contributor conversation: every state and the steps that answer in it, top to bottom."""

from __future__ import annotations

import warnings

from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.warnings import PTBUserWarning

import bot.keyboards as keyboards
from bot.contributor.consent import consent_chosen, hold_until_consent, start
from bot.contributor.erasure import delete, delete_confirmed, delete_kept
from bot.contributor.flow import (
    AGE,
    ASK_RECORD,
    CONFIRM_DELETE,
    CONSENT,
    CONVERSATION,
    COUNTRY,
    DRIVERS,
    FORWARDED_TEXT,
    GENDER,
    GROUPS,
    OWN_YES,
    PROFILE_OFFER,
    PROPOSAL,
    PROPOSAL_ONLY,
    REGION,
    STORY,
    TYPED,
    WHY,
)
from bot.contributor.profile import (
    age_chosen,
    country_chosen,
    country_typed,
    edit_profile,
    gender_chosen,
    group_toggled,
    groups_done,
    profile_accepted,
    profile_skipped,
    region_skipped,
    region_typed,
)
from bot.contributor.story import (
    ask_if_own,
    cancel,
    driver_toggled,
    drivers_done,
    more_text_while_asking,
    not_own,
    offer_to_record,
    propose,
    proposal_only_received,
    proposal_received,
    proposal_skipped,
    record_confirmed,
    record_declined,
    share,
    story_received,
    use_buttons,
    why_received,
    why_skipped,
)


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
