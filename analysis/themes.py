"""Themes: density clustering of testimony embeddings, without being told how many.

The shortest working example::

    from analysis.embeddings import Embedder
    from analysis.themes import ThemeModel

    vectors = Embedder().encode(texts)
    model = ThemeModel().fit(vectors, texts, languages=["en", "sw", ...])
    model.labels_        # theme index per testimony, -1 = unthemed
    model.map_           # two coordinates per testimony, for a map of the themes
    model.predict(Embedder().encode(["we have no clean water"]))

How a fit works, and why each step is there:

0. **Languages.** A multilingual model still places texts of one language
   near each other: on the demo corpus a text's nearest neighbour was in its
   own language 99% of the time. When ``languages`` are given, each
   language's mean vector is subtracted from its texts (``centre_languages``;
   languages with fewer than ``min_language_texts`` texts share the corpus
   mean), which takes out the "which language" direction and keeps the "what
   about" one. With one language this is plain centring, which also spreads
   out models whose unrelated texts sit at cosine 0.8 (e5).
1. **Neighbours.** The exact ``n_neighbors`` nearest neighbours of every row
   by cosine similarity, computed once, in blocks (deterministic, no
   approximate index). When ``texts`` are given, the similarity mixes in a
   small share (``lexical_weight``) of TF-IDF cosine: short messages such as
   "we need water" and "we need food" are close in meaning but differ in
   exactly one word that decides their theme. In a multilingual corpus
   (``balance_languages``, two or more languages each with at least
   ``min_language_share`` of the rows) every row takes its neighbours from
   each language in proportion to that language's share of the corpus
   (like batch-balanced kNN in single-cell analysis, with the language as
   the batch), and word overlap is left out: it can only join texts of one
   language, so a theme would become "the texts in Creole". Texts of one's
   own language are still closer on the whole, so each row's similarities
   to the texts of one language are shifted to share one mean with its
   similarities to all the rows it drew (only their order within a language
   counts, not which language is nearer overall), and fewer neighbours are
   taken (``balanced_neighbors``): half of them come from other languages,
   where close matches are rarer. Measured on the mixed Creole/English set
   (BENCHMARKS.md): NMI against language fell from about 0.25 to under 0.1.
2. **Reduction.** A UMAP layout of that neighbour graph (or ``n_runs``
   layouts with their own seeds, side by side, so that the clustering sees
   a consensus: a pair close in every layout is close in the
   concatenation). Corpora under 50 rows skip UMAP and are clustered on
   their cosine distances directly; ``reducer="pca"`` is a faster,
   measurably worse alternative (NMI 0.40 against 0.58 on the reference set).
3. **Density clustering.** scikit-learn's HDBSCAN with excess-of-mass
   selection, a minimum theme size relative to the corpus size, and a cap
   on the share of the corpus one theme may take (``max_theme_share``),
   which stops HDBSCAN from picking one huge cluster when a single small
   group separates very clearly from everything else (without it, every
   seed on the reference set collapsed into 2 themes, as BERTopic's
   defaults did for one seed).
4. **Merging and joining.** Themes whose centroids are nearly the same
   direction (``merge_threshold``) are merged; outliers whose nearest theme
   centroid is at least ``join_threshold`` similar join it; and, if more than
   ``max_unthemed`` of the rows are still unthemed, the nearest of them are
   joined too, so at most that share stays explicitly unthemed (-1).

Centroids, similarities and :meth:`ThemeModel.predict` work in the original
embedding space (the centring of step 0 only shapes the clustering), so a new
testimony can be placed provisionally without a refit.

Quality and speed are measured by ``bench/bench_themes.py``. UMAP comes from
the ``umap-learn`` package, imported only when a fit needs it.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils import check_random_state

log = logging.getLogger(__name__)

UNTHEMED = -1
_BLOCK_ROWS = 512  # rows of the similarity matrix held at once when finding neighbours
_SMALL_CORPUS = 50  # below this many rows UMAP is skipped: too few points to learn a manifold


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def theme_centroids(embeddings: np.ndarray, labels: np.ndarray, n_themes: int) -> np.ndarray:
    """Unit-length mean embedding of each theme 0..n_themes-1."""
    dim = embeddings.shape[1]
    if n_themes == 0:
        return np.zeros((0, dim), dtype=np.float32)
    themed = labels >= 0
    sums = np.zeros((n_themes, dim), dtype=np.float64)
    np.add.at(sums, labels[themed], embeddings[themed])
    return _unit_rows(sums).astype(np.float32)


def _compact(labels: np.ndarray) -> np.ndarray:
    """Theme labels renumbered 0..k-1 by decreasing size (ties by first row), -1 kept."""
    out = np.full(labels.shape, UNTHEMED, dtype=np.int64)
    themes, first, counts = np.unique(labels[labels >= 0], return_index=True, return_counts=True)
    order = sorted(range(len(themes)), key=lambda i: (-counts[i], first[i]))
    for new, i in enumerate(order):
        out[labels == themes[i]] = new
    return out


class ThemeModel(ClusterMixin, BaseEstimator):
    """Finds themes in a corpus of embedded testimonies; the number of themes is found, not given.

    Parameters
    ----------
    min_cluster_size:
        Fewest rows a theme may have. ``None`` scales it with the corpus:
        ``max(5, round(min_theme_share * n))`` (``multilingual_theme_share`` in
        a multilingual corpus; capped at the corpus size).
    n_components:
        Dimensions of each UMAP layout.
    max_unthemed:
        Largest share of rows left explicitly unthemed (-1) after outliers
        have been joined to their nearest theme.
    join_threshold:
        Cosine similarity to a theme centroid at which an outlier joins that
        theme in :meth:`fit`; also the default threshold of :meth:`predict`.
    random_state:
        Seed of the UMAP layouts (``None``: a fresh one each fit).
    n_neighbors:
        Neighbours per row in the graph UMAP lays out.
    balanced_neighbors:
        Neighbours per row when they are balanced across languages (step 1).
    n_runs:
        UMAP layouts, each with its own seed, that the clustering sees side
        by side (a consensus). Over ten seeds on the reference set 3 layouts
        were no more stable than 1 (the theme-share cap and the exact,
        deterministic neighbour graph already are), at three times the cost.
    min_theme_share:
        Share of the corpus that sets the default ``min_cluster_size``.
    multilingual_theme_share:
        The same in a multilingual corpus (step 1). There, with density judged
        per language (``min_samples``) and the English model beside e5, the
        reference share split the 346 demo texts into 22-25 themes, most too
        small for a word used by five people (a keyword's minimum), where the
        English-only and e5-only set-ups found 10-14; 0.025 gives 12-14 (seeds
        0-2) and leaves the 154-text mixed Creole/English set as it was (its
        minimum size stays at the floor of 5).
    min_samples:
        HDBSCAN's density smoothing; ``None`` takes ``min_cluster_size``
        up to at most 15 (more costs time on large corpora and changes little),
        or in a multilingual corpus its share per language (``_default_min_samples``).
    max_theme_share:
        Largest share of the corpus a single theme may take when HDBSCAN
        selects clusters (never below four times ``min_cluster_size``;
        merging and joining can grow a theme afterwards).
    merge_threshold:
        Themes whose centroids have at least this cosine similarity are merged.
    lexical_weight:
        Share of TF-IDF cosine in the neighbour similarity when ``texts`` are
        given (0 ignores the texts).
    reducer:
        ``"umap"`` (default) or ``"pca"`` (faster, measurably worse themes).
    n_epochs:
        UMAP optimisation epochs (``None``: UMAP's default for the corpus size).
    centre_languages:
        Subtract each language's mean vector before anything else (step 0).
    balance_languages:
        Language-balanced neighbours in a multilingual corpus (step 1).
    min_language_share:
        Share of the rows a language needs to count as one of the corpus's
        languages for balancing.
    min_language_texts:
        Rows a language needs for a mean of its own (else the corpus mean).
    """

    def __init__(
        self,
        *,
        min_cluster_size: int | None = None,
        n_components: int = 5,
        max_unthemed: float = 0.10,
        join_threshold: float = 0.5,
        random_state: int | None = 0,
        n_neighbors: int = 30,
        balanced_neighbors: int = 20,
        n_runs: int = 1,
        min_theme_share: float = 0.017,
        multilingual_theme_share: float = 0.025,
        min_samples: int | None = None,
        max_theme_share: float = 0.2,
        merge_threshold: float = 0.9,
        lexical_weight: float = 0.3,
        reducer: str = "umap",
        n_epochs: int | None = None,
        centre_languages: bool = True,
        balance_languages: bool = True,
        min_language_share: float = 0.05,
        min_language_texts: int = 10,
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.n_components = n_components
        self.max_unthemed = max_unthemed
        self.join_threshold = join_threshold
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.balanced_neighbors = balanced_neighbors
        self.n_runs = n_runs
        self.min_theme_share = min_theme_share
        self.multilingual_theme_share = multilingual_theme_share
        self.min_samples = min_samples
        self.max_theme_share = max_theme_share
        self.merge_threshold = merge_threshold
        self.lexical_weight = lexical_weight
        self.reducer = reducer
        self.n_epochs = n_epochs
        self.centre_languages = centre_languages
        self.balance_languages = balance_languages
        self.min_language_share = min_language_share
        self.min_language_texts = min_language_texts

    # ----------------------------------------------------------------- fit

    def fit(
        self,
        embeddings: np.ndarray,
        texts: Sequence[str] | None = None,
        languages: Sequence[str | None] | None = None,
    ) -> "ThemeModel":
        """Cluster ``embeddings`` (one row per testimony) into themes.

        ``texts`` (optional, same order) add a light lexical signal to the
        neighbour graph; ``languages`` (optional, a code per row) let the
        model take language out of the picture (steps 0 and 1 above). The
        model works without either.
        """
        x = self._check_embeddings(embeddings)
        if texts is not None and len(texts) != len(x):
            raise ValueError(f"got {len(texts)} texts for {len(x)} embeddings")
        if languages is not None and len(languages) != len(x):
            raise ValueError(f"got {len(languages)} languages for {len(x)} embeddings")
        n = len(x)
        self.n_features_in_ = x.shape[1]
        row_languages = np.array([code or "" for code in languages] if languages is not None else [""] * n, dtype=object)
        given = x
        self.balanced_languages_ = self._balanced_languages(row_languages)
        x = self._centre(x, row_languages)
        self._row_languages = row_languages
        self.min_cluster_size_ = self._resolve_min_cluster_size(n)
        self._layout = None
        if n < 2:
            labels = np.full(n, UNTHEMED, dtype=np.int64)
        else:
            lexical = self._lexical_vectors(texts) if texts is not None else None
            labels = self._density_clusters(x, lexical)
            labels = self._merge_close(x, labels)
            labels = self._join_outliers(x, labels)
        self._set_results(given, _compact(labels))
        self.map_ = self._map_coordinates(x)
        log.debug("themes: %d rows, %d themes, %d unthemed", n, self.n_themes_, int(np.sum(self.labels_ < 0)))
        return self

    def fit_predict(self, embeddings: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:  # type: ignore[override]
        """Fit and return ``labels_``."""
        return self.fit(embeddings, texts).labels_

    def predict(self, embeddings: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Provisional theme of new embeddings: nearest centroid if its cosine >= threshold (default join_threshold), else -1."""
        if not hasattr(self, "centroids_"):
            raise RuntimeError("ThemeModel.predict called before fit")
        x = self._check_embeddings(embeddings)
        limit = self.join_threshold if threshold is None else threshold
        if self.n_themes_ == 0 or len(x) == 0:
            return np.full(len(x), UNTHEMED, dtype=np.int64)
        sims = x @ self.centroids_.T
        best = sims.argmax(axis=1)
        return np.where(sims[np.arange(len(x)), best] >= limit, best, UNTHEMED).astype(np.int64)

    # ------------------------------------------------------------- stages

    @staticmethod
    def _check_embeddings(embeddings: np.ndarray) -> np.ndarray:
        """A 2-D float32 array of unit rows (re-normalised in case the caller's are not)."""
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"embeddings must be 2-D (rows x dims), got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("embeddings contain NaN or infinite values")
        return _unit_rows(x).astype(np.float32)

    def _centre(self, x: np.ndarray, languages: np.ndarray) -> np.ndarray:
        """Rows minus their language's mean (the corpus mean for rare or unknown languages), re-normalised.

        In a multilingual corpus (see ``_balanced_languages``) each dimension
        is also divided by its spread within the language, so that the
        languages' clouds match in shape as well as in place; in a corpus of
        one language that only blurs what the model learnt, so it is skipped.
        """
        if not len(x) or not self.centre_languages:
            return x
        standardise = bool(self.balanced_languages_)
        groups = {"": np.ones(len(x), dtype=bool)}
        codes, counts = np.unique(languages, return_counts=True)
        for code, count in zip(codes.tolist(), counts.tolist()):
            if code and count >= self.min_language_texts:
                groups[code] = languages == code
        out = np.empty_like(x, dtype=np.float64)
        pooled = np.ones(len(x), dtype=bool)
        for code, rows in sorted(groups.items(), key=lambda item: item[0] == ""):
            rows = rows & pooled if code == "" else rows
            source = x[groups[code]]  # the rest are centred on the whole corpus's mean and spread
            shifted = x[rows] - source.mean(axis=0)
            out[rows] = shifted / (source.std(axis=0) + 1e-6) if standardise else shifted
            pooled &= ~rows
        return _unit_rows(out).astype(np.float32)

    def _balanced_languages(self, languages: np.ndarray) -> dict[str, float]:
        """The languages neighbours are balanced over, with their shares; empty when fewer than two qualify."""
        if not self.balance_languages or not len(languages):
            return {}
        codes, counts = np.unique(languages, return_counts=True)
        shares = {code: count / len(languages) for code, count in zip(codes.tolist(), counts.tolist())}
        major = {code: share for code, share in shares.items() if code and share >= self.min_language_share}
        return major if len(major) >= 2 else {}

    def _resolve_min_cluster_size(self, n: int) -> int:
        """The minimum theme size for a corpus of ``n`` rows (at least 2, at most n)."""
        size = self.min_cluster_size
        if size is None:
            share = self.multilingual_theme_share if self.balanced_languages_ else self.min_theme_share
            size = max(5, round(share * n))
        return int(max(2, min(size, n)))

    def _lexical_vectors(self, texts: Sequence[str]) -> sparse.csr_matrix | None:
        """Unit TF-IDF rows of ``texts``, or None when there is no usable vocabulary."""
        if self.lexical_weight <= 0 or len(texts) < 2 or self.balanced_languages_:
            # across languages word overlap only finds texts of one language: on the mixed
            # Creole/English set it collapsed two of three seeds into a few themes
            return None
        vectorizer = TfidfVectorizer(
            sublinear_tf=True,
            stop_words="english",
            min_df=2,
            max_df=0.5,
            dtype=np.float32,
        )
        try:
            return vectorizer.fit_transform([t or "" for t in texts]).tocsr()
        except ValueError:  # every word is a stop word or occurs once
            return None

    def _similarity_block(self, x: np.ndarray, lexical: sparse.csr_matrix | None, rows: slice) -> np.ndarray:
        """Cosine similarity of rows ``rows`` to all rows, mixed with TF-IDF cosine when available."""
        sims = x[rows] @ x.T
        if lexical is not None:
            w = self.lexical_weight
            lex = (lexical[rows] @ lexical.T).tocoo()
            sims *= 1.0 - w
            sims[lex.row, lex.col] += w * lex.data
        return sims

    def _neighbours(self, x: np.ndarray, lexical: sparse.csr_matrix | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact k nearest neighbours (self first) and cosine distances, block by block.

        In a multilingual corpus the candidates are drawn from every language
        in proportion to its share (``_language_pools``; rows of languages too
        rare to balance over form one pool of their own), on one scale across
        languages (``_aligned_candidates``).
        """
        n = len(x)
        pools = self._language_pools(k) if self.balanced_languages_ else None
        indices = np.empty((n, k), dtype=np.int32)
        distances = np.empty((n, k), dtype=np.float32)
        for start in range(0, n, _BLOCK_ROWS):
            rows = slice(start, min(n, start + _BLOCK_ROWS))
            sims = self._similarity_block(x, lexical, rows)
            local = np.arange(rows.stop - rows.start)
            if pools is None:
                sims[local, local + start] = np.inf  # each row is its own first neighbour
                candidates = np.argpartition(sims, n - k, axis=1)[:, n - k :]
                candidate_sims = np.take_along_axis(sims, candidates, axis=1)
            else:
                sims[local, local + start] = -np.inf  # drawn from no pool; put first below
                candidates, candidate_sims = self._aligned_candidates(sims, pools)
                if candidates.shape[1] < k - 1:  # pools too small to fill k: plain nearest neighbours
                    self.balanced_languages_ = {}
                    return self._neighbours(x, lexical, k)
                candidates = np.hstack([(local + start)[:, None], candidates])
                candidate_sims = np.hstack([np.full((len(local), 1), np.inf), candidate_sims])
            order = np.argsort(-candidate_sims, axis=1, kind="stable")[:, :k]
            indices[rows] = np.take_along_axis(candidates, order, axis=1)
            ordered = np.take_along_axis(candidate_sims, order, axis=1)
            ordered[:, 0] = 1.0
            distances[rows] = np.clip(1.0 - ordered, 0.0, 2.0)
        return indices, distances

    def _aligned_candidates(self, sims: np.ndarray, pools: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Each row's nearest rows in every pool, and their similarities with each pool's mean moved to the row's mean.

        Without the shift a row's own language would still be nearer as a
        whole, and its neighbours there would pull the layout apart by
        language. Rows that are not candidates (the row itself) keep -inf.
        """
        found, scores = [], []
        for pool, quota in pools:
            columns = self._top_in_pool(sims, pool, quota)
            found.append(columns)
            scores.append(np.take_along_axis(sims, columns, axis=1))
        real = [np.where(np.isfinite(s), s, np.nan) for s in scores]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a pool holding only the row itself
            overall = np.nanmean(np.hstack(real), axis=1, keepdims=True)
            aligned = [r - np.nanmean(r, axis=1, keepdims=True) + overall for r in real]
        return np.hstack(found), np.nan_to_num(np.hstack(aligned), nan=-np.inf)

    def _language_pools(self, k: int) -> list[tuple[np.ndarray, int]]:
        """(rows, neighbours to take) per balanced language, proportional to its share (at least one), and the rest."""
        languages = self._row_languages
        pools = [
            (np.flatnonzero(languages == code), max(1, round(k * share)))
            for code, share in self.balanced_languages_.items()
        ]
        rest = np.flatnonzero(~np.isin(languages, list(self.balanced_languages_)))
        if len(rest):
            pools.append((rest, max(1, round(k * len(rest) / len(languages)))))
        return pools

    @staticmethod
    def _top_in_pool(sims: np.ndarray, pool: np.ndarray, m: int) -> np.ndarray:
        """Column indices of each row's ``m`` most similar rows within ``pool`` (fewer when the pool is small)."""
        m = min(m, len(pool))
        block = sims[:, pool]
        top = np.argpartition(-block, m - 1, axis=1)[:, :m]
        return pool[top]

    def _run_seeds(self) -> list[int]:
        """One seed per UMAP layout, drawn from ``random_state``."""
        rng = check_random_state(self.random_state)
        return [int(s) for s in rng.randint(0, 2**31 - 1, size=max(1, self.n_runs))]

    def _reduce(self, x: np.ndarray, lexical: sparse.csr_matrix | None) -> tuple[np.ndarray, str]:
        """The space HDBSCAN clusters and its metric: side-by-side UMAP layouts, PCA, or (small corpora) cosine distances."""
        n = len(x)
        if self.reducer == "pca":
            from sklearn.decomposition import PCA

            dims = max(1, min(self.n_components * max(1, self.n_runs), n - 1, x.shape[1]))
            return PCA(n_components=dims, random_state=self._run_seeds()[0]).fit_transform(x), "euclidean"
        if self.reducer != "umap":
            raise ValueError(f"reducer must be 'umap' or 'pca', got {self.reducer!r}")
        k = min(self.balanced_neighbors if self.balanced_languages_ else self.n_neighbors, n - 1)
        if n < _SMALL_CORPUS or k < 2:
            return self._small_corpus_space(x, lexical), "precomputed"
        indices, distances = self._neighbours(x, lexical, k)
        import umap  # imported here: slow to import, and only fits need it

        layouts = []
        for seed in self._run_seeds():
            reducer = umap.UMAP(
                n_neighbors=k,
                n_components=min(self.n_components, n - 2),
                min_dist=0.0,
                metric="cosine",
                random_state=seed,
                precomputed_knn=(indices, distances),
                n_epochs=self.n_epochs,
                init="spectral",
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # n_jobs overridden by random_state; knn search index absent
                layouts.append(reducer.fit_transform(x))
        return np.hstack(layouts).astype(np.float64), "euclidean"

    def _small_corpus_space(self, x: np.ndarray, lexical: sparse.csr_matrix | None) -> np.ndarray:
        """Pairwise cosine distances, clustered directly when the corpus is too small for UMAP."""
        sims = self._similarity_block(x, lexical, slice(0, len(x)))
        distances = np.clip(1.0 - sims, 0.0, 2.0).astype(np.float64)
        np.fill_diagonal(distances, 0.0)
        return (distances + distances.T) / 2.0

    def _density_clusters(self, x: np.ndarray, lexical: sparse.csr_matrix | None) -> np.ndarray:
        """HDBSCAN labels (-1 = noise) in the reduced space."""
        n = len(x)
        space, metric = self._reduce(x, lexical)
        self._layout = space if metric == "euclidean" else None
        size = self.min_cluster_size_
        samples = self.min_samples if self.min_samples is not None else self._default_min_samples(size)
        samples = int(max(1, min(samples, n - 1)))
        # the share cap guards against one clear split swallowing a large corpus; in a small
        # corpus it would forbid ordinary themes, so it never binds below four minimum sizes
        cap = max(4 * size, math.floor(self.max_theme_share * n))

        def cluster(single: bool) -> np.ndarray:
            return HDBSCAN(
                min_cluster_size=size,
                min_samples=samples,
                max_cluster_size=None if single else cap,
                metric=metric,
                allow_single_cluster=single,
                copy=True,
            ).fit_predict(space)

        labels = cluster(single=False)
        if labels.max() < 0 and n >= size:
            labels = cluster(single=True)  # no structure found: at most one theme rather than none
        return labels.astype(np.int64)

    def _default_min_samples(self, size: int) -> int:
        """HDBSCAN's density smoothing when not given: ``size`` up to 15; in a multilingual corpus that
        divided among the balanced languages (at least 2), the share of a minimum-size theme one language
        holds, so a theme need not be dense within a single language. On the mixed Creole/English set (3 languages by
        detection) 2 instead of 5 raised NMI against the labels from 0.45 to 0.48 (mean of 10 seeds) and its
        lowest seed from 0.39 to 0.45; language NMI stayed under 0.12 (BENCHMARKS.md)."""
        if self.balanced_languages_:
            return max(2, math.ceil(min(size, 15) / len(self.balanced_languages_)))
        return min(size, 15)

    def _merge_close(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Merge, pair by pair, themes whose centroids are at least ``merge_threshold`` similar."""
        labels = _compact(labels)
        while True:
            k = int(labels.max()) + 1
            if k < 2:
                return labels
            centroids = theme_centroids(x, labels, k)
            sims = centroids @ centroids.T
            np.fill_diagonal(sims, -np.inf)
            i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
            if sims[i, j] < self.merge_threshold:
                return labels
            labels = _compact(np.where(labels == max(i, j), min(i, j), labels))

    def _join_outliers(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Join outliers to their nearest theme when near enough, then enough of the rest to respect ``max_unthemed``."""
        k = int(labels.max()) + 1
        outliers = np.flatnonzero(labels < 0)
        if k == 0 or len(outliers) == 0:
            return labels
        centroids = theme_centroids(x, labels, k)
        sims = x[outliers] @ centroids.T
        nearest = sims.argmax(axis=1)
        best = sims[np.arange(len(outliers)), nearest]
        join = best >= self.join_threshold
        allowed = math.floor(self.max_unthemed * len(x) + 1e-9)
        remaining = np.flatnonzero(~join)
        if len(remaining) > allowed:
            closest_first = remaining[np.argsort(-best[remaining], kind="stable")]
            join[closest_first[: len(remaining) - allowed]] = True
        labels = labels.copy()
        labels[outliers[join]] = nearest[join]
        return labels

    def _map_coordinates(self, x: np.ndarray) -> np.ndarray:
        """Two coordinates per row for a map of the corpus: the first two principal axes of the layout the
        themes were found in (of the centred vectors for corpora too small for a layout), scaled to [-1, 1].

        The layout's axes carry the theme structure, so themes lie apart on the map as they did for the
        clustering, at the cost of a principal-axis projection (no second layout to compute).
        """
        source = self._layout if self._layout is not None else x
        n = len(source)
        if n < 3:
            return np.zeros((n, 2), dtype=np.float32)
        centred = np.asarray(source, dtype=np.float64) - np.asarray(source, dtype=np.float64).mean(axis=0)
        _, _, axes = np.linalg.svd(centred, full_matrices=False)
        flat = centred @ axes[:2].T
        if flat.shape[1] < 2:
            flat = np.hstack([flat, np.zeros((n, 2 - flat.shape[1]))])
        signs = np.sign(flat[np.abs(flat).argmax(axis=0), [0, 1]])  # SVD's signs are arbitrary: fix them
        flat *= np.where(signs == 0, 1.0, signs)
        scale = np.abs(flat).max(axis=0)
        return (flat / np.where(scale > 0, scale, 1.0)).astype(np.float32)

    def _set_results(self, x: np.ndarray, labels: np.ndarray) -> None:
        """The fitted attributes: labels, theme count, centroids and each row's similarity to its centroid."""
        self.labels_ = labels
        self.n_themes_ = int(labels.max()) + 1 if len(labels) else 0
        self.centroids_ = theme_centroids(x, labels, self.n_themes_)
        similarity = np.full(len(x), np.nan, dtype=np.float32)
        themed = labels >= 0
        if themed.any():
            similarity[themed] = np.einsum("ij,ij->i", x[themed], self.centroids_[labels[themed]])
        self.similarity_ = similarity
