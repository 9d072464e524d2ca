"""Keywords and short readable labels for themes, by class-based TF-IDF.

The idea is BERTopic's c-TF-IDF: join all testimonies of a theme into one
"class document", then weigh each word by how frequent it is in that theme
against how frequent it is in all themes. The label is a short phrase: the
theme's most distinctive bigram (adjacent words as written, from
``TextProcessor``) when it is frequent enough, then its best keyword not
already said::

    >>> from analysis.text import TextProcessor
    >>> texts = ["We have no clean water, the well is dry", "Clean water is far and the wells are dry",
    ...          "School fees are too high for girls", "Girls leave school because school fees are high"]
    >>> tokens, bigrams = TextProcessor().tokens_and_bigrams_many(texts, ["en"] * 4)
    >>> extractor = KeywordExtractor(n_keywords=5).fit(tokens, [0, 0, 1, 1], bigrams=bigrams)
    >>> [(word, round(weight, 2)) for word, weight in extractor.keywords_[1][:2]]
    [('school', 0.45), ('fee', 0.37)]
    >>> extractor.labels_text_
    {0: 'clean water · dry', 1: 'school fees · girl'}

A bigram leads the label when at least ``min_bigram_share`` of the
testimonies the label is drawn from, and at least two, use it, and one of
its words is among the theme's top keywords (so a phrase that says nothing
of the theme never does). Otherwise, or without ``bigrams``, the label is the top
``label_words`` keywords of which no two share a stem ("water · dry").

For theme ``c`` and word ``t``: ``tf(t, c)`` is the count of ``t`` in ``c``
divided by the number of words in ``c`` (so large themes do not dominate),
``idf(t) = log(1 + A / f(t))`` with ``A`` the average number of words per
theme and ``f(t)`` the count of ``t`` over all themes, and the weight is
their product. Testimonies labelled ``-1`` (unthemed) are no class and are
left out. Bigrams are weighed the same way, over bigrams.

No one person's word labels a theme: given ``contributors`` (one id per
testimony; ``None`` for a testimony without one, which then counts as its own
contributor), a word or bigram becomes a keyword, a label part or a keyword
in a language only where at least ``min_contributors`` distinct contributors
among the testimonies it is drawn from use it. The project passes
``settings.small_cell`` (``LNOB_SMALL_CELL``), so a contributor's rare word
never names a theme, and never survives their erasure in one::

    >>> tokens = [["water", "dry", "ramkumari"]] * 3 + [["water", "dry"]] * 3 + [["school", "fee"]] * 6
    >>> labels, people = [0] * 6 + [1] * 6, [7, 7, 7, 1, 2, 3, 4, 5, 6, 8, 9, 10]
    >>> [word for word, _ in KeywordExtractor().fit(tokens, labels).keywords_[0]]
    ['dry', 'water', 'ramkumari']
    >>> [word for word, _ in KeywordExtractor(min_contributors=3).fit(tokens, labels, contributors=people).keywords_[0]]
    ['dry', 'water']

Languages: tokens come from ``analysis.text.TextProcessor``, per language,
so a theme told in several languages has keywords from each of them in
``keywords_``. Given ``languages`` (one code per testimony), ``fit`` also
gives ``keywords_by_language_``: each theme's keywords per language, for the
languages with at least ``min_language_texts`` testimonies and
``min_language_share`` of the theme (a language with two testimonies in a
theme of fifty says little about it). The same tf is taken over the
theme's testimonies in that language, with the idf of all themes::

    >>> texts = ["Le puits est sec", "Le puits est loin et sec", "Il n'y a plus d'eau au puits",
    ...          "The well is dry", "The well is far", "Dry well, no water"]
    >>> languages = ["fr"] * 3 + ["en"] * 3
    >>> tokens = TextProcessor().tokens_many(texts, languages)
    >>> extractor = KeywordExtractor(n_keywords=2, min_df=1).fit(
    ...     tokens + [["school", "fee"]] * 2, [0] * 6 + [1] * 2, languages=languages + ["en"] * 2)
    >>> {code: [word for word, _ in words] for code, words in extractor.keywords_by_language_[0].items()}
    {'en': ['well', 'dry'], 'fr': ['puits', 'sec']}

A multilingual theme's label is drawn from one of its languages, so that it
reads as a phrase and not as a mix ("eau · water"): the first of
``staff_languages`` (the languages staff read, in order of preference) in
which the theme has enough testimonies as above, else the theme's largest
language. With no ``staff_languages`` (the default) that is always the
largest language. ``label_language_`` says which language each label is in.

Speed: vectorised with numpy and scipy.sparse; 50,000 testimonies of 20
tokens in 50 themes take about 0.2 s, and about 0.65 s with ``languages``
(4) and ``bigrams`` (19 a testimony, drawn at random: a far larger bigram
vocabulary than real text has).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from analysis.text import MULTI_LANGUAGE, language_code

UNTHEMED = -1
LABEL_SEPARATOR = " · "
MIN_BIGRAM_TEXTS = 2


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


def distinct_words(words: Sequence[str], n: int, said: Sequence[str] = ()) -> list[str]:
    """The first ``n`` of ``words`` (best first) that share no stem with a word chosen or already ``said``."""
    chosen: list[str] = []
    for word in words:
        if len(chosen) == n:
            break
        if not any(share_stem(word, other) for other in [*said, *chosen]):
            chosen.append(word)
    return chosen


def term_ids(tokens: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The vocabulary, and for every token occurrence its term id and document position."""
    index: dict[str, int] = {}
    flat_ids = [index.setdefault(token, len(index)) for doc in tokens for token in doc]
    lengths = np.fromiter((len(doc) for doc in tokens), dtype=np.int64, count=len(tokens))
    doc_of = np.repeat(np.arange(len(tokens), dtype=np.int64), lengths)
    return list(index), np.asarray(flat_ids, dtype=np.int64), doc_of


