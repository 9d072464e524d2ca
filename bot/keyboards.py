"""The inline keyboards of the contributor conversation and the callback data of their buttons.

Callback data is ``<question>:<answer>`` (Telegram allows 64 bytes). The
consent buttons also carry the language and the organisation id of the deep
link, so that consent works without any stored state: nothing is kept about
a person before they agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.profile import AGE_BANDS, GENDERS, GROUPS, flag
from bot.texts import Catalogue

CONSENT = "consent"
DECLINE = "decline"
CHECK = "✓ "


def _button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(str(label), callback_data=data)


def _column(buttons: Iterable[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button] for button in buttons])


def consent_data(level: str, language: str, organisation_id: int | None) -> str:
    """Callback data of a consent button: ``consent:<level>:<language>:<organisation id or 0>``."""
    return f"{CONSENT}:{level}:{language}:{organisation_id or 0}"


def parse_consent_data(data: str) -> tuple[str, str, int | None]:
    """``(level, language, organisation id)`` from a consent button's data."""
    _, level, language, organisation = data.split(":")
    return level, language, int(organisation) or None


def consent(texts: Catalogue, lang: str, organisation_id: int | None, *, decline: bool = True) -> InlineKeyboardMarkup:
    """Quote / aggregate / decline, as in the notice."""
    buttons = [
        _button(texts(lang, "btn_quote"), consent_data("quote", lang, organisation_id)),
        _button(texts(lang, "btn_aggregate"), consent_data("aggregate", lang, organisation_id)),
    ]
    if decline:
        buttons.append(_button(texts(lang, "btn_decline"), consent_data(DECLINE, lang, organisation_id)))
    return _column(buttons)


def choice(pairs: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One button per ``(label, data)``, one per row."""
    return _column(_button(label, data) for label, data in pairs)


def yes_no(texts: Catalogue, lang: str, question: str, yes: str = "btn_yes", no: str = "btn_no") -> InlineKeyboardMarkup:
    """Yes and No buttons with data ``<question>:yes`` and ``<question>:no``."""
    return InlineKeyboardMarkup(
        [[_button(texts(lang, yes), f"{question}:yes"), _button(texts(lang, no), f"{question}:no")]]
    )


def profile_offer(texts: Catalogue, lang: str) -> InlineKeyboardMarkup:
    return choice([(texts(lang, "btn_profile_yes"), "profile:yes"), (texts(lang, "btn_profile_skip"), "profile:skip")])


def ages(texts: Catalogue, lang: str) -> InlineKeyboardMarkup:
    pairs = [(texts(lang, f"age_{code}"), f"age:{code}") for code in AGE_BANDS]
    return choice(pairs + [(texts(lang, "btn_prefer_not"), "age:skip")])


def genders(texts: Catalogue, lang: str) -> InlineKeyboardMarkup:
    pairs = [(texts(lang, f"gender_{code}"), f"gender:{code}") for code in GENDERS]
    return choice(pairs + [(texts(lang, "btn_prefer_not"), "gender:skip")])


def countries(texts: Catalogue, lang: str, codes: Sequence[str]) -> InlineKeyboardMarkup:
    """A few countries, three to a row, then "prefer not to say"; any other can be typed."""
    buttons = [_button(f"{flag(code)} {code}", f"country:{code}") for code in codes]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([_button(texts(lang, "btn_prefer_not"), "country:skip")])
    return InlineKeyboardMarkup(rows)


def skip(texts: Catalogue, lang: str, question: str, label: str = "btn_skip") -> InlineKeyboardMarkup:
    """A single button with data ``<question>:skip``."""
    return choice([(texts(lang, label), f"{question}:skip")])


def groups(texts: Catalogue, lang: str, selected: Iterable[str]) -> InlineKeyboardMarkup:
    """The self-identified groups as toggles (ticked when chosen), then Done and "prefer not to say"."""
    chosen = set(selected)
    pairs = [((CHECK if code in chosen else "") + texts(lang, f"group_{code}"), f"group:{code}") for code in GROUPS]
    return choice(pairs + [(texts(lang, "btn_done"), "groups:done"), (texts(lang, "btn_prefer_not"), "groups:skip")])


def drivers(texts: Catalogue, lang: str, selected: Iterable[str]) -> InlineKeyboardMarkup:
    """The five drivers in plain words as toggles, then Done and "not sure"."""
    chosen = set(selected)
    pairs = [
        ((CHECK if code in chosen else "") + texts.driver(lang, code), f"driver:{code}") for code in texts.driver_codes
    ]
    return choice(pairs + [(texts(lang, "btn_done"), "drivers:done"), (texts(lang, "btn_not_sure"), "drivers:unsure")])


def languages(texts: Catalogue) -> InlineKeyboardMarkup:
    """Every language under its own name."""
    return choice([(texts(code, "language_name"), f"lang:{code}") for code in texts.languages])


def confirm_delete(texts: Catalogue, lang: str, what: str) -> InlineKeyboardMarkup:
    """Erase (data ``delete:<what>``) or keep (``delete:no``)."""
    return InlineKeyboardMarkup(
        [[_button(texts(lang, "btn_delete_yes"), f"delete:{what}"), _button(texts(lang, "btn_delete_no"), "delete:no")]]
    )


def clear(texts: Catalogue, lang: str) -> InlineKeyboardMarkup:
    """Clear this chat (data ``clear:yes``) or keep it (``clear:no``): the /clear question."""
    return choice([(texts(lang, "btn_clear"), "clear:yes"), (texts(lang, "btn_clear_no"), "clear:no")])


def offer_clear(texts: Catalogue, lang: str) -> InlineKeyboardMarkup:
    """The one button under a thank-you: clear this chat (``clear:yes``)."""
    return choice([(texts(lang, "btn_clear"), "clear:yes")])
