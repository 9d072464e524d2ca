"""BM25 lexical index: ranking, filters, incremental updates and speed."""


import math
import random

import numpy as np
import pytest

from analysis.lexical import LexicalIndex, WordStatistics

DOCUMENTS = {
    "t1": ["water", "well", "dry", "village"],
    "t2": ["water", "village", "road"],
    "t3": ["cholera", "water", "village", "clinic"],
    "t4": ["school", "fee", "village"],
    "t5": ["water", "water", "water", "village"],
}


@pytest.fixture
def index() -> LexicalIndex:
    return LexicalIndex().fit(list(DOCUMENTS), list(DOCUMENTS.values()))


def test_rare_query_term_ranks_its_document_first(index):
    results = index.search(["water", "cholera"])
    assert results[0][0] == "t3"
    assert "t4" not in dict(results)  # shares no query term


def test_scores_are_positive_and_best_first(index):
    results = index.search(["water", "village"])
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True)
    assert all(score > 0 for score in scores)
    assert results[0][0] == "t5"  # most occurrences of water, as BM25 saturates but still rewards repeats


def test_k_limits_results(index):
    assert len(index.search(["village"], k=2)) == 2
    assert index.search(["village"], k=0) == []


def test_allowed_restricts_to_subset(index):
    results = index.search(["water", "cholera"], allowed={"t1", "t2", "t4"})
    assert {doc_id for doc_id, _ in results} == {"t1", "t2"}
    assert index.search(["cholera"], allowed={"t1"}) == []
    assert index.search(["water"], allowed=set()) == []
    assert index.search(["water"], allowed={"unknown"}) == []


def test_allowed_keeps_unfiltered_scores_and_order(index):
    full = index.search(["water", "dry"], k=10)
    filtered = index.search(["water", "dry"], k=10, allowed={"t1", "t5"})
    assert filtered == [(doc_id, score) for doc_id, score in full if doc_id in {"t1", "t5"}]


def test_add_makes_new_documents_searchable(index):
    index.add(["t6"], [["landslide", "road"]])
    assert len(index) == 6
    assert index.search(["landslide"])[0][0] == "t6"


def test_add_with_existing_id_replaces_it(index):
    index.add(["t3"], [["school", "teacher"]])
    assert len(index) == 5
    assert index.search(["cholera"]) == []
    assert index.search(["teacher"])[0][0] == "t3"


def test_remove_forgets_documents_and_ignores_unknown_ids(index):
    index.remove(["t3", "nope"])
    assert len(index) == 4
    assert "t3" not in index
    assert index.search(["cholera"]) == []
    assert "t3" not in dict(index.search(["water"]))


def test_idf_follows_corpus_changes(index):
    before = dict(index.search(["school"]))["t4"]
    index.add(["t6", "t7"], [["school", "teacher"], ["school", "exam"]])
    after = dict(index.search(["school"]))["t4"]
    assert after < before


def test_empty_index_and_empty_query_return_nothing(index):
    assert LexicalIndex().search(["water"]) == []
    assert len(LexicalIndex()) == 0
    assert index.search([]) == []
    assert index.search(["unknownword"]) == []
    emptied = LexicalIndex().fit(["a"], [["water"]]).remove(["a"])
    assert emptied.search(["water"]) == []


def test_documents_without_tokens_are_indexed_but_never_found():
    index = LexicalIndex().fit(["a", "b"], [[], ["water"]])
    assert len(index) == 2
    assert index.search(["water"]) == [("b", pytest.approx(index.search(["water"])[0][1]))]


def test_ties_keep_insertion_order():
    index = LexicalIndex().fit(["b", "a", "c"], [["water"], ["water"], ["water"]])
    assert [doc_id for doc_id, _ in index.search(["water"])] == ["b", "a", "c"]
    assert [doc_id for doc_id, _ in index.search(["water"], k=2)] == ["b", "a"]


def naive_bm25(documents: dict[str, list[str]], query: list[str], k1: float = 1.5, b: float = 0.75) -> dict[str, float]:
    """Okapi BM25 written out term by term, document by document: what the index must compute."""
    n = len(documents)
    average = sum(len(d) for d in documents.values()) / n if n and any(documents.values()) else 1.0
    scores = {}
    for doc_id, words in documents.items():
        score = 0.0
        for term in set(query):
            tf = words.count(term)
            if tf:
                df = sum(term in d for d in documents.values())
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                score += query.count(term) * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(words) / average))
        if score > 0:
            scores[doc_id] = score
    return scores