def document_term_counts(tokens: Sequence[Sequence[str]], min_df: int) -> tuple[list[str], sparse.csr_matrix]:
    """The terms in at least ``min_df`` documents, and the documents × terms count matrix over them."""
    vocabulary, terms, docs = term_ids(tokens)
    counts = sparse.csr_matrix(
        (np.ones(terms.size), (docs, terms)), shape=(len(tokens), len(vocabulary))
    )
    counts.sum_duplicates()
    frequent = np.bincount(counts.indices, minlength=len(vocabulary)) >= min_df
    kept_vocabulary = [term for term, ok in zip(vocabulary, frequent.tolist()) if ok]
    return kept_vocabulary, sparse.csr_matrix(counts[:, np.flatnonzero(frequent)])


def membership(rows_of_docs: Sequence[Sequence[int]], n_docs: int) -> sparse.csr_matrix:
    """A groups × documents 0/1 matrix: row ``g`` marks the documents ``rows_of_docs[g]``."""
    lengths = [len(docs) for docs in rows_of_docs]
    columns = np.fromiter((d for docs in rows_of_docs for d in docs), dtype=np.int64, count=sum(lengths))
    rows = np.repeat(np.arange(len(rows_of_docs), dtype=np.int64), lengths)
    return sparse.csr_matrix((np.ones(columns.size), (rows, columns)), shape=(len(rows_of_docs), n_docs))


def inverse_class_frequency(counts: sparse.csr_matrix) -> np.ndarray:
    """The idf of c-TF-IDF for a class × term count matrix: log(1 + A / f_t)."""
    class_sizes = np.asarray(counts.sum(axis=1)).ravel().astype(float)
    term_totals = np.asarray(counts.sum(axis=0)).ravel().astype(float)
    average_class_size = class_sizes.mean() if class_sizes.size else 0.0
    return np.where(term_totals > 0, np.log1p(average_class_size / np.maximum(term_totals, 1)), 0.0)


