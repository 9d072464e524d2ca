"""The UI catalogue: complete in every language, placeholders that match, HTML Telegram accepts."""

from __future__ import annotations

import pytest

from bot import keyboards
from bot.profile import AGE_BANDS, GENDERS, GROUPS
from bot.texts import Catalogue, placeholders
from tests.support.fake_bot_api import CALLBACK_DATA_LIMIT, ApiError, parse_html

LANGUAGES = ("en", "fr", "es", "sw")
texts = Catalogue.load()


def test_the_bot_speaks_english_french_spanish_and_swahili():
    assert texts.languages == LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_every_key_exists_in_every_language(language):
    english, other = set(texts.texts["en"]), set(texts.texts[language])
    assert english - other == set(), f"missing in {language}"
    assert other - english == set(), f"only in {language}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_filled_in(language):
    empty = [key for key, value in texts.texts[language].items() if not str(value).strip()]
    assert empty == []


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_placeholders_match_the_english_text(language):
    wrong = {
        key: (placeholders(english), placeholders(texts.texts[language][key]))
        for key, english in texts.texts["en"].items()
        if placeholders(english) != placeholders(texts.texts[language][key])
    }
    assert wrong == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_html_that_telegram_parses(language):
    for key in texts.texts[language]:
        values = {name: "<x> & y" for name in placeholders(texts.texts[language][key])}
        try:
            plain, _ = parse_html(texts(language, key, **values))
        except ApiError as exc:
            pytest.fail(f"{language}.{key}: {exc.description}")
        if values:
            assert "<x> & y" in plain, f"{language}.{key} does not show its value literally"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_profile_answer_and_driver_has_a_label(language):
    keys = [f"age_{c}" for c in AGE_BANDS] + [f"gender_{c}" for c in GENDERS] + [f"group_{c}" for c in GROUPS]
    assert [k for k in keys if k not in texts.texts[language]] == []
    assert texts.driver_codes == ("discrimination", "geography", "governance", "socio_economic", "shocks")
    assert all(texts.driver(language, code).strip() for code in texts.driver_codes)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_keyboard_fits_telegram_limits(language):
    boards = [
        keyboards.consent(texts, language, 2**31),
        keyboards.profile_offer(texts, language),
        keyboards.ages(texts, language),
        keyboards.genders(texts, language),
        keyboards.countries(texts, language, ["KE", "NP", "GT"]),
        keyboards.groups(texts, language, GROUPS),
        keyboards.drivers(texts, language, texts.driver_codes),
        keyboards.languages(texts),
        keyboards.confirm_delete(texts, language, "one:" + "f" * 36),
        keyboards.yes_no(texts, language, "own", "btn_own_yes", "btn_own_no"),
    ]
    for board in boards:
        for row in board.inline_keyboard:
            for button in row:
                assert button.text.strip()
                assert 1 <= len(button.callback_data.encode()) <= CALLBACK_DATA_LIMIT, button.callback_data


def test_the_language_of_a_telegram_client_is_used_when_supported():
    assert texts.pick("fr-FR") == "fr"
    assert texts.pick("sw") == "sw"
    assert texts.pick("pt-BR") == "en"
    assert texts.pick(None) == "en"


def test_values_are_escaped_but_catalogue_markup_is_kept():
    text = texts("en", "thanks_testimony", short_id="<b>&")
    assert "<b>&lt;b&gt;&amp;</b>" in text


# -- the report texts: the same catalogue, read by analysis/reports ----------------------------------------

REPORT_KEYS = sorted(k for k in texts.texts["en"] if k.startswith("report_") and k not in ("report_started",
                     "report_done", "report_failed", "report_no_data"))


def test_the_bot_and_the_reports_read_one_catalogue():
    from analysis import texts as shared_module
    from analysis.texts import TextCatalogue

    shared = TextCatalogue.load()
    assert shared.texts is texts.texts  # one file, read once
    assert shared_module.LANGUAGES == LANGUAGES == texts.languages  # reports are written in every language of the bot
    assert len(REPORT_KEYS) > 100


@pytest.mark.parametrize("language", LANGUAGES)
def test_report_texts_are_plain_text_for_documents(language):
    marked = [key for key in REPORT_KEYS if "<" in texts.texts[language][key] or "&" in texts.texts[language][key]]
    assert marked == []  # a mark such as <5 comes through a {placeholder}


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_report_texts_are_translated_not_copied(language):
    copied = [key for key in REPORT_KEYS
              if len(texts.texts["en"][key].split()) >= 3 and texts.texts[language][key] == texts.texts["en"][key]]
    assert copied == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_report_finds_every_text_it_needs_in_every_language(language):
    """Every ``words("key")`` the report modules use is in the catalogue, with the placeholders they fill in."""
    import ast
    from pathlib import Path

    used: dict[str, set[str] | None] = {}  # None: filled in from a mapping (``**values``), not checked here
    for path in Path(__file__).resolve().parents[1].joinpath("analysis", "reports").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "words"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                key = f"report_{node.args[0].value}"
                if any(k.arg is None for k in node.keywords) or used.get(key, set()) is None:
                    used[key] = None
                else:
                    used.setdefault(key, set()).update(k.arg for k in node.keywords)
    assert len(used) > 80
    for key, filled in used.items():
        assert key in texts.texts[language], key
        assert filled is None or placeholders(texts.texts[language][key]) <= filled, key
