"""Keywords and short readable labels for themes, by class-based TF-IDF.

The idea is BERTopic's c-TF-IDF: join all testimonies of a theme into one
"class document", then weigh each word by how frequent it is in that theme
against how frequent it is in all themes::

    >>> from analysis.text import TextProcessor
    >>> tokens = TextProcessor().tokens_many(
    ...     ["The well is dry and we drink dirty water", "Our wells are far, drinking water is dirty",
    ...      "School fees are too high for girls", "Girls leave school because of fees"],
    ...     ["en"] * 4)
    >>> extractor = KeywordExtractor(n_keywords=5).fit(tokens, [0, 0, 1, 1])
    >>> [(word, round(weight, 2)) for word, weight in extractor.keywords_[1][:2]]
    [('fee', 0.5), ('girl', 0.5)]
    >>> extractor.labels_text_
    {0: 'dirty · drink · water', 1: 'fee · girl · school'}

For theme ``c`` and word ``t``: ``tf(t, c)`` is the count of ``t`` in ``c``
divided by the number of words in ``c`` (so large themes do not dominate),
``idf(t) = log(1 + A / f(t))`` with ``A`` the average number of words per
theme and ``f(t)`` the count of ``t`` over all themes, and the weight is
their product. Testimonies labelled ``-1`` (unthemed) are no class and are
left out. Tokens come from ``analysis.text.TextProcessor``, already per
language, so a multilingual theme gets keywords from each of its languages.

Speed: vectorised with numpy and scipy.sparse; 50,000 testimonies of 20
tokens in 50 themes take about 0.3 s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

UNTHEMED = -1
LABEL_SEPARATOR = " · "


def common_prefix_length(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def share_stem(a: str, b: str, min_prefix: int = 4, min_share: float = 0.6) -> bool:
    """Whether two words look like forms of one word ("farmer"/"farming", "school"/"schools").

    A language-neutral test: one is a prefix of the other, or they share at
    least ``min_prefix`` leading characters making up at least ``min_share``
    of the shorter word ("market"/"marriage" do not).
    """
    shared = common_prefix_length(a, b)
    shorter = min(len(a), len(b))
    if shared == shorter:
        return True
    return shared >= min_prefix and shared >= min_share * shorter


def distinct_words(words: Sequence[str], n: int) -> list[str]:
    """The first ``n`` of ``words`` (best first) that share no stem with a word already chosen."""
    chosen: list[str] = []
    for word in words:
        if not any(share_stem(word, other) for other in chosen):
            chosen.append(word)
            if len(chosen) == n:
                break
    return chosen


def term_ids(tokens: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The vocabulary, and for every token occurrence its term id and document position."""
    index: dict[str, int] = {}
    flat_ids = [index.setdefault(token, len(index)) for doc in tokens for token in doc]
    lengths = np.fromiter((len(doc) for doc in tokens), dtype=np.int64, count=len(tokens))
    doc_of = np.repeat(np.arange(len(tokens), dtype=np.int64), lengths)
    return list(index), np.asarray(flat_ids, dtype=np.int64), doc_of


def document_frequency(terms: np.ndarray, docs: np.ndarray, n_terms: int) -> np.ndarray:
    """In how many documents each term occurs."""
    if terms.size == 0:
        return np.zeros(n_terms, dtype=np.int64)
    pairs = np.unique(docs * n_terms + terms)
    return np.bincount(pairs % n_terms, minlength=n_terms)


