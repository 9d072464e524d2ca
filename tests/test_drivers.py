"""The driver codebook (validation) and the driver scorer on the real embedding model."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from analysis.drivers import (
    DEFAULT_CODEBOOK,
    DRIVER_KEYS,
    REQUIRED_LANGUAGES,
    Codebook,
    CodebookError,
    DriverScorer,
    agreement,
)

DEMO_CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "samples" / "demo_corpus.csv"

SUBDRIVERS = {
    "discrimination": {
        "disability", "gender", "ethnicity_or_caste", "age", "religion", "sexual_orientation", "migration_status",
    },
    "geography": {
        "remoteness", "infrastructure_and_transport", "services_far_away", "water_and_sanitation",
        "environmental_degradation",
    },
    "governance": {
        "corruption", "legal_identity", "voice_and_participation", "unjust_laws_and_policies", "policing_and_justice",
    },
    "socio_economic": {"income_and_poverty", "land_and_housing", "education", "health", "decent_work"},
    "shocks": {"conflict", "disaster", "climate", "epidemic", "economic_shock", "displacement"},
}  # fmt: skip


@pytest.fixture(scope="module")
def codebook() -> Codebook:
    return Codebook.load()


@pytest.fixture(scope="module")
def embedder():
    from analysis.embeddings import Embedder

    return Embedder()


@pytest.fixture(scope="module")
def scorer(codebook: Codebook, embedder) -> DriverScorer:
    return DriverScorer(codebook, embedder).fit()


@pytest.fixture(scope="module")
def demo_rows() -> list[dict[str, str]]:
    with DEMO_CORPUS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_broken(tmp_path: Path, change) -> Path:
    """A copy of the bundled codebook with ``change(data)`` applied."""
    data = yaml.safe_load(DEFAULT_CODEBOOK.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "drivers.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# --- the codebook -------------------------------------------------------------------------------


def test_codebook_has_the_five_drivers_in_order_with_a_version(codebook: Codebook):
    assert codebook.keys == DRIVER_KEYS
    assert codebook.version
    assert codebook.get("shocks").key == "shocks"
    with pytest.raises(KeyError, match="no driver 'poverty'"):
        codebook.get("poverty")


def test_every_driver_has_names_plain_words_and_its_subdrivers(codebook: Codebook):
    for driver in codebook.drivers:
        assert driver.description
        assert {sub.key for sub in driver.subdrivers} == SUBDRIVERS[driver.key]
        for lang in REQUIRED_LANGUAGES:
            assert driver.names[lang] and driver.plain[lang]
    assert codebook.get("discrimination").plain["en"] == "Being treated unfairly for who I am"
    assert codebook.get("governance").name("fr") == "Gouvernance"


def test_name_falls_back_to_english(codebook: Codebook):
    assert codebook.get("geography").name("pt") == "Geography"
    assert codebook.get("geography").plain_text("ne") == codebook.get("geography").plain["en"]


def test_every_subdriver_has_phrases_in_every_required_language(codebook: Codebook):
    for driver in codebook.drivers:
        for sub in driver.subdrivers:
            assert sub.description, sub.key
            assert len(sub.phrases["en"]) >= 3, sub.key
            for lang in ("fr", "es", "sw"):
                assert 1 <= len(sub.phrases[lang]), (sub.key, lang)


def test_no_demo_corpus_text_is_copied_into_the_codebook(codebook: Codebook, demo_rows):
    texts = [row["text"].lower() for row in demo_rows]
    phrases = [
        phrase.lower().rstrip(".")
        for driver in codebook.drivers
        for sub in driver.subdrivers
        for per_language in sub.phrases.values()
        for phrase in per_language
    ]
    assert not [p for p in phrases if any(p in text for text in texts)]


def test_invalid_yaml_is_a_codebook_error_naming_the_file(tmp_path: Path):
    path = tmp_path / "drivers.yaml"
    path.write_text("version: 1\ndrivers:\n  geography: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="not valid YAML") as error:
        Codebook.load(path)
    assert str(path) in str(error.value)


def test_missing_file_is_a_codebook_error(tmp_path: Path):
    with pytest.raises(CodebookError, match="cannot read"):
        Codebook.load(tmp_path / "nope.yaml")


def test_missing_language_of_a_subdriver_names_its_path(tmp_path: Path):
    def drop_swahili(data):
        del data["drivers"]["geography"]["subdrivers"]["remoteness"]["phrases"]["sw"]

    with pytest.raises(CodebookError, match=r"drivers\.geography\.subdrivers\.remoteness\.phrases\.sw is missing"):
        Codebook.load(write_broken(tmp_path, drop_swahili))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["drivers"].pop("shocks"), r"drivers\.shocks is missing"),
        (
            lambda d: d["drivers"].update(poverty=d["drivers"]["socio_economic"]),
            r"drivers\.poverty is not a known driver",
        ),
        (lambda d: d.pop("version"), r"'version' is missing"),
        (lambda d: d["drivers"]["governance"].update(subdrivers={}), r"drivers\.governance\.subdrivers must be"),
        (lambda d: d["drivers"]["governance"]["name"].pop("es"), r"drivers\.governance\.name\.es is missing"),
        (
            lambda d: d["drivers"]["shocks"]["subdrivers"]["climate"]["phrases"].update(en=[]),
            r"drivers\.shocks\.subdrivers\.climate\.phrases\.en must be a non-empty list",
        ),
        (
            lambda d: d["drivers"]["shocks"]["subdrivers"]["climate"].pop("description"),
            r"drivers\.shocks\.subdrivers\.climate\.description must be a non-empty text",
        ),
    ],
)
def test_structural_errors_name_the_key(tmp_path: Path, change, message):
    with pytest.raises(CodebookError, match=message):
        Codebook.load(write_broken(tmp_path, change))


# --- the scorer (real model) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "driver", "subdriver"),
    [
        ("the nearest clinic is a day's walk over the mountains", "geography", None),
        ("the officer asked for a bribe before issuing my ID card", "governance", None),
        ("they refused to hire me because I use a wheelchair", "discrimination", "disability"),
        ("the cyclone destroyed our house and we live in a camp", "shocks", None),
        ("we cannot afford school fees and eat once a day", "socio_economic", None),
    ],
)
def test_clear_english_examples_map_to_their_driver(scorer: DriverScorer, embedder, text, driver, subdriver):
    assignment = scorer.predict(embedder.encode([text]))[0]
    assert assignment.primary == driver, assignment
    assert assignment.subdriver in SUBDRIVERS[driver]
    if subdriver:
        assert assignment.subdriver == subdriver


def test_scores_are_shares_in_codebook_order(scorer: DriverScorer, embedder):
    scores = scorer.score(embedder.encode(["the river is poisoned by the mine", "armed men burned our village"]))
    assert scores.shape == (2, 5)
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    assert scores[0].argmax() == DRIVER_KEYS.index("geography")
    assert scores[1].argmax() == DRIVER_KEYS.index("shocks")
    assert scorer.score(np.zeros((0, scorer.prototypes_.shape[1]), dtype=np.float32)).shape == (0, 5)


@pytest.mark.slow  # the whole codebook through the embedding model a second time
def test_fit_embeds_each_phrase_once(codebook: Codebook, embedder):
    n_phrases = sum(len(ps) for d in codebook.drivers for s in d.subdrivers for ps in s.phrases.values())
    before = embedder.encoded_count
    scorer = DriverScorer(codebook, embedder).fit()
    assert embedder.encoded_count - before == n_phrases
    assert scorer.prototypes_.shape[0] == n_phrases
    assert len(scorer.subdriver_keys_) == sum(len(v) for v in SUBDRIVERS.values())


def test_close_drivers_intersect_and_far_ones_do_not(scorer: DriverScorer):
    keys = list(DRIVER_KEYS)
    close, clear = scorer.assign(np.array([[0.05, 0.45, 0.05, 0.05, 0.40], [0.02, 0.90, 0.03, 0.03, 0.02]]))
    assert (close.primary, close.intersecting) == ("geography", ("shocks",))
    assert (clear.primary, clear.intersecting) == ("geography", ())
    assert close.subdriver is None and close.scores == dict(zip(keys, [0.05, 0.45, 0.05, 0.05, 0.40]))


def test_a_flat_score_does_not_intersect_with_everything(scorer: DriverScorer):
    (flat,) = scorer.assign(np.full((1, 5), 0.2))
    assert flat.intersecting == ()


def test_a_testimony_about_two_drivers_intersects(scorer: DriverScorer, embedder):
    text = "Since the war we live in a camp and the nearest school is hours away on foot."
    assignment = scorer.predict(embedder.encode([text]))[0]
    assert {assignment.primary, *assignment.intersecting} >= {"shocks", "geography"}


def test_theme_mixing_two_drivers_has_both(scorer: DriverScorer, embedder):
    members = embedder.encode(
        [
            "There is no bus and the market is a four hour walk from our village.",
            "The health post is so far that my mother gave birth on the road.",
            "The floods took our house and we sleep in the school building.",
            "The drought killed our goats and the wells are dry.",
        ]
    )
    theme = scorer.score_theme(scorer.score(members))
    assert {theme.primary, *theme.intersecting} == {"geography", "shocks"}
    assert theme.subdriver in SUBDRIVERS[theme.primary]
    assert theme.as_dict()["intersecting"] == list(theme.intersecting)
    with pytest.raises(ValueError):
        scorer.score_theme(np.zeros((0, 5)))


def test_scores_carry_subdrivers_through_row_selection(scorer: DriverScorer, embedder):
    vectors = embedder.encode(["I have no birth certificate", "the mine poisoned our river", "my son is deaf and nobody at the office knows sign language"])
    scores = scorer.score(vectors)
    assert [a.subdriver for a in scorer.assign(scores)] == ["legal_identity", "environmental_degradation", "disability"]
    mask = np.array([True, False, True])
    assert [a.subdriver for a in scorer.assign(scores[mask])] == ["legal_identity", "disability"]
    assert scorer.assign(scores[1:])[0].subdriver == "environmental_degradation"
    assert scorer.score_theme(scores[[1]]).subdriver == "environmental_degradation"
    assert scorer.assign(np.asarray(scores))[0].subdriver is None  # plain arrays carry none
    explicit = scorer.assign(np.asarray(scores), scorer.score_subdrivers(vectors))
    assert [a.subdriver for a in explicit] == [a.subdriver for a in scorer.assign(scores)]
    assert scores[:, 0].subdriver_scores is None and scores.mean(axis=0).subdriver_scores is None


def test_agreement_counts_rows_with_a_self_signified_driver():
    result = agreement(
        [["geography", "shocks"], [], ["governance"], "discrimination", ["socio_economic"]],
        ["shocks", "geography", "discrimination", "discrimination", "socio_economic"],
    )
    assert result == {"n": 4, "agree": 3, "rate": 0.75}
    assert agreement([[], []], ["shocks", "geography"]) == {"n": 0, "agree": 0, "rate": None}
    with pytest.raises(ValueError):
        agreement([["shocks"]], [])


@pytest.mark.slow  # the embedding model over the whole demo corpus
def test_accuracy_on_the_demo_corpus(scorer: DriverScorer, embedder, demo_rows):
    """Measured with the multilingual default 0.73 on all (chance 0.20): en 0.72, es 0.81, fr 0.79, sw 0.63.

    With the English-only model it was 0.79 on English and 0.66 on all (fr 0.52, sw 0.40): the floors
    below are per language, so that no language is left behind again.
    """
    assignments = scorer.predict(embedder.encode([row["text"] for row in demo_rows]))
    correct = np.array([a.primary == row["driver"] for a, row in zip(assignments, demo_rows)])
    english = np.array([row["language"] == "en" for row in demo_rows])
    assert english.sum() >= 100
    assert correct[english].mean() >= 0.70
    assert correct.mean() >= 0.70
    for language in ("es", "fr", "sw"):
        assert correct[np.array([row["language"] == language for row in demo_rows])].mean() >= 0.55, language


def test_agreement_is_reported_per_language():
    from analysis.drivers import agreement_by_language

    result = agreement_by_language(
        [["geography"], ["governance"], [], ["shocks"], ["shocks"]],
        ["geography", "geography", "shocks", "shocks", "governance"],
        ["en", "en", "sw", "sw", None],
    )
    assert result == {
        "en": {"n": 2, "agree": 1, "rate": 0.5},
        "sw": {"n": 1, "agree": 1, "rate": 1.0},
        "?": {"n": 1, "agree": 0, "rate": 0.0},
    }
