"""BM25 lexical index: ranking, filters, incremental updates and speed."""


import numpy as np
import pytest

from analysis.lexical import LexicalIndex

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