def class_tf_idf(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """c-TF-IDF weights of a class × term count matrix: class-normalised tf times log(1 + A / f_t)."""
    class_sizes = np.asarray(counts.sum(axis=1)).ravel().astype(float)
    term_totals = np.asarray(counts.sum(axis=0)).ravel().astype(float)
    average_class_size = class_sizes.mean() if class_sizes.size else 0.0
    with np.errstate(divide="ignore"):
        idf = np.where(term_totals > 0, np.log1p(average_class_size / np.maximum(term_totals, 1)), 0.0)
        inverse_sizes = np.where(class_sizes > 0, 1.0 / np.maximum(class_sizes, 1), 0.0)
    tf = sparse.diags(inverse_sizes) @ counts.astype(float)
    return sparse.csr_matrix(tf @ sparse.diags(idf))


def top_terms(row: sparse.csr_matrix, vocabulary: Sequence[str], n: int) -> list[tuple[str, float]]:
    """The ``n`` best-weighted terms of one sparse row, best first, ties broken alphabetically."""
    weights, columns = row.data, row.indices
    keep = weights > 0
    weights, columns = weights[keep], columns[keep]
    if weights.size > n:
        # Keep every term tied with the n-th so that the alphabetical tie-break is exact.
        threshold = np.partition(weights, weights.size - n)[weights.size - n]
        keep = weights >= threshold
        weights, columns = weights[keep], columns[keep]
    ranked = sorted(zip(weights.tolist(), columns.tolist()), key=lambda wc: (-wc[0], vocabulary[wc[1]]))
    return [(vocabulary[c], w) for w, c in ranked[:n]]


class KeywordExtractor:
    """Class-based TF-IDF keywords per theme, and a short label made of the top distinct keywords.

    Parameters: ``n_keywords`` keywords kept per theme; ``min_df`` the least
    number of themed testimonies a word must occur in to be a keyword (drops
    typos and one-off names); ``label_words`` how many keywords make the label;
    ``separator`` what joins them.

    After ``fit``: ``classes_`` (theme labels, sorted), ``vocabulary_``,
    ``c_tf_idf_`` (classes × vocabulary, sparse), ``keywords_`` and
    ``labels_text_`` keyed by theme label. A theme with no keyword gets an
    empty label; what to show instead is the caller's choice.
    """

    def __init__(
        self,
        n_keywords: int = 10,
        min_df: int = 2,
        label_words: int = 3,
        separator: str = LABEL_SEPARATOR,
    ):
        self.n_keywords = n_keywords
        self.min_df = min_df
        self.label_words = label_words
        self.separator = separator

    def fit(self, tokens: Sequence[Sequence[str]], labels: Sequence[int]) -> "KeywordExtractor":
        """Compute keywords and labels for every theme in ``labels`` (``-1``, unthemed, is skipped)."""
        if len(tokens) != len(labels):
            raise ValueError(f"{len(tokens)} token lists but {len(labels)} labels")
        label_array = np.asarray(labels, dtype=np.int64).reshape(-1)
        themed = np.flatnonzero(label_array != UNTHEMED)
        themed_tokens = [tokens[i] for i in themed]
        self.classes_ = np.unique(label_array[themed])

        vocabulary, terms, docs = term_ids(themed_tokens)
        frequent = document_frequency(terms, docs, len(vocabulary)) >= self.min_df
        new_id = np.cumsum(frequent) - 1
        keep = frequent[terms] if terms.size else np.zeros(0, dtype=bool)
        self.vocabulary_ = [term for term, ok in zip(vocabulary, frequent.tolist()) if ok]

        class_of_doc = np.searchsorted(self.classes_, label_array[themed])
        counts = sparse.csr_matrix(
            (np.ones(int(keep.sum())), (class_of_doc[docs[keep]], new_id[terms[keep]])),
            shape=(len(self.classes_), len(self.vocabulary_)),
        )
        counts.sum_duplicates()
        self.c_tf_idf_ = class_tf_idf(counts)

        # Labels draw on more candidates than the keywords, as stems shared among the top ones are skipped.
        n_candidates = max(self.n_keywords, 5 * self.label_words)
        candidates = {
            int(label): top_terms(self.c_tf_idf_.getrow(row), self.vocabulary_, n_candidates)
            for row, label in enumerate(self.classes_)
        }
        self.keywords_ = {label: words[: self.n_keywords] for label, words in candidates.items()}
        self.labels_text_ = {label: self.label_for(words) for label, words in candidates.items()}
        return self

    def label_for(self, keywords: Sequence[tuple[str, float]]) -> str:
        """A short readable label: the top ``label_words`` keywords of which no two share a stem."""
        words = distinct_words([word for word, _ in keywords], self.label_words)
        return self.separator.join(words)

