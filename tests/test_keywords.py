"""c-TF-IDF keywords and theme labels on small synthetic corpora."""

import numpy as np
import pytest

from analysis.keywords import KeywordExtractor, distinct_words, share_stem

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
        assert len(words) == 3
        assert all(not share_stem(a, b) for i, a in enumerate(words) for b in words[i + 1 :])
    assert labels[0].startswith("water · well")


def test_label_skips_words_sharing_a_stem():
    tokens = [["farmer", "farming", "farmers", "land", "drought"]] * 3 + [["school", "fee"]] * 3
    extractor = KeywordExtractor(min_df=1).fit(tokens, [0, 0, 0, 1, 1, 1])
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
    extractor = KeywordExtractor().fit(tokens, labels)
    assert len(extractor.keywords_) == 50
