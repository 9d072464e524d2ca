"""ThemeModel: recovers planted themes, respects the unthemed cap, predicts, stays stable, survives tiny corpora.

Synthetic tests use well-separated Gaussian blobs on the unit sphere. The
``shared_data`` test checks the quality floors on the real disaster-response
single-label subset (tests/support/disaster_response.py; bench/bench_themes.py
measures the same) and is skipped when the shared data set is absent.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from analysis.themes import ThemeModel
from tests.support.disaster_response import VALIDATION_CSV, cached_embeddings, load_labelled_set

DIM = 64
N_BLOBS = 5
PER_BLOB = 60


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_blobs(n_blobs: int = N_BLOBS, per_blob: int = PER_BLOB, noise: float = 0.08, seed: int = 0):
    """Points around ``n_blobs`` random unit centres (in DIM dimensions, nearly orthogonal), and their blob."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(n_blobs, DIM)))
    truth = np.repeat(np.arange(n_blobs), per_blob)
    points = unit(centres[truth] + rng.normal(scale=noise, size=(len(truth), DIM)))
    return points, truth, centres


@pytest.fixture(scope="module")
def blobs():
    return make_blobs()


@pytest.fixture(scope="module")
def fitted(blobs):
    points, _, _ = blobs
    return ThemeModel(random_state=0).fit(points)


def test_recovers_well_separated_blobs(blobs, fitted):
    _, truth, _ = blobs
    assert fitted.n_themes_ == N_BLOBS
    assert adjusted_rand_score(truth, fitted.labels_) > 0.95
    assert np.mean(fitted.labels_ != -1) >= 0.9


def test_fitted_attributes_have_the_documented_shapes(blobs, fitted):
    points, _, _ = blobs
    assert fitted.labels_.shape == (len(points),)
    assert fitted.labels_.min() >= -1 and fitted.labels_.max() == fitted.n_themes_ - 1
    assert fitted.centroids_.shape == (fitted.n_themes_, DIM)
    np.testing.assert_allclose(np.linalg.norm(fitted.centroids_, axis=1), 1.0, atol=1e-5)
    assert fitted.similarity_.shape == (len(points),)
    assert np.array_equal(np.isnan(fitted.similarity_), fitted.labels_ == -1)
    themed = fitted.labels_ != -1
    expected = np.einsum("ij,ij->i", points[themed], fitted.centroids_[fitted.labels_[themed]])
    np.testing.assert_allclose(fitted.similarity_[themed], expected, atol=1e-5)


def test_predict_places_near_points_and_rejects_far_ones(blobs, fitted):
    _, _, centres = blobs
    rng = np.random.default_rng(7)
    near = unit(centres + rng.normal(scale=0.05, size=centres.shape))
    predicted = fitted.predict(near)
    assert (predicted != -1).all()
    assert len(set(predicted.tolist())) == N_BLOBS  # each centre lands in its own theme
    # a direction orthogonal to every centroid is far from all themes
    far = rng.normal(size=(1, DIM))
    basis, _ = np.linalg.qr(fitted.centroids_.T.astype(np.float64))
    far = unit(far - (far @ basis) @ basis.T)
    assert fitted.predict(far).tolist() == [-1]
    assert fitted.predict(far, threshold=-1.0).tolist() != [-1]
    assert fitted.predict(np.zeros((0, DIM), dtype=np.float32)).shape == (0,)


def test_same_random_state_gives_the_same_themes(blobs, fitted):
    points, _, _ = blobs
    again = ThemeModel(random_state=0).fit(points)
    assert np.array_equal(again.labels_, fitted.labels_)
    np.testing.assert_allclose(again.centroids_, fitted.centroids_, atol=1e-6)


def test_other_seeds_agree(blobs, fitted):
    points, _, _ = blobs
    other = ThemeModel(random_state=1).fit(points)
    assert adjusted_rand_score(fitted.labels_, other.labels_) > 0.95


def test_unthemed_share_is_capped_with_many_outliers():
    points, _, _ = make_blobs(n_blobs=4, per_blob=50)
    rng = np.random.default_rng(3)
    scattered = unit(rng.normal(size=(80, DIM)))  # 29% of rows belong to no blob
    data = np.vstack([points, scattered])
    model = ThemeModel(random_state=0).fit(data)
    assert model.n_themes_ >= 1
    assert np.mean(model.labels_ == -1) <= 0.10 + 1e-9
    strict = ThemeModel(random_state=0, max_unthemed=0.3, join_threshold=0.9).fit(data)
    assert np.mean(strict.labels_ == -1) <= 0.3 + 1e-9
    # far outliers stay unthemed when allowed: at least as many as the default cap leaves. UMAP gathers some of
    # the scattered rows into small themes of their own, more or fewer with the machine's floating point: on
    # seeds 0-4 this share was 0.100-0.121 on an AVX-512 machine (2026-12-04), where `> 0.10` failed at seed 0.
    assert np.mean(strict.labels_ == -1) >= 0.10


