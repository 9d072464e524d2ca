"""c-TF-IDF keywords, keywords per language and readable theme labels on small corpora."""

import numpy as np
import pytest

from analysis.keywords import KeywordExtractor, distinct_words, share_stem
from analysis.text import TextProcessor

WATER = [["water", "well", "dry", "walk"], ["well", "water", "dirty"], ["water", "well", "drink", "far"]]
SCHOOL = [["school", "teacher", "fee", "walk"], ["school", "fee", "uniform"], ["school", "teacher", "exam"]]
ROAD = [["road", "flood", "bridge"], ["road", "bridge", "walk"], ["road", "flood", "market"]]


def corpus() -> tuple[list[list[str]], list[int]]:
    tokens = WATER + SCHOOL + ROAD + [["school", "noise", "noise"], ["water", "noise"]]
    labels = [0] * 3 + [1] * 3 + [2] * 3 + [-1, -1]
    return tokens, labels


def test_distinctive_word_of_each_class_comes_first():
    extractor = KeywordExtractor(n_keywords=5).fit(*corpus())
    assert extractor.keywords_[0][0][0] == "water"
    assert extractor.keywords_[1][0][0] == "school"
    assert extractor.keywords_[2][0][0] == "road"


def test_word_shared_by_all_classes_ranks_below_distinctive_ones():
    extractor = KeywordExtractor(n_keywords=10, min_df=1).fit(*corpus())
    for label in (0, 1, 2):
        words = [word for word, _ in extractor.keywords_[label]]
        top = {0: "water", 1: "school", 2: "road"}[label]
        assert words.index(top) < words.index("walk")


def test_keywords_are_sorted_and_positive():
    extractor = KeywordExtractor(n_keywords=4, min_df=1).fit(*corpus())
    for keywords in extractor.keywords_.values():
        weights = [weight for _, weight in keywords]
        assert len(keywords) == 4
        assert weights == sorted(weights, reverse=True)
        assert all(weight > 0 for weight in weights)


def test_unthemed_is_not_a_class_and_does_not_leak_words():
    extractor = KeywordExtractor(min_df=1).fit(*corpus())
    assert set(extractor.keywords_) == {0, 1, 2}
    assert list(extractor.classes_) == [0, 1, 2]
    assert "noise" not in extractor.vocabulary_


def test_min_df_drops_rare_words():
    extractor = KeywordExtractor(min_df=2).fit(*corpus())
    assert "uniform" not in extractor.vocabulary_
    assert "bridge" in extractor.vocabulary_
    assert extractor.c_tf_idf_.shape == (3, len(extractor.vocabulary_))


def test_labels_are_readable_and_distinct():
    extractor = KeywordExtractor(min_df=1).fit(*corpus())
    labels = extractor.labels_text_
    assert set(labels) == {0, 1, 2}
    assert len(set(labels.values())) == 3
    for label in labels.values():
        words = label.split(" · ")
        assert len(words) == 2
        assert all(not share_stem(a, b) for i, a in enumerate(words) for b in words[i + 1 :])
    assert labels[0].startswith("water · well")


def test_label_skips_words_sharing_a_stem():
    tokens = [["farmer", "farming", "farmers", "land", "drought"]] * 3 + [["school", "fee"]] * 3
    extractor = KeywordExtractor(min_df=1, label_words=3).fit(tokens, [0, 0, 0, 1, 1, 1])
    words = extractor.labels_text_[0].split(" · ")
    assert len([word for word in words if word.startswith("farm")]) == 1
    assert {"land", "drought"} <= set(words)


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("school", "schools", True),
        ("farmer", "farming", True),
        ("teacher", "teaching", True),
        ("education", "educated", True),
        ("market", "marriage", False),
        ("water", "well", False),
        ("road", "roam", False),
    ],
)
def test_share_stem(a, b, same):
    assert share_stem(a, b) is same


def test_distinct_words_keeps_order():
    assert distinct_words(["water", "waters", "well", "wells", "dry"], 3) == ["water", "well", "dry"]


