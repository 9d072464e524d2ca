"""Per-language tokens: lemmas, stop words, placeholders, and fallbacks that never crash."""


import pytest

from analysis.text import TextProcessor, language_code


@pytest.fixture(scope="module")
def processor() -> TextProcessor:
    return TextProcessor()


def test_english_lemmas_are_lower_cased_lookups(processor):
    assert processor.tokens("Children walk on the roads", "en") == ["child", "walk", "road"]


def test_english_stop_words_punctuation_and_numbers_are_removed(processor):
    tokens = processor.tokens("The 2 wells were dry in 2023, and 1,000 people had no water!", "en")
    assert tokens == ["well", "dry", "people", "water"]


def test_domain_content_words_survive_english_stop_list(processor):
    assert processor.tokens("The well is empty and the wells are far", "en") == ["well", "empty", "well", "far"]


def test_placeholders_and_one_letter_tokens_are_removed(processor):
    tokens = processor.tokens("Call [PHONE] or write to [EMAIL], ask [NAME_2] about the clinic x", "en")
    assert tokens == ["write", "ask", "clinic"]
    assert not {"phone", "email", "name_2", "x"} & set(tokens)


def test_french_stop_words_removed_and_lemmas(processor):
    tokens = processor.tokens("Les enfants ne vont pas à l'école parce que les routes sont inondées.", "fr")
    assert "enfant" in tokens and "école" in tokens
    assert not {"les", "le", "ne", "pas", "à", "parce", "que", "sont"} & set(tokens)


def test_spanish_stop_words_removed_and_lemmas(processor):
    tokens = processor.tokens("Los niños no pueden ir a la escuela porque las carreteras están inundadas.", "es")
    assert "niño" in tokens and "escuela" in tokens and "inundar" in tokens
    assert not {"los", "no", "la", "las", "porque", "están"} & set(tokens)


def test_swahili_without_spacy_module_drops_function_words(processor):
    tokens = processor.tokens("Watoto hawaendi shule kwa sababu ya umbali na barabara mbovu.", "sw")
    assert tokens == ["watoto", "hawaendi", "shule", "sababu", "umbali", "barabara", "mbovu"]


@pytest.mark.parametrize(
    "text, language",
    [
        ("गाउँमा पानीको समस्या छ र बाटो छैन।", "ne"),
        ("Trẻ em không được đi học vì đường xa.", "vi"),
        ("Timoun yo pa ka ale lekòl paske wout la pa bon.", "ht"),
        ("ภาษาไทย ok", "th"),
        ("Wells are dry", "zz"),
        ("Wells are dry", "not-a-language"),
        ("Wells are dry", ""),
        ("", "en"),
    ],
)
def test_other_and_unknown_languages_do_not_crash(processor, text, language):
    tokens = processor.tokens(text, language)
    assert all(isinstance(token, str) and len(token) >= 2 for token in tokens)
    assert all(token == token.lower() for token in tokens)


def test_nepali_drops_stop_words_and_danda(processor):
    tokens = processor.tokens("गाउँमा पानीको समस्या छ र बाटो छैन।", "ne")
    assert tokens == ["गाउँमा", "पानीको", "समस्या", "बाटो"]


def test_vietnamese_without_pyvi_splits_punctuation(processor):
    tokens = processor.tokens("Trẻ em không được đi học vì đường xa.", "vi")
    assert "học" in tokens and "đường" in tokens
    assert not any(token.endswith(".") for token in tokens)


def test_haitian_creole_drops_its_stop_words(processor):
    tokens = processor.tokens("Timoun yo pa ka ale lekòl paske wout la pa bon.", "ht")
    assert "lekòl" in tokens and "wout" in tokens
    assert not {"yo", "pa", "la", "paske"} & set(tokens)


def test_unknown_language_keeps_words_unlemmatised(processor):
    assert processor.tokens("Roads flooded", "zz") == ["roads", "flooded"]


def test_missing_language_uses_default():
    assert TextProcessor(default_language="fr").tokens("Les enfants", None) == ["enfant"]
    assert TextProcessor().tokens("The children", None) == ["child"]


def test_language_codes_are_normalised():
    assert language_code("fr-CA", "en") == "fr"
    assert language_code("EN_gb", "fr") == "en"
    assert language_code(None, "es") == "es"
    assert TextProcessor().tokens("Les enfants", "fr-CA") == ["enfant"]


def test_tokens_many_matches_tokens_and_keeps_order(processor):
    texts = ["The children walk", "Les enfants marchent", "Watoto na shule", "Roads [PHONE]", ""]
    languages = ["en", "fr", "sw", None, "vi"]
    assert processor.tokens_many(texts, languages) == [
        processor.tokens(text, language) for text, language in zip(texts, languages)
    ]


def test_tokens_many_rejects_mismatched_lengths(processor):
    with pytest.raises(ValueError):
        processor.tokens_many(["a", "b"], ["en"])