def weigh(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Row-normalised term frequencies times ``idf``: the c-TF-IDF weights of each row's documents."""
    sizes = np.asarray(counts.sum(axis=1)).ravel().astype(float)
    inverse_sizes = np.where(sizes > 0, 1.0 / np.maximum(sizes, 1), 0.0)
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


def docs_by_class(class_of_doc: np.ndarray, n_classes: int) -> list[list[int]]:
    """For each class, the positions of its documents, in order."""
    order = np.argsort(class_of_doc, kind="stable")
    bounds = np.cumsum(np.bincount(class_of_doc, minlength=n_classes))[:-1] if n_classes else []
    return [part.tolist() for part in np.split(order, bounds)] if n_classes else []


@dataclass(frozen=True)
class LanguageGroup:
    """The testimonies of one theme in one language (positions among the themed testimonies)."""

    theme: int
    language: str
    docs: list[int]


def language_groups(
    class_of_doc: np.ndarray, codes: Sequence[str], min_texts: int, min_share: float
) -> list[LanguageGroup]:
    """Each theme's languages with at least ``min_texts`` testimonies and ``min_share`` of the theme, largest first."""
    docs_by_pair: dict[tuple[int, str], list[int]] = {}
    for position, (theme, code) in enumerate(zip(class_of_doc.tolist(), codes)):
        docs_by_pair.setdefault((theme, code), []).append(position)
    theme_sizes = np.bincount(class_of_doc) if class_of_doc.size else np.zeros(0, dtype=np.int64)
    groups = [
        LanguageGroup(theme, code, docs)
        for (theme, code), docs in docs_by_pair.items()
        if len(docs) >= min_texts and len(docs) >= min_share * theme_sizes[theme]
    ]
    return sorted(groups, key=lambda g: (g.theme, -len(g.docs), g.language))


def contributor_codes(contributors: Sequence[object | None] | None, positions: Sequence[int]) -> np.ndarray:
    """A dense code for the contributor of each text at ``positions``; a text without one is its own contributor."""
    codes: dict[tuple, int] = {}
    out = np.empty(len(positions), dtype=np.int64)
    for n, position in enumerate(positions):
        owner = contributors[position] if contributors is not None else None
        out[n] = codes.setdefault(("person", owner) if owner is not None else ("text", n), len(codes))
    return out


def people_using(
    rows_of_docs: Sequence[Sequence[int]], doc_terms: sparse.csr_matrix, owners: np.ndarray
) -> sparse.csr_matrix:
    """Groups × terms: how many distinct contributors among each group's documents use each term."""
    lengths = [len(docs) for docs in rows_of_docs]
    docs = np.fromiter((d for group in rows_of_docs for d in group), dtype=np.int64, count=sum(lengths))
    groups = np.repeat(np.arange(len(rows_of_docs), dtype=np.int64), lengths)
    n_owners = int(owners.max()) + 1 if owners.size else 1
    pairs, pair_of = np.unique(groups * n_owners + owners[docs], return_inverse=True)
    # (group, contributor) pairs × terms: whether the pair's documents use the term at all
    uses = sparse.csr_matrix((np.ones(docs.size), (pair_of.ravel(), docs)), shape=(pairs.size, doc_terms.shape[0]))
    uses = sparse.csr_matrix(uses @ (doc_terms > 0).astype(float))
    uses.data[:] = 1.0
    per_group = sparse.csr_matrix(
        (np.ones(pairs.size), (pairs // n_owners, np.arange(pairs.size))), shape=(len(rows_of_docs), pairs.size)
    )
    return sparse.csr_matrix(per_group @ uses)


def shared_only(weights: sparse.csr_matrix, people: sparse.csr_matrix, min_people: int) -> sparse.csr_matrix:
    """``weights`` with every term used by fewer than ``min_people`` contributors of its row set to zero."""
    allowed = people.copy()
    allowed.data = (allowed.data >= min_people).astype(float)
    kept = sparse.csr_matrix(weights.multiply(allowed))
    kept.eliminate_zeros()
    return kept


def bigram_threshold(n_texts: int, min_df: int, min_share: float) -> int:
    """How many of a label's testimonies must use a bigram for it to be the label: at least two."""
    return max(MIN_BIGRAM_TEXTS, min_df, math.ceil(min_share * n_texts))


def best_bigram(
    weights: sparse.csr_matrix,
    texts_with: sparse.csr_matrix,
    vocabulary: Sequence[str],
    threshold: int,
    keywords: Sequence[tuple[str, float]],
) -> str | None:
    """The best-weighted bigram used by at least ``threshold`` texts, with a word that is one of ``keywords``.

    The keywords (the theme's top ones) anchor the phrase to the theme, so a
    phrase common to every theme never becomes a label. Among bigrams of one
    weight the one whose words weigh most as keywords wins ("social
    insurance" over "pay social"). A bigram of two forms of one word
    ("farmer farming") is skipped.
    """
    columns = texts_with.indices[texts_with.data >= threshold]
    candidates = []
    for weight, column in zip(weights[0, columns].toarray().ravel().tolist(), columns.tolist()):
        first, _, second = vocabulary[column].partition(" ")
        if weight <= 0 or share_stem(first, second):
            continue
        relevance = sum(keyword_weight(word, keywords) for word in (first, second))
        if relevance > 0:
            candidates.append((-weight, -relevance, vocabulary[column]))
    return min(candidates)[2] if candidates else None


def keyword_weight(word: str, keywords: Sequence[tuple[str, float]]) -> float:
    """The weight of the best keyword that ``word`` is a form of ("fees" of "fee"), or 0."""
    return max((weight for keyword, weight in keywords if share_stem(word, keyword)), default=0.0)


class KeywordExtractor:
    """Class-based TF-IDF keywords per theme (and per language), and a short readable label.

    Parameters: ``n_keywords`` keywords kept per theme; ``min_df`` the least
    number of themed testimonies a word or bigram must occur in (drops typos
    and one-off names); ``label_words`` how many parts make the label, a
    bigram counting as one; ``separator`` what joins them;
    ``min_bigram_share`` the share of the label's testimonies (and at least
    two) that must use a bigram for it to lead the label;
    ``min_language_texts`` and ``min_language_share`` the least testimonies
    a language needs in a theme to get keywords there; ``staff_languages``
    the languages labels are preferably written in (see the module docstring);
    ``min_contributors`` the least distinct contributors that must use a word
    or bigram where it is shown (1: no such rule; the project passes
    ``settings.small_cell``).

    After ``fit``: ``classes_`` (theme labels, sorted), ``vocabulary_``,
    ``c_tf_idf_`` (classes × vocabulary, sparse), and keyed by theme label:
    ``keywords_``, ``labels_text_``, ``keywords_by_language_`` (empty when
    no ``languages`` were given) and ``label_language_`` (None when the label
    was drawn from all the theme's testimonies). A theme with no keyword gets
    an empty label; what to show instead is the caller's choice.
    """

    def __init__(
        self,
        n_keywords: int = 10,
        min_df: int = 2,
        label_words: int = 2,
        separator: str = LABEL_SEPARATOR,
        min_bigram_share: float = 0.1,
        min_language_texts: int = 3,
        min_language_share: float = 0.1,
        staff_languages: Sequence[str] = (),
        min_contributors: int = 1,
    ):
        self.n_keywords = n_keywords
        self.min_df = min_df
        self.label_words = label_words
        self.separator = separator
        self.min_bigram_share = min_bigram_share
        self.min_language_texts = min_language_texts
        self.min_language_share = min_language_share
        self.staff_languages = staff_languages
        self.min_contributors = min_contributors

    def fit(
        self,
        tokens: Sequence[Sequence[str]],
        labels: Sequence[int],
        languages: Sequence[str | None] | None = None,
        bigrams: Sequence[Sequence[str]] | None = None,
        contributors: Sequence[object | None] | None = None,
    ) -> "KeywordExtractor":
        """Compute keywords and labels for every theme in ``labels`` (``-1``, unthemed, is skipped).

        ``languages`` (one code per testimony; a missing one counts as
        ``xx``) adds keywords per language and labels in one language;
        ``bigrams`` (``TextProcessor.tokens_and_bigrams_many``) lets labels
        lead with a phrase; ``contributors`` (one id per testimony, None for
        none) is whom ``min_contributors`` counts, and without it every
        testimony counts as its own contributor.
        """
        named = (("labels", labels), ("languages", languages), ("bigram lists", bigrams),
                 ("contributors", contributors))
        for name, values in named:
            if values is not None and len(values) != len(tokens):
                raise ValueError(f"{len(tokens)} token lists but {len(values)} {name}")
        label_array = np.asarray(labels, dtype=np.int64).reshape(-1)
        themed = np.flatnonzero(label_array != UNTHEMED)
        self.classes_ = np.unique(label_array[themed])
        class_of_doc = np.searchsorted(self.classes_, label_array[themed])
        theme_docs = docs_by_class(class_of_doc, len(self.classes_))

        self.vocabulary_, doc_terms = document_term_counts([tokens[i] for i in themed], self.min_df)
        self._owners = contributor_codes(contributors, themed)
        theme_counts = membership(theme_docs, len(themed)) @ doc_terms
        idf = inverse_class_frequency(theme_counts)
        self.c_tf_idf_ = self.shown(weigh(theme_counts, idf), theme_docs, doc_terms)
        self.keywords_ = {
            int(label): top_terms(self.c_tf_idf_.getrow(row), self.vocabulary_, self.n_keywords)
            for row, label in enumerate(self.classes_)
        }

        groups: list[LanguageGroup] = []
        self.keywords_by_language_: dict[int, dict[str, list[tuple[str, float]]]] = {}
        if languages is not None:
            codes = [language_code(languages[i], MULTI_LANGUAGE) for i in themed]
            groups = language_groups(class_of_doc, codes, self.min_language_texts, self.min_language_share)
            self.keywords_by_language_ = self.keywords_by_language(groups, doc_terms, idf)

        label_groups = self.label_groups(groups)
        self.label_language_ = {
            int(label): (group.language if group is not None else None)
            for label, group in zip(self.classes_, label_groups)
        }
        label_docs = [group.docs if group is not None else docs for group, docs in zip(label_groups, theme_docs)]
        themed_bigrams = [bigrams[i] for i in themed] if bigrams is not None else None
        self.labels_text_ = self.labels(label_docs, doc_terms, idf, themed_bigrams, theme_docs)
        return self

    def shown(
        self, weights: sparse.csr_matrix, rows_of_docs: Sequence[Sequence[int]], doc_terms: sparse.csr_matrix
    ) -> sparse.csr_matrix:
        """``weights`` (one row per set of documents) less the terms too few contributors of that set use."""
        if self.min_contributors <= 1:
            return weights
        return shared_only(weights, people_using(rows_of_docs, doc_terms, self._owners), self.min_contributors)

    def keywords_by_language(
        self, groups: Sequence[LanguageGroup], doc_terms: sparse.csr_matrix, idf: np.ndarray
    ) -> dict[int, dict[str, list[tuple[str, float]]]]:
        """Each theme's keywords in each of its ``groups``' languages, largest language first."""
        rows = [group.docs for group in groups]
        weights = self.shown(weigh(membership(rows, doc_terms.shape[0]) @ doc_terms, idf), rows, doc_terms)
        by_theme: dict[int, dict[str, list[tuple[str, float]]]] = {int(label): {} for label in self.classes_}
        for row, group in enumerate(groups):
            words = top_terms(weights.getrow(row), self.vocabulary_, self.n_keywords)
            by_theme[int(self.classes_[group.theme])][group.language] = words
        return by_theme

    def label_groups(self, groups: Sequence[LanguageGroup]) -> list[LanguageGroup | None]:
        """For each theme, the language group its label is drawn from, or None to draw on all its testimonies.

        The first of ``staff_languages`` the theme has enough testimonies in,
        else its largest language (``groups`` are sorted largest first).
        """
        rank = {code: position for position, code in enumerate(self.staff_languages)}
        chosen: list[LanguageGroup | None] = [None] * len(self.classes_)
        for group in groups:
            current = chosen[group.theme]
            if current is None or rank.get(group.language, len(rank)) < rank.get(current.language, len(rank)):
                chosen[group.theme] = group
        return chosen

    def labels(
        self,
        label_docs: Sequence[Sequence[int]],
        doc_terms: sparse.csr_matrix,
        idf: np.ndarray,
        bigrams: Sequence[Sequence[str]] | None,
        theme_docs: Sequence[Sequence[int]],
    ) -> dict[int, str]:
        """Each theme's label, from the testimonies ``label_docs`` (all of the theme's, or one language's)."""
        weights = self.shown(weigh(membership(label_docs, doc_terms.shape[0]) @ doc_terms, idf), label_docs, doc_terms)
        # Labels draw on more candidates than the keywords, as stems shared among the top ones are skipped.
        n_candidates = max(self.n_keywords, 5 * self.label_words)
        candidates = [top_terms(weights.getrow(row), self.vocabulary_, n_candidates) for row in range(len(label_docs))]
        leading = (
            self.label_bigrams(bigrams, theme_docs, label_docs, [words[: self.n_keywords] for words in candidates])
            if bigrams is not None
            else [None] * len(label_docs)
        )
        return {
            int(label): self.label_for(words, bigram)
            for label, words, bigram in zip(self.classes_, candidates, leading)
        }

    def label_bigrams(
        self,
        bigrams: Sequence[Sequence[str]],
        theme_docs: Sequence[Sequence[int]],
        label_docs: Sequence[Sequence[int]],
        keywords: Sequence[Sequence[tuple[str, float]]],
    ) -> list[str | None]:
        """For each theme, the bigram its label leads with, or None when none is frequent and distinctive."""
        vocabulary, doc_bigrams = document_term_counts(bigrams, self.min_df)
        idf = inverse_class_frequency(membership(theme_docs, len(bigrams)) @ doc_bigrams)
        sources = membership(label_docs, len(bigrams))
        weights = weigh(sources @ doc_bigrams, idf)
        texts_with = self.shown(sparse.csr_matrix(sources @ (doc_bigrams > 0).astype(float)), label_docs, doc_bigrams)
        return [
            best_bigram(
                weights.getrow(row),
                texts_with.getrow(row),
                vocabulary,
                bigram_threshold(len(docs), self.min_df, self.min_bigram_share),
                keywords[row],
            )
            for row, docs in enumerate(label_docs)
        ]

    def label_for(self, keywords: Sequence[tuple[str, float]], bigram: str | None = None) -> str:
        """A short readable label: ``bigram`` if any, then the top keywords sharing no stem with what is said."""
        parts = [bigram] if bigram else []
        said = bigram.split() if bigram else []
        words = distinct_words([word for word, _ in keywords], self.label_words - len(parts), said)
        return self.separator.join(parts + words)