def test_multilingual_corpus_gives_keywords_in_each_language():
    tokens = [["eau", "puits"], ["eau", "puits", "sec"], ["water", "well"], ["water", "well", "dry"]] + [
        ["école", "frais"],
        ["école", "frais"],
        ["school", "fee"],
        ["school", "fee"],
    ]
    extractor = KeywordExtractor(n_keywords=4).fit(tokens, [0, 0, 0, 0, 1, 1, 1, 1])
    assert {"eau", "water", "puits", "well"} == {word for word, _ in extractor.keywords_[0]}
    assert {"école", "school"} <= {word for word, _ in extractor.keywords_[1]}


def test_empty_and_degenerate_inputs():
    assert KeywordExtractor().fit([], []).keywords_ == {}
    assert KeywordExtractor().fit([["only", "unthemed"]], [-1]).labels_text_ == {}
    extractor = KeywordExtractor().fit([[], ["word"]], [0, 0])
    assert extractor.keywords_ == {0: []}
    assert extractor.labels_text_ == {0: ""}


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError):
        KeywordExtractor().fit([["a"]], [0, 1])


def test_fifty_thousand_documents_fit():
    """Scale, not speed: the timing is bench material (BENCHMARKS.md), never a test."""
    rng = np.random.default_rng(0)
    vocabulary = [f"w{i}" for i in range(20_000)]
    ids = rng.zipf(1.3, size=50_000 * 20) % len(vocabulary)
    tokens = [[vocabulary[j] for j in ids[i * 20 : (i + 1) * 20]] for i in range(50_000)]
    labels = rng.integers(-1, 50, size=50_000).tolist()
    languages = rng.choice(["en", "fr", "es", "sw"], size=50_000).tolist()
    bigrams = [[f"{a} {b}" for a, b in zip(doc, doc[1:])] for doc in tokens]
    extractor = KeywordExtractor().fit(tokens, labels, languages=languages, bigrams=bigrams)
    assert len(extractor.keywords_) == 50
    assert all(len(by_language) == 4 for by_language in extractor.keywords_by_language_.values())


WATER_TEXTS = [
    "We have no clean water and the well is dry",
    "Clean water is far, the wells are dry",
    "The children drink dirty water from the river",
    "Clean water is sold at a price we cannot pay",
]
SCHOOL_TEXTS = [
    "School fees are too high for girls",
    "Girls leave school because school fees are high",
    "The teacher asks for school fees every term",
    "No uniform, no books, no school",
]


def fit_texts(texts, labels, languages, **options):
    tokens, bigrams = TextProcessor().tokens_and_bigrams_many(texts, languages)
    return KeywordExtractor(**options).fit(tokens, labels, languages=languages, bigrams=bigrams)


def test_label_leads_with_a_frequent_distinctive_bigram():
    extractor = fit_texts(WATER_TEXTS + SCHOOL_TEXTS, [0] * 4 + [1] * 4, ["en"] * 8)
    assert extractor.labels_text_[0].startswith("clean water · ")
    assert extractor.labels_text_[1].startswith("school fees · ")
    for label in extractor.labels_text_.values():
        first, second = label.split(" · ")
        assert not any(share_stem(second, word) for word in first.split())


def test_bigram_used_by_too_few_texts_is_not_the_label():
    texts = ["Clean water is far"] * 2 + ["The well is dry and the water is dirty"] * 8 + ["School fees"] * 3
    labels, languages = [0] * 10 + [1] * 3, ["en"] * 13
    assert fit_texts(texts, labels, languages, min_df=1, min_bigram_share=0.2).labels_text_[0] == "clean water · dirty"
    assert "clean water" not in fit_texts(texts, labels, languages, min_df=1, min_bigram_share=0.3).labels_text_[0]
    once = ["Clean water is far"] + ["The well is dry"] * 2 + ["School fees"] * 3
    assert "clean water" not in fit_texts(once, [0] * 3 + [1] * 3, ["en"] * 6, min_df=1).labels_text_[0]


