"""Per-language tokens: plural lemmas only, stop words, bigrams, placeholders, and fallbacks that never crash."""


import pytest

from analysis.text import TextProcessor, language_code


@pytest.fixture(scope="module")
def processor() -> TextProcessor:
    return TextProcessor()


def test_english_lemmas_are_lower_cased_lookups(processor):
    assert processor.tokens("Children walk on the roads", "en") == ["child", "walk", "road"]


def test_english_stop_words_punctuation_and_numbers_are_removed(processor):
    tokens = processor.tokens("The 2 wells were dry in 2023, and 1,000 people had no water!", "en")
    assert tokens == ["well", "dry", "water"]


def test_domain_content_words_survive_english_stop_list(processor):
    assert processor.tokens("The well is empty and the wells are far", "en") == ["well", "empty", "well", "far"]


def test_placeholders_and_one_letter_tokens_are_removed(processor):
    tokens = processor.tokens("Call [PHONE] or write to [EMAIL], ask [NAME_2] about the clinic x", "en")
    assert tokens == ["write", "clinic"]
    assert not {"phone", "email", "name_2", "x"} & set(tokens)


def test_french_stop_words_removed_and_lemmas(processor):
    tokens = processor.tokens("Les enfants ne vont pas à l'école parce que les routes sont inondées.", "fr")
    assert "enfant" in tokens and "école" in tokens
    assert not {"les", "le", "ne", "pas", "à", "parce", "que", "sont"} & set(tokens)


def test_spanish_stop_words_removed_and_lemmas(processor):
    tokens = processor.tokens("Los niños no pueden ir a la escuela porque las carreteras están inundadas.", "es")
    assert "niño" in tokens and "escuela" in tokens and "carretera" in tokens and "inundada" in tokens
    assert not {"los", "no", "la", "las", "porque", "están"} & set(tokens)


def test_swahili_without_spacy_module_drops_function_words(processor):
    tokens = processor.tokens("Watoto hawaendi shule kwa sababu ya umbali na barabara mbovu.", "sw")
    assert tokens == ["watoto", "hawaendi", "shule", "umbali", "barabara", "mbovu"]


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




@pytest.mark.parametrize(
    "text, language, wrong, right",
    [
        ("Our houses: casas de adobe", "es", "casar", "casa"),
        ("No hay agua en la aldea", "es", "aguar", "agua"),
        ("He was born blind", "en", "bear", "born"),
        ("Disabled children cannot enter", "en", "disable", "disabled"),
        ("We cannot pay the rent", "en", "rend", "rent"),
        ("There is no training for nurses", "en", "train", "training"),
        ("Les routes sont coupées", "fr", "router", "route"),
        ("Las carreteras están cortadas", "es", "carretero", "carretera"),
        ("Os animais morreram", "pt", "animar", "animal"),
    ],
)
def test_unreliable_table_lemmas_give_way_to_the_word(processor, text, language, wrong, right):
    tokens = processor.tokens(text, language)
    assert right in tokens and wrong not in tokens


@pytest.mark.parametrize(
    "language, plurals",
    [
        ("en", {"roads": "road", "families": "family", "wives": "wife", "buses": "bus", "children": "child",
                "women": "woman", "fees": "fee", "wells": "well"}),
        ("fr", {"eaux": "eau", "journaux": "journal", "enfants": "enfant", "écoles": "école", "travaux": "travail"}),
        ("es", {"casas": "casa", "canciones": "canción", "luces": "luz", "países": "país", "mujeres": "mujer"}),
        ("pt", {"eleições": "eleição", "animais": "animal", "mulheres": "mulher", "casas": "casa", "homens": "homem",
                "papéis": "papel"}),
    ],
)
def test_regular_plurals_still_meet_their_singular(processor, language, plurals):
    assert processor.tokens(" ".join(plurals), language) == list(plurals.values())


def test_verb_forms_keep_their_own_form(processor):
    assert processor.tokens("The river flooded the fields, flooding every house", "en") == [
        "river", "flooded", "field", "flooding", "house",
    ]
    assert processor.tokens("Trabajamos y vivimos lejos", "es") == ["trabajamos", "vivimos", "lejos"]


def test_languages_without_plural_rules_keep_forms(processor):
    assert processor.tokens("Die Kinder haben keine Häuser", "de") == ["kinder", "häuser"]


def test_swahili_negation_and_being_are_stop_words(processor):
    tokens = processor.tokens("Hakuna maji safi kijijini, tunahitaji kisima. Sina pesa na watoto hawana chakula.", "sw")
    assert tokens == ["maji", "safi", "kijijini", "kisima", "pesa", "watoto", "chakula"]
    assert not {"hakuna", "kuna", "sina", "hana", "hatuna", "ninyi", "tuko", "yuko"} & set(
        processor.tokens("Hakuna kuna sina hana hatuna ninyi tuko yuko", "sw")
    )


def test_haitian_creole_sms_keeps_content_words_only(processor):
    tokens = processor.tokens("M bezwen dlo ak manje pou timoun yo, nou pa gen kay ni lajan. Mèsi!", "ht")
    assert tokens == ["dlo", "manje", "timoun", "kay", "lajan"]
    # SMS drop accents: "eske", "mesi", "avek" go like "èske", "mèsi", "avèk".
    assert processor.tokens("Eske nou ka jwenn dlo avek manje? Mesi svp", "ht") == ["dlo", "manje"]


@pytest.mark.parametrize(
    "text, language, dropped",
    [
        ("Please, people need water. We asked and they said no", "en", {"please", "people", "need", "asked", "said"}),
        ("Nous avons besoin d'eau, les gens disent que rien ne change", "fr", {"besoin", "gens", "disent", "rien"}),
        ("Necesitamos agua, la gente quiere un pozo, por favor", "es", {"necesitamos", "gente", "quiere", "favor"}),
        ("Precisamos de água, as pessoas querem um poço", "pt", {"precisamos", "pessoas", "querem"}),
        ("Three years ago the well dried up", "en", {"years", "year", "ago"}),
    ],
)
def test_words_in_every_testimony_are_stop_words(processor, text, language, dropped):
    tokens = processor.tokens(text, language)
    assert tokens and not dropped & set(tokens)


def test_bigrams_are_adjacent_content_words_as_written(processor):
    assert processor.bigrams("Clean water is far, and school fees are too high", "en") == ["clean water", "school fees"]
    assert processor.bigrams("Water, clean", "en") == []  # punctuation between
    assert processor.bigrams("Clean [PHONE] water", "en") == []  # a placeholder between
    assert processor.bigrams("school of fees", "en") == []  # a stop word between
    assert processor.bigrams("wells well", "en") == []  # two forms of one word
    assert processor.bigrams("Eau potable", "fr") == ["eau potable"]


def test_tokens_and_bigrams_many_match_one_by_one(processor):
    texts = ["Clean water is far", "Les frais de scolarité", "Maji safi", "Roads [PHONE] flooded", ""]
    languages = ["en", "fr", "sw", None, "vi"]
    tokens, bigrams = processor.tokens_and_bigrams_many(texts, languages)
    assert tokens == [processor.tokens(t, language) for t, language in zip(texts, languages)]
    assert bigrams == [processor.bigrams(t, language) for t, language in zip(texts, languages)]