def test_scores_follow_bm25_through_adds_re_adds_and_removes():
    rng = random.Random(7)
    words = [f"w{i}" for i in range(30)]
    documents = {f"d{i}": [rng.choice(words[: rng.randint(3, 30)]) for _ in range(rng.randint(0, 9))] for i in range(25)}
    index = LexicalIndex().fit(list(documents), list(documents.values()))
    for step in range(30):
        changed = {rng.choice([*documents, f"n{step}"]): [rng.choice(words) for _ in range(rng.randint(0, 6))]
                   for _ in range(rng.randint(0, 3))}
        index.add(list(changed), list(changed.values()))
        for doc_id, tokens in changed.items():
            documents.pop(doc_id, None)  # a re-added document moves to the end
            documents[doc_id] = tokens
        gone = rng.sample(list(documents), k=min(len(documents), rng.randint(0, 2)))
        index.remove(gone)
        for doc_id in gone:
            del documents[doc_id]
        query = [rng.choice(words) for _ in range(rng.randint(1, 4))]
        expected = naive_bm25(documents, query)
        found = index.search(query, k=len(documents) + 1)
        assert [d for d, _ in found] == sorted(expected, key=lambda d: (-round(expected[d], 9), list(documents).index(d)))
        assert [score for _, score in found] == pytest.approx([expected[d] for d, _ in found], rel=1e-12)
        assert index.ids == list(documents) and len(index) == len(documents)


def test_the_index_comes_back_from_its_bytes_the_same():
    index = LexicalIndex(k1=1.2, b=0.6).fit(["a", "b", "c", "d"], [["wáter", "pozo"], ["école", "wáter", "wáter"], [],
                                                                   ["水", "pozo"]])
    index.remove(["d"])  # a word no document uses any more stays in the vocabulary
    restored = LexicalIndex.from_bytes(index.ids, index.to_bytes())
    for query in (["wáter"], ["pozo", "école"], ["水"], ["absent"]):
        assert restored.search(query, k=5) == index.search(query, k=5)
    assert restored.words == index.words and restored.words_of("b") == index.words_of("b") == ["wáter", "école"]
    restored.add(["e"], [["pozo"]])  # and goes on as any index
    assert restored.search(["pozo"])[0][0] == "e"
    with pytest.raises(ValueError):
        LexicalIndex.from_bytes(["a"], index.to_bytes())


def test_word_statistics_count_documents_per_language_and_keep_the_first_language_seen_on_a_tie():
    rng = random.Random(3)
    words = [f"w{i}" for i in range(40)]
    tokens = [[rng.choice(words) for _ in range(rng.randint(0, 8))] for _ in range(300)]
    languages = [rng.choice(["en", "fr", "sw", ""]) for _ in tokens]
    ids = [f"d{i}" for i in range(len(tokens))]
    statistics = WordStatistics(LexicalIndex().fit(ids, tokens), languages)
    counted: dict[str, dict[str, int]] = {}  # word -> language -> documents, languages in the order first seen
    for words_of, language in zip(tokens, languages):
        for word in dict.fromkeys(words_of):
            counted.setdefault(word, {})
            counted[word][language] = counted[word].get(language, 0) + 1
    for word, by_language in counted.items():
        assert statistics.frequency_of(word) == sum(by_language.values())
        assert statistics.language_of(word) == max(by_language.items(), key=lambda item: item[1])[0]
        assert sorted(statistics.languages_of(word, at_least=2)) == sorted(c for c, n in by_language.items() if n >= 2)
    assert statistics.frequency_of("absent") == 0 and statistics.languages_of("absent") == []
    assert statistics.language_of("absent") is None


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError):
        LexicalIndex().fit(["a", "b"], [["water"]])


@pytest.fixture(scope="module")
def large_index() -> tuple[LexicalIndex, list[str]]:
    rng = np.random.default_rng(0)
    vocabulary = [f"w{i}" for i in range(20_000)]
    term_ids = (rng.zipf(1.2, size=100_000 * 20) - 1) % len(vocabulary)
    tokens = [[vocabulary[j] for j in term_ids[i * 20 : (i + 1) * 20]] for i in range(100_000)]
    ids = [f"d{i}" for i in range(100_000)]
    index = LexicalIndex().fit(ids, tokens)
    index.search(["w0"])  # build the matrix outside the timed queries
    return index, ids


@pytest.mark.parametrize("fraction", [None, 0.5, 0.05, 0.005])
def test_filtered_queries_over_100k_documents_are_exact(large_index, fraction):
    index, ids = large_index
    allowed = None if fraction is None else set(ids[:: int(1 / fraction)])
    queries = [["w0", "w5", "w500"], ["w0", "w1", "w2"], ["w300", "w1500", "w9000"]]
    for query in queries:
        expected = [r for r in index.search(query, k=len(ids)) if allowed is None or r[0] in allowed][:10]
        assert index.search(query, k=10, allowed=allowed) == expected