def test_bigram_without_a_theme_keyword_is_not_the_label():
    tokens = [["water", "well", "dry"]] * 3 + [["school", "fee"]] * 3
    bigrams = [["blue sky"]] * 3 + [["school fees"]] * 3
    extractor = KeywordExtractor(n_keywords=3).fit(tokens, [0, 0, 0, 1, 1, 1], bigrams=bigrams)
    assert extractor.labels_text_ == {0: "dry · water", 1: "school fees"}


def test_listed_lemma_errors_never_reach_keywords_or_labels():
    texts = [
        "Las casas se cayeron y no hay agua", "El agua del río entró en las casas", "Perdimos las casas y el agua",
        "She was born disabled and cannot pay the rent", "The rent is high, my son was born disabled",
        "Disabled people pay rent for a room without training", "No training for disabled youth, only rent to pay",
    ]
    labels = [0, 0, 0, 1, 1, 1, 1]
    extractor = fit_texts(texts, labels, ["es"] * 3 + ["en"] * 4, min_df=2)
    words = {word for keywords in extractor.keywords_.values() for word, _ in keywords}
    assert {"casa", "agua", "born", "disabled", "rent", "training"} <= words
    assert not {"casar", "aguar", "bear", "disable", "rend", "train"} & words
    shown = " ".join(extractor.labels_text_.values()).split()
    assert not {"casar", "aguar", "bear", "disable", "rend", "train"} & set(shown)


def test_swahili_hakuna_is_never_a_keyword():
    texts = ["Hakuna maji safi kijijini", "Hakuna maji, hakuna kisima", "Maji ni mbali, hakuna barabara"] + [
        "Hakuna shule karibu", "Watoto hawaendi shule", "Ada ya shule ni kubwa",
    ]
    extractor = fit_texts(texts, [0, 0, 0, 1, 1, 1], ["sw"] * 6, min_df=1)
    words = {word for keywords in extractor.keywords_.values() for word, _ in keywords}
    assert "hakuna" not in words and {"maji", "shule"} <= words


def test_keywords_by_language_for_each_language_with_enough_texts():
    texts = WATER_TEXTS + [
        "Le puits est sec et l'eau est sale", "Il n'y a pas d'eau potable au puits", "L'eau du puits est loin",
        "Hakuna maji",
    ] + SCHOOL_TEXTS
    languages = ["en"] * 4 + ["fr"] * 3 + ["sw"] + ["en"] * 4
    extractor = fit_texts(texts, [0] * 8 + [1] * 4, languages, n_keywords=3, min_df=1)
    water = extractor.keywords_by_language_[0]
    assert list(water) == ["en", "fr"]  # largest first; one Swahili text is too few
    assert [word for word, _ in water["en"]][0] == "water"
    assert {"eau", "puits"} <= {word for word, _ in water["fr"]}
    assert not {"eau", "puits"} & {word for word, _ in water["en"]}
    assert list(extractor.keywords_by_language_[1]) == ["en"]
    assert extractor.keywords_by_language_[1]["en"] == extractor.keywords_[1]


def test_language_below_a_tenth_of_the_theme_is_left_out():
    tokens = [["water", "well"]] * 31 + [["eau", "puits"]] * 3
    languages = ["en"] * 31 + ["fr"] * 3
    extractor = KeywordExtractor(min_df=1).fit(tokens, [0] * 34, languages=languages)
    assert list(extractor.keywords_by_language_[0]) == ["en"]
    assert {"eau", "puits"} <= {word for word, _ in extractor.keywords_[0]}


def test_multilingual_label_is_in_the_largest_language_or_the_staff_language():
    tokens = [["eau", "puits", "sec"]] * 5 + [["water", "well", "dry"]] * 3 + [["school", "fee"]] * 3
    labels = [0] * 8 + [1] * 3
    languages = ["fr"] * 5 + ["en"] * 6
    largest = KeywordExtractor(min_df=1).fit(tokens, labels, languages=languages)
    assert set(largest.labels_text_[0].split(" · ")) <= {"eau", "puits", "sec"}
    assert largest.label_language_ == {0: "fr", 1: "en"}
    staff = KeywordExtractor(min_df=1, staff_languages=["en"]).fit(tokens, labels, languages=languages)
    assert set(staff.labels_text_[0].split(" · ")) <= {"water", "well", "dry"}
    assert staff.label_language_[0] == "en"
    # Without languages the label is drawn from every text of the theme, and nothing is given per language.
    plain = KeywordExtractor(min_df=1).fit(tokens, labels)
    assert plain.keywords_by_language_ == {} and plain.label_language_ == {0: None, 1: None}