def test_texts_are_optional_and_used_when_given(blobs):
    points, truth, _ = blobs
    words = ["water", "food", "shelter", "medicine", "school"]
    texts = [f"we need {words[b]} here" for b in truth]
    model = ThemeModel(random_state=0).fit(points, texts)
    assert adjusted_rand_score(truth, model.labels_) > 0.95
    with pytest.raises(ValueError):
        ThemeModel().fit(points, texts[:-1])


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 30])
def test_tiny_corpora_do_not_crash(n):
    points, _, _ = make_blobs(n_blobs=3, per_blob=max(1, -(-n // 3)))
    points = points[:n]
    model = ThemeModel(random_state=0).fit(points, [f"text {i}" for i in range(n)])
    assert model.labels_.shape == (n,)
    assert model.centroids_.shape == (model.n_themes_, DIM)
    assert model.predict(points).shape == (n,)
    if n < 10:
        assert model.n_themes_ <= 1
    if model.n_themes_:
        assert np.mean(model.labels_ == -1) <= 0.10 + 1e-9
    if n >= 30:
        assert model.n_themes_ >= 1


def test_predict_before_fit_is_an_error():
    with pytest.raises(RuntimeError):
        ThemeModel().predict(np.ones((1, DIM), dtype=np.float32))


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def single_label_subset(tmp_path_factory):
    """Texts, reference labels and embeddings of the single-label subset (embedded once, cached in a tmp folder)."""
    if not VALIDATION_CSV.exists():
        pytest.skip(f"shared data set not found at {VALIDATION_CSV}: the real-data quality floors are not checked")
    data = load_labelled_set(VALIDATION_CSV, view="single")  # the subset bench/bench_themes.py measures too
    embeddings = cached_embeddings(data.texts, tmp_path_factory.getbasetemp().parent / "lnob-embeddings")
    return data.texts, data.labels, embeddings


@pytest.mark.slow  # a quality floor on the shared data, three seeds
@pytest.mark.shared_data
@pytest.mark.timeout(240)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quality_floors_on_the_disaster_response_subset(single_label_subset, seed):
    texts, reference, embeddings = single_label_subset
    labels = ThemeModel(random_state=seed).fit(embeddings, texts).labels_  # -1 counts as its own label
    nmi = normalized_mutual_info_score(reference, labels)
    ari = adjusted_rand_score(reference, labels)
    coverage = float(np.mean(labels != -1))
    assert nmi >= 0.55, f"NMI {nmi:.3f} below 0.55 for seed {seed}"
    assert ari >= 0.40, f"ARI {ari:.3f} below 0.40 for seed {seed}"
    assert coverage >= 0.90, f"coverage {coverage:.3f} below 0.90 for seed {seed}"


def topics_in_two_languages(seed: int = 0, per_cell: int = 20, n_topics: int = 6):
    """Topics, each written in two 'languages': a strong shared language direction on top of the topic."""
    rng = np.random.default_rng(seed)
    topics = unit(rng.normal(size=(n_topics, DIM)))
    languages = unit(rng.normal(size=(2, DIM)))
    rows, topic_of, language_of = [], [], []
    for t in range(n_topics):
        for lang in range(2):
            rows.append(topics[t] + 1.5 * languages[lang] + 0.35 * rng.normal(size=(per_cell, DIM)) / np.sqrt(DIM))
            topic_of += [t] * per_cell
            language_of += [["en", "ht"][lang]] * per_cell
    return unit(np.vstack(rows)).astype(np.float32), np.array(topic_of), np.array(language_of)


def test_themes_gather_topics_across_languages_when_languages_are_given():
    x, topic, language = topics_in_two_languages()
    blind = ThemeModel(random_state=0, min_cluster_size=10).fit(x).labels_
    aware = ThemeModel(random_state=0, min_cluster_size=10).fit(x, languages=list(language)).labels_
    assert normalized_mutual_info_score(language, blind) > 0.4  # blind: every topic split by language
    assert blind.max() + 1 == 12
    assert normalized_mutual_info_score(topic, aware) > 0.9
    assert normalized_mutual_info_score(language, aware) < 0.05


def test_languages_must_match_the_rows():
    x, _, language = topics_in_two_languages(per_cell=10)
    with pytest.raises(ValueError, match="languages"):
        ThemeModel().fit(x, languages=list(language[:-1]))


def test_balanced_neighbours_put_every_language_on_one_scale():
    """A row's own language is nearer as a whole (the centring leaves some of that); after the shift its
    neighbours from either language sit at the same mean distance, and each language gives its quota."""
    x, _, language = topics_in_two_languages()
    model = ThemeModel(random_state=0, centre_languages=False)
    model.balanced_languages_ = model._balanced_languages(np.array(language, dtype=object))
    model._row_languages = np.array(language, dtype=object)
    k = model.balanced_neighbors
    indices, distances = model._neighbours(x, None, k)
    assert (indices[:, 0] == np.arange(len(x))).all() and (distances[:, 0] == 0).all()
    own = language[indices[:, 1:]] == language[:, None]
    assert abs(own.mean() - 0.5) < 0.06  # half the neighbours from each language
    raw = 1.0 - np.einsum("ij,ikj->ik", x, x[indices[:, 1:]])
    assert raw[own].mean() < raw[~own].mean() - 0.2  # unshifted, the own language is much nearer
    shifted = distances[:, 1:]
    assert abs(shifted[own].mean() - shifted[~own].mean()) < 0.02


def test_min_samples_is_shared_among_the_balanced_languages():
    model = ThemeModel()
    model.balanced_languages_ = {}
    assert model._default_min_samples(6) == 6 and model._default_min_samples(40) == 15
    model.balanced_languages_ = {"en": 0.5, "ht": 0.4, "fr": 0.1}
    assert model._default_min_samples(6) == 2 and model._default_min_samples(40) == 5
    model.balanced_languages_ = {"en": 0.5, "ht": 0.5}
    assert model._default_min_samples(5) == 3 and model._default_min_samples(3) == 2


def test_a_multilingual_corpus_takes_its_own_minimum_theme_share():
    model = ThemeModel()
    model.balanced_languages_ = {}
    assert model._resolve_min_cluster_size(346) == 6 and model._resolve_min_cluster_size(154) == 5
    model.balanced_languages_ = {"en": 0.55, "es": 0.15, "fr": 0.15, "sw": 0.15}
    assert model._resolve_min_cluster_size(346) == 9 and model._resolve_min_cluster_size(154) == 5