def test_languages_are_normalised_and_a_missing_one_is_xx():
    tokens = [["water", "well"]] * 3 + [["agua", "pozo"]] * 3
    extractor = KeywordExtractor(min_df=1).fit(tokens, [0] * 6, languages=["EN-gb", "en", "en_US", None, "", None])
    assert list(extractor.keywords_by_language_[0]) == ["en", "xx"]


def test_languages_and_bigrams_must_match_tokens():
    with pytest.raises(ValueError):
        KeywordExtractor().fit([["a"], ["b"]], [0, 0], languages=["en"])
    with pytest.raises(ValueError):
        KeywordExtractor().fit([["a"], ["b"]], [0, 0], bigrams=[["a b"]])


def test_empty_inputs_with_languages_and_bigrams():
    extractor = KeywordExtractor().fit([], [], languages=[], bigrams=[])
    assert extractor.keywords_ == {} and extractor.labels_text_ == {} and extractor.keywords_by_language_ == {}
    extractor = KeywordExtractor().fit([[], ["word"]], [0, -1], languages=["en", "fr"], bigrams=[[], []])
    assert extractor.labels_text_ == {0: ""} and extractor.keywords_by_language_ == {0: {}}


# -- no single person's word labels anything (issue 10) --------------------------------------------------

ONE_PERSON = ["Our goat shed flooded, the goat shed is gone"] * 4  # one contributor, said four times
OTHERS = ["Clean water is far from the village", "The clean water point is broken", "No clean water since the flood",
          "We walk far for clean water", "Clean water costs too much"]
SCHOOL_OTHERS = ["School fees are too high", "School fees keep girls home", "We cannot pay school fees",
                 "School fees went up again", "The school fees are a burden"]


def fit_people(min_contributors: int, contributors):
    texts = ONE_PERSON + OTHERS + SCHOOL_OTHERS
    labels, languages = [0] * 9 + [1] * 5, ["en"] * 14
    tokens, bigrams = TextProcessor().tokens_and_bigrams_many(texts, languages)
    return KeywordExtractor(min_contributors=min_contributors).fit(
        tokens, labels, languages=languages, bigrams=bigrams, contributors=contributors
    )


def shown_words(extractor) -> set[str]:
    words = {word for keywords in extractor.keywords_.values() for word, _ in keywords}
    words |= {word for by_language in extractor.keywords_by_language_.values() for keywords in by_language.values()
              for word, _ in keywords}
    return words | set(" ".join(extractor.labels_text_.values()).replace("·", " ").split())


def test_a_word_only_one_contributor_uses_is_no_keyword_label_or_bigram():
    people = [7] * 4 + [1, 2, 3, 4, 5] + [11, 12, 13, 14, 15]
    unguarded = fit_people(1, people)
    assert unguarded.labels_text_[0].startswith("goat shed")  # what the rule prevents
    guarded = fit_people(5, people)
    assert not {"goat", "shed"} & shown_words(guarded)
    assert guarded.labels_text_[0].startswith("clean water") and guarded.labels_text_[1].startswith("school fees")
    assert guarded.c_tf_idf_.shape == (2, len(guarded.vocabulary_))


def test_texts_without_a_contributor_count_as_their_own_and_so_do_texts_without_contributors():
    anonymous = fit_people(5, [None] * 14)  # four texts, four contributors: still under five
    assert not {"goat", "shed"} & shown_words(anonymous)
    assert "goat" in shown_words(fit_people(4, None))  # without contributors each text is its own
    assert "goat" not in shown_words(fit_people(4, [7] * 4 + [None] * 10))


def test_contributors_must_match_the_texts():
    with pytest.raises(ValueError, match="contributors"):
        KeywordExtractor().fit([["a"], ["b"]], [0, 0], contributors=[1])
